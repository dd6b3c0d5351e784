import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import * as cmd from "@pulumi/pulumi/automation/cmd";

/** A stack name as the service accepts it (Pulumi allows these); the one copy of the pattern. */
export const STACK_NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9_.-]{0,99}";
const STACK_FILE = new RegExp(`^Pulumi\\.(${STACK_NAME_PATTERN})\\.ya?ml$`);

/**
 * The allow-list of stacks: those with a Pulumi.<stack>.yaml in the project. A request can
 * only name one of these, so nothing a client sends reaches the CLI's command line raw.
 */
export function listStacks(projectDir: string): string[] {
    let entries: string[];
    try {
        entries = fs.readdirSync(projectDir);
    } catch {
        return [];
    }
    return entries
        .map((f) => STACK_FILE.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

export function isProjectDir(dir: string): boolean {
    return fs.existsSync(path.join(dir, "Pulumi.yaml")) || fs.existsSync(path.join(dir, "Pulumi.yml"));
}

const run = promisify(execFile);

/** `pulumi version` of the CLI in `bin` (e.g. "3.259.0"), or undefined when it does not run. */
export function cliVersion(bin: string): Promise<string | undefined> {
    // Callers at the same moment (the warm workers, /readyz at start) share one probe.
    let probe = probing.get(bin);
    if (!probe) {
        probe = probeVersion(bin).finally(() => probing.delete(bin));
        probing.set(bin, probe);
    }
    return probe;
}

async function probeVersion(bin: string): Promise<string | undefined> {
    const stamp = binaryStamp(bin);
    try {
        const { stdout } = await run(path.join(bin, "pulumi"), ["version"], { timeout: 10_000, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
        // Only an answer that is a version alone, as the Automation API parses it for every job:
        // anything else is not a CLI this service knows, and would fail each job.
        const answer = stdout.trim().replace(/^v/, "");
        const version = semverOf(answer) ? answer : undefined;
        if (version && stamp) probed.set(bin, { stamp, version, at: performance.now() });
        return version;
    } catch {
        return undefined;
    }
}

// `pulumi version` costs the CLI's whole start (0.4 s of CPU here), and every job's worker would
// otherwise ask it again: the answer is kept while the binary is the one that gave it, and for
// at most VERSION_TTL_MS, for a `pulumi` that is a wrapper choosing the CLI from elsewhere.
const VERSION_TTL_MS = 5 * 60_000;
const probed = new Map<string, { stamp: string; version: string; at: number }>();
const probing = new Map<string, Promise<string | undefined>>();

function binaryStamp(bin: string): string | undefined {
    try {
        const s = fs.statSync(path.join(bin, "pulumi"));
        return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
        return undefined;
    }
}

/**
 * The version `cliVersion` last found for `bin`, if that binary has not changed since and the
 * answer is fresh; otherwise undefined, and the CLI is asked again in the background.
 */
export function knownCliVersion(bin: string): string | undefined {
    const p = probed.get(bin);
    if (p && p.stamp === binaryStamp(bin) && performance.now() - p.at < VERSION_TTL_MS) return p.version;
    void cliVersion(bin);
    return undefined;
}

/** The Automation API's own parse of a CLI version (semver; null when it is none). */
function semverOf(version: string): { compare(other: unknown): number } | null {
    return parseAndValidatePulumiVersion(undefined, version, true);
}
/**
 * The Automation API's check of a CLI version against the SDK's minimum, internal to it (not in
 * its types); with opt-out set it only parses.
 */
export const { parseAndValidatePulumiVersion } = cmd as unknown as { parseAndValidatePulumiVersion: (min: unknown, current: string, optOut: boolean) => { compare(other: unknown): number } | null };

/** True when `have` ≥ `want` by semver's order (a pre-release comes before its release). */
export function versionAtLeast(have: string, want: string): boolean {
    const a = semverOf(have);
    const b = semverOf(want);
    return !!a && !!b && a.compare(b) >= 0;
}
