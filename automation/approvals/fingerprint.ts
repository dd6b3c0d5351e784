import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { canonicalJson } from "../lib/canonicalJson";

/**
 * What a preview saw. An approval of the preview holds only while all three are unchanged:
 * the stack's state (history version and a hash of the exported deployment), the program
 * (content hash of the program files and lockfile; the git commit is kept for the message),
 * and the stack config file.
 */
export interface Fingerprint {
    state: { version: number; hash: string };
    program: { hash: string; commit?: string };
    config: { hash: string };
}

export interface FingerprintChange {
    part: "state" | "program" | "config";
    message: string;
}

/** Every way `now` differs from what was approved, worded for the 409 answer. */
export function compareFingerprint(approved: Fingerprint, now: Fingerprint): FingerprintChange[] {
    const out: FingerprintChange[] = [];
    if (approved.state.version !== now.state.version) {
        out.push({ part: "state", message: `the stack was changed by update #${now.state.version} (the preview saw #${approved.state.version})` });
    } else if (approved.state.hash !== now.state.hash) {
        out.push({ part: "state", message: "the stack's state changed without a new update (import, edit or refresh)" });
    }
    if (approved.program.hash !== now.program.hash) {
        const commits = approved.program.commit && now.program.commit && approved.program.commit !== now.program.commit ? ` (commit ${approved.program.commit.slice(0, 12)} → ${now.program.commit.slice(0, 12)})` : "";
        out.push({ part: "program", message: `the program files or lockfile changed${commits}` });
    }
    if (approved.config.hash !== now.config.hash) out.push({ part: "config", message: "the stack config file changed" });
    return out;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/**
 * Hash of an exported deployment's resources and pending operations, independent of key
 * order. The manifest (time, CLI version) is left out: creating an empty stack or upgrading
 * the CLI changes no resource and must not void an approval.
 */
export function stateHash(deployment: unknown): string {
    const d = (deployment ?? {}) as { resources?: unknown[]; pending_operations?: unknown[] };
    return sha256(canonicalJson({ resources: d.resources ?? [], pending_operations: d.pending_operations ?? [] }));
}

const SKIP_DIRS = new Set(["node_modules", "__pycache__"]);
const MAX_FILES = 50_000;

/** The top of the git work tree that holds `dir` (and does not ignore it), or undefined. */
function gitTop(dir: string): string | undefined {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: ["ignore", "pipe", "ignore"], timeout: 5000 }).toString().trim();
    let top: string;
    try {
        top = git("rev-parse", "--show-toplevel");
    } catch {
        return undefined;
    }
    try {
        git("check-ignore", "-q", dir);
        return undefined; // a project the enclosing repository ignores is not its to describe
    } catch {
        return top || undefined;
    }
}

/** Stack config files are fingerprinted on their own (config part), without the salt the CLI adds. */
const isStackFile = (file: string, projectDir: string) => path.dirname(file) === projectDir && /^Pulumi\..+\.ya?ml$/.test(path.basename(file));

/**
 * Every file the program can read: a program may `require` or read any file of its repository
 * (this one reads `buildspecs/` and `images/` beside `infra/`), so in a git work tree it is
 * every file git tracks or would track (`ls-files --cached --others --exclude-standard`: the
 * committed tree plus uncommitted and untracked changes, without ignored files such as
 * `node_modules` or the service's data dir); outside one, every file under the project
 * except dot-directories and `node_modules`. The lockfile stands for the installed packages.
 * Stack config files are left to the config part.
 */
export function programFiles(projectDir: string): string[] {
    const dir = path.resolve(projectDir);
    if (!["Pulumi.yaml", "Pulumi.yml"].some((f) => fs.existsSync(path.join(dir, f)))) throw new Error(`no Pulumi.yaml in ${dir}`);
    const top = gitTop(dir);
    const files: string[] = [];
    const add = (file: string) => {
        if (isStackFile(file, dir)) return;
        files.push(file);
        if (files.length > MAX_FILES) throw new Error(`more than ${MAX_FILES} files in ${top ?? dir}; an approval cannot pin that many`);
    };
    if (top) {
        const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: top, maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }).toString("utf8");
        // a tracked file deleted in the work tree counts by its absence (it is not hashed)
        for (const rel of new Set(listed.split("\0").filter(Boolean))) {
            const full = path.join(top, rel);
            if (fs.existsSync(full) && fs.lstatSync(full).isFile()) add(full);
        }
    } else {
        const walk = (d: string) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                if (e.name.startsWith(".")) continue;
                const full = path.join(d, e.name);
                if (e.isDirectory()) {
                    if (!SKIP_DIRS.has(e.name)) walk(full);
                } else if (e.isFile()) add(full);
            }
        };
        walk(dir);
    }
    return files.sort();
}

/** Content hash over program file paths (relative) and bytes. */
export function programHash(projectDir: string): string {
    const h = createHash("sha256");
    for (const f of programFiles(projectDir)) {
        h.update(path.relative(projectDir, f)).update("\0").update(sha256(fs.readFileSync(f))).update("\n");
    }
    return h.digest("hex");
}

export function gitCommit(projectDir: string): string | undefined {
    try {
        return execFileSync("git", ["rev-parse", "HEAD"], { cwd: projectDir, stdio: ["ignore", "pipe", "ignore"], timeout: 5000 }).toString().trim() || undefined;
    } catch {
        return undefined;
    }
}

/**
 * Hash of the stack's config file as data, without `encryptionsalt`: the CLI adds the salt
 * when the first preview creates the stack, which changes no setting. Comments and layout do
 * not count either; a changed value, key, secure value or secrets provider does.
 */
export function configHash(projectDir: string, stack: string): string {
    for (const ext of ["yaml", "yml"]) {
        const f = path.join(projectDir, `Pulumi.${stack}.${ext}`);
        if (!fs.existsSync(f)) continue;
        const { encryptionsalt: _salt, ...settings } = (parseYaml(fs.readFileSync(f, "utf8")) ?? {}) as Record<string, unknown>;
        return sha256(canonicalJson(settings));
    }
    return sha256(canonicalJson({}));
}

/** What the engine module reports about a stack's state. */
export interface StateSnapshot {
    /** Version of the last update in the stack's history; 0 for a stack never updated. */
    version: number;
    /** The exported deployment (`pulumi stack export`). */
    deployment: unknown;
}

export async function computeFingerprint(projectDir: string, stack: string, readState: (stack: string) => Promise<StateSnapshot>): Promise<Fingerprint> {
    const state = await readState(stack);
    const commit = gitCommit(projectDir);
    return {
        state: { version: state.version, hash: stateHash(state.deployment) },
        program: { hash: programHash(projectDir), ...(commit ? { commit } : {}) },
        config: { hash: configHash(projectDir, stack) },
    };
}
