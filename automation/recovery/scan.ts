import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { processAlive } from "../lib/processes";

/** A lock file of the file backend, as `pulumi` writes it. */
export interface LockInfo {
    file: string;
    pid: number;
    username: string;
    hostname: string;
    timestamp: string;
}

export type LockVerdict = "stale" | "live" | "foreign" | "unreadable";

export interface PendingOperation {
    type: string;
    urn: string;
}

export type Finding =
    | { kind: "stale-lock"; lock: LockInfo; cleared: boolean }
    | { kind: "live-lock"; lock: LockInfo }
    | { kind: "foreign-lock"; lock: LockInfo }
    | { kind: "unreadable-lock"; file: string }
    | { kind: "pending-operations"; operations: PendingOperation[] };

export interface ProcessProbe {
    hostname: string;
    /** True when a process with this pid exists (EPERM counts as alive). */
    alive(pid: number): boolean;
    /** The process's command line where the OS tells (Linux /proc), to spot a reused pid. */
    commandLine?(pid: number): string | undefined;
    /** When the process started, where the OS tells: a process younger than a lock did not write it. */
    startedAt?(pid: number): Date | undefined;
}

/** Clock ticks per second of /proc/<pid>/stat's start time (USER_HZ: 100 on every Linux this runs on). */
const CLOCK_TICKS = 100;
/** Boot time in ms since the epoch (Linux /proc/stat `btime`), read once. */
let bootMs: number | undefined;

export const localProbe: ProcessProbe = {
    hostname: os.hostname(),
    alive: processAlive,
    startedAt(pid) {
        try {
            bootMs ??= Number(/^btime (\d+)$/m.exec(fs.readFileSync("/proc/stat", "utf8"))![1]) * 1000;
            // Fields after the command name, which may itself hold spaces and parentheses.
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            const ticks = Number(fields[19]); // field 22, starttime
            return Number.isFinite(ticks) && Number.isFinite(bootMs) ? new Date(bootMs + (ticks * 1000) / CLOCK_TICKS) : undefined;
        } catch {
            return undefined;
        }
    },
    commandLine(pid) {
        try {
            // Empty while the process is between exec images: that proves nothing, so it reads
            // as "unknown", never as "not pulumi". (A zombie's is empty too; `alive` says no to it.)
            const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
            return cmd === "" ? undefined : cmd;
        } catch {
            return undefined;
        }
    },
};

/**
 * A lock is stale only when it is provably abandoned: written on this host by a pid that no
 * longer runs, or that was reused since (it now runs something other than pulumi, or its
 * process started after the lock was written). A lock from
 * another host can never be proven stale from here and is only reported.
 */
export function judgeLock(lock: LockInfo, probe: ProcessProbe): LockVerdict {
    if (lock.hostname !== probe.hostname) return "foreign";
    if (!probe.alive(lock.pid)) return "stale";
    // pids are reused (32,768 of them here, and every job starts dozens of processes): a process
    // that started after the lock was written is not the one that wrote it. A second of slack
    // covers the boot-time and clock-tick rounding; the holder always starts before its lock.
    const started = probe.startedAt?.(lock.pid);
    const written = Date.parse(lock.timestamp);
    if (started && Number.isFinite(written) && started.getTime() > written + 1000) return "stale";
    const cmd = probe.commandLine?.(lock.pid);
    if (cmd !== undefined && !/pulumi/.test(cmd)) return "stale";
    return "live";
}

/** Where the file backend keeps a stack's locks and checkpoint (project-scoped layout). */
export function backendPaths(backendDir: string, project: string, stack: string): { locks: string; checkpoint: string } {
    return {
        locks: path.join(backendDir, ".pulumi", "locks", "organization", project, stack),
        checkpoint: path.join(backendDir, ".pulumi", "stacks", project, `${stack}.json`),
    };
}

export function readLocks(dir: string): (LockInfo | { file: string; unreadable: true })[] {
    if (!fs.existsSync(dir)) return [];
    return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .map((f) => {
            const file = path.join(dir, f);
            try {
                const raw = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<LockInfo>;
                if (typeof raw.pid !== "number" || typeof raw.hostname !== "string") return { file, unreadable: true as const };
                return { file, pid: raw.pid, username: String(raw.username ?? ""), hostname: raw.hostname, timestamp: String(raw.timestamp ?? "") };
            } catch {
                return { file, unreadable: true as const };
            }
        });
}

/** Pending operations in a checkpoint file (plain or gzipped, as the backend may write it). */
export function readPendingOperations(checkpointFile: string): PendingOperation[] {
    const candidates = [checkpointFile, `${checkpointFile}.gz`];
    const file = candidates.find((f) => fs.existsSync(f));
    if (!file) return [];
    let buf = fs.readFileSync(file);
    if (file.endsWith(".gz")) buf = zlib.gunzipSync(buf);
    const doc = JSON.parse(buf.toString("utf8")) as { checkpoint?: { latest?: { pending_operations?: { type?: string; resource?: { urn?: string } }[] } } };
    return (doc.checkpoint?.latest?.pending_operations ?? []).map((p) => ({ type: String(p.type ?? "unknown"), urn: String(p.resource?.urn ?? "") }));
}

/**
 * Inspects one stack of a file backend. With `clearStale`, proven-stale locks are deleted
 * (the only thing ever removed here); pending operations are only reported: clearing them is
 * the audited repair action.
 */
export function scanStack(backendDir: string, project: string, stack: string, opts: { probe?: ProcessProbe; clearStale?: boolean } = {}): Finding[] {
    const probe = opts.probe ?? localProbe;
    const { locks, checkpoint } = backendPaths(backendDir, project, stack);
    const findings: Finding[] = [];
    for (const l of readLocks(locks)) {
        if ("unreadable" in l) {
            findings.push({ kind: "unreadable-lock", file: l.file });
            continue;
        }
        const verdict = judgeLock(l, probe);
        if (verdict === "stale") {
            let cleared = false;
            if (opts.clearStale) {
                fs.rmSync(l.file, { force: true });
                cleared = true;
            }
            findings.push({ kind: "stale-lock", lock: l, cleared });
        } else if (verdict === "live") findings.push({ kind: "live-lock", lock: l });
        else findings.push({ kind: "foreign-lock", lock: l });
    }
    const pending = readPendingOperations(checkpoint);
    if (pending.length) findings.push({ kind: "pending-operations", operations: pending });
    return findings;
}

/** True when the findings leave the stack needing an operator: pending operations or a lock nobody may clear. */
export function needsRepair(findings: readonly Finding[]): boolean {
    return findings.some((f) => f.kind === "pending-operations" || f.kind === "unreadable-lock" || (f.kind === "stale-lock" && !f.cleared));
}
