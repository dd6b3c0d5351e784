import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { canonicalJson } from "../audit/log";

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

const LOCKFILES = ["package-lock.json", "yarn.lock", "pnpm-lock.yaml", "npm-shrinkwrap.json"];
const SKIP_DIRS = new Set(["node_modules", "dist", "bin", "obj", "__pycache__"]);
const MAX_FILES = 20_000;

/** The files that make up the program: Pulumi.yaml, the `main` directory, package manifests. */
export function programFiles(projectDir: string): string[] {
    const projectFile = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(projectDir, f)).find((f) => fs.existsSync(f));
    if (!projectFile) throw new Error(`no Pulumi.yaml in ${projectDir}`);
    const project = (parseYaml(fs.readFileSync(projectFile, "utf8")) ?? {}) as { main?: string };
    const mainDir = path.resolve(projectDir, project.main ?? ".");
    const files = new Set<string>([projectFile]);
    for (const f of [...LOCKFILES, "package.json", "tsconfig.json"]) if (fs.existsSync(path.join(projectDir, f))) files.add(path.join(projectDir, f));
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            // dot-directories hold state, caches and VCS data, never program code
            if (e.name.startsWith(".")) continue;
            const full = path.join(dir, e.name);
            if (e.isDirectory()) {
                if (!SKIP_DIRS.has(e.name)) walk(full);
            } else if (e.isFile() && !/^Pulumi\..+\.ya?ml$/.test(e.name)) {
                // stack config files are fingerprinted on their own
                files.add(full);
                if (files.size > MAX_FILES) throw new Error(`more than ${MAX_FILES} program files under ${mainDir}; set main in Pulumi.yaml to the program's directory`);
            }
        }
    };
    if (fs.statSync(mainDir).isDirectory()) walk(mainDir);
    else files.add(mainDir);
    return [...files].sort();
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
