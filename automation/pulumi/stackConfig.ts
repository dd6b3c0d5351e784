// Where a job's stack configuration lives while the CLI runs. The CLI writes its secrets
// provider's state (`encryptionsalt`, `secretsprovider`, `encryptedkey`) into the stack's config
// file when it creates or first opens a stack. Left alone, it would write into the project's
// tracked `Pulumi.<stack>.yaml`, so using the service dirtied the checkout, and a later data dir
// (a new passphrase) found a salt it could not open. Instead every job runs with a copy in the
// data dir (`--config-file`): the tracked file's config, plus the provider state the CLI wrote
// there on earlier runs, which the copy keeps. A salt committed to the tracked file wins.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument, stringify } from "yaml";
import { readConfined, writeNoFollow } from "../sources/confined";
import { makeDirs } from "../lib/dirs";

/** The keys the CLI writes for a stack's secrets provider. */
export const PROVIDER_KEYS = ["secretsprovider", "encryptedkey", "encryptionsalt"] as const;

/** The tracked config (text) with the provider state of `kept` (text) where the tracked one has none. */
export function mergeStackConfig(tracked: string, kept: string | undefined): string {
    const doc = (tracked.trim() ? parseDocument(tracked).toJS() : {}) as Record<string, unknown> | null;
    const merged: Record<string, unknown> = { ...(doc ?? {}) };
    const previous = (kept?.trim() ? parseDocument(kept).toJS() : {}) as Record<string, unknown> | null;
    for (const key of PROVIDER_KEYS) {
        if (merged[key] === undefined && previous?.[key] !== undefined) merged[key] = previous[key];
    }
    return Object.keys(merged).length === 0 ? "" : stringify(merged);
}

export interface StackConfigOptions {
    /** The Pulumi project (its Pulumi.yaml and tracked stack files). */
    projectDir: string;
    stack: string;
    /** Where the job's copy goes: a directory the job's CLI may write (it gets a copy of Pulumi.yaml too). */
    dir: string;
    /** The copy earlier jobs of this stack left, whose provider state is kept. @default the copy in `dir` */
    keptFile?: string;
    /**
     * A pull request's worktree, when `projectDir` lies in one: its files are then read only
     * inside it, never through a symlink (sources/confined.ts), since the PR chose every name.
     */
    checkoutRoot?: string;
}

/** Writes the job's stack config copy (and Pulumi.yaml beside it) into `dir`; returns the copy's path. */
export function prepareStackConfig(o: StackConfigOptions): string {
    makeDirs(o.dir, 0o700);
    const root = o.checkoutRoot;
    // Undefined when absent; in a checkout, a symlink, a non-file or a path out of it throws.
    const read = (f: string) => (root ? readConfined(root, path.relative(root, f)) : fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined);
    const project = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(o.projectDir, f)).map((f) => read(f)).find((text) => text !== undefined);
    if (project === undefined) throw new Error(`no Pulumi.yaml in ${o.projectDir}`);
    const settings = (parseDocument(project).toJS() ?? {}) as Record<string, unknown>;
    const trackedDir = typeof settings.stackConfigDir === "string" ? path.resolve(o.projectDir, settings.stackConfigDir) : o.projectDir;
    // The copy of Pulumi.yaml lets stack and config commands run in `dir` (they need the project's
    // name and project-level config, never its program), reading the stack file beside it.
    delete settings.stackConfigDir;
    writeNoFollow(path.join(o.dir, "Pulumi.yaml"), stringify(settings));
    const file = path.join(o.dir, `Pulumi.${o.stack}.yaml`);
    const tracked = read(path.join(trackedDir, `Pulumi.${o.stack}.yaml`)) ?? "";
    const kept = o.keptFile ?? file;
    writeNoFollow(file, mergeStackConfig(tracked, fs.existsSync(kept) ? fs.readFileSync(kept, "utf8") : undefined));
    return file;
}
