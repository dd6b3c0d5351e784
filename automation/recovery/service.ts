import * as fs from "node:fs";
import type { Fence, Fences } from "../jobs/fences";
import * as path from "node:path";
import type { AuditActor, AuditTrail } from "../audit/trail";
import { AppError } from "../errors";
import type { RepairStatus, RepairView } from "../jobs/service";
import type { FindingsStore } from "./findings";
import { EngineContext, exportStackState, importStackState, refreshClearingPendingCreates, removeStackLocks } from "../pulumi/state";
import { scanPostgresLocks } from "./postgresBackend";
import { StateBackendError, describeS3Backend, parseS3BackendUrl, scanS3Locks } from "./s3Backend";
import { Finding, LockInfo, PendingOperation, ProcessProbe, localProbe, needsRepair, scanStack } from "./scan";
import { makeDirs } from "../lib/dirs";

export interface RecoveryDeps {
    /** `file:///dir` backends get lock and checkpoint inspection; `postgres://` and `s3://` their locks read where the CLI keeps them and pending operations via export; others pending operations only. */
    backendUrl: string;
    project: string;
    stacks: () => string[];
    store: FindingsStore;
    audit: AuditTrail;
    engine: EngineContext;
    /** Backups of exported state go to `<dataDir>/backups`. */
    dataDir: string;
    probe?: ProcessProbe;
    now?: () => Date;
    /** A scan found the stack needing repair where the previous one did not (notifications follow it). */
    onNeedsRepair?: (stack: string, findings: readonly Finding[]) => void;
    /** With several instances: stacks whose interrupted job's process may still be alive. */
    fences?: Pick<Fences, "holding" | "releaseStack">;
}

export interface StackHealth {
    stack: string;
    state: "ok" | "needs-repair";
    findings: Finding[];
    checkedAt?: string;
}

export interface RepairResult {
    stack: string;
    method: "strip" | "refresh";
    backup: string;
    clearedLocks: string[];
    droppedOperations: PendingOperation[];
    after: StackHealth;
}

export interface UnlockResult {
    stack: string;
    /** The locks found just before they were removed (file://, postgres:// and s3:// backends; others cannot be listed). */
    removedLocks: LockInfo[];
    after: StackHealth;
}

const SYSTEM: AuditActor = { name: "recovery", via: "system" };

/**
 * Crash recovery as a feature: finds what a killed `pulumi` left behind (locks, pending
 * operations), clears only locks proven stale, marks the rest `needs-repair`, and repairs on
 * request after backing up the state.
 */
export class RecoveryService implements RepairView {
    private readonly probe: ProcessProbe;
    private readonly now: () => Date;
    /** Scans under way per stack, so a job about to start can wait for the verdict. */
    private readonly scanning = new Map<string, Promise<unknown>>();

    constructor(private readonly deps: RecoveryDeps) {
        this.probe = deps.probe ?? localProbe;
        this.now = deps.now ?? (() => new Date());
    }

    private get backendDir(): string | undefined {
        return this.deps.backendUrl.startsWith("file://") ? this.deps.backendUrl.slice("file://".length) : undefined;
    }

    /**
     * The stack's locks on a backend the service can read (file://, postgres://, s3://), judged
     * and, with `clearStale`, the proven-stale ones removed; [] on backends it cannot list.
     */
    private async locksOf(stack: string, clearStale: boolean): Promise<Finding[]> {
        const url = this.deps.backendUrl;
        const opts = { probe: this.probe, clearStale };
        if (this.backendDir) return scanStack(this.backendDir, this.deps.project, stack, opts).filter((f) => f.kind !== "pending-operations");
        if (url.startsWith("postgres://")) return this.remote(stack, "Reading the locks", () => scanPostgresLocks(url, this.deps.project, stack, opts));
        if (url.startsWith("s3://")) return this.remote(stack, "Reading the locks", () => scanS3Locks(url, this.deps.project, stack, opts));
        return [];
    }

    /**
     * Runs a read of a remote backend; when the backend cannot be reached the answer is 503
     * naming it and what failed, and nothing is decided: a scan that could not read the locks
     * must not record the stack as free of them.
     */
    private async remote<T>(stack: string, what: string, read: () => Promise<T>): Promise<T> {
        try {
            return await read();
        } catch (e) {
            if (e instanceof AppError) throw e;
            // Only the failure's code: a CLI's or driver's message is not for responses (the CLI's may quote state).
            const err = e as { code?: unknown; name?: unknown };
            const detail = e instanceof StateBackendError ? e.message : `${what} of "${stack}" on the state backend ${this.backendName} failed (${String(err.code ?? err.name ?? "error")})`;
            throw new AppError("BACKEND_UNAVAILABLE", 503, `${detail}. Nothing was decided or changed; retry once the backend answers.`, { stack, backend: this.backendName });
        }
    }

    /** The backend as messages name it: scheme, host and path, never credentials or query. */
    private get backendName(): string {
        const url = this.deps.backendUrl;
        if (url.startsWith("s3://")) {
            try {
                return describeS3Backend(parseS3BackendUrl(url));
            } catch {
                /* named below */
            }
        }
        try {
            const u = new URL(url);
            return `${u.protocol}//${u.host}${u.pathname}`;
        } catch {
            return url.split("?")[0].replace(/\/\/[^@/]*@/, "//");
        }
    }

    private async inspect(stack: string, clearStale: boolean): Promise<Finding[]> {
        if (this.backendDir) return scanStack(this.backendDir, this.deps.project, stack, { probe: this.probe, clearStale });
        const locks = await this.locksOf(stack, clearStale);
        // The pending operations from the CLI's export, as for any backend.
        const exported = await this.remote(stack, "Exporting the state", () => exportStackState(this.deps.engine, stack));
        const pending = ((exported?.deployment as { pending_operations?: { type?: string; resource?: { urn?: string } }[] } | undefined)?.pending_operations ?? []).map((p) => ({
            type: String(p.type ?? "unknown"),
            urn: String(p.resource?.urn ?? ""),
        }));
        return [...locks, ...(pending.length ? [{ kind: "pending-operations" as const, operations: pending }] : [])];
    }

    /** Scans one stack, clears proven-stale locks, records and audits what it found. */
    scanStack(stack: string, why: string): Promise<StackHealth> {
        // Registered before the first await: a job the queue starts right after this call waits for it.
        const previous = this.scanning.get(stack) ?? Promise.resolve();
        const scan = previous.catch(() => undefined).then(() => this.scanNow(stack, why));
        const tracked = scan.finally(() => {
            if (this.scanning.get(stack) === tracked) this.scanning.delete(stack);
        });
        tracked.catch(() => undefined);
        this.scanning.set(stack, tracked);
        return scan;
    }

    async settled(stack: string): Promise<void> {
        await this.scanning.get(stack)?.catch(() => undefined);
    }

    async repairStatus(stack: string): Promise<RepairStatus> {
        const h = await this.health(stack);
        return { needed: h.state === "needs-repair", findings: h.findings, ...(h.checkedAt ? { checkedAt: h.checkedAt } : {}) };
    }

    private async scanNow(stack: string, why: string): Promise<StackHealth> {
        const findings = await this.inspect(stack, true);
        for (const f of findings) {
            if (f.kind === "stale-lock") {
                this.deps.audit.append({ actor: SYSTEM, action: "recovery.lock-cleared", from: "local", result: "ok", stack, details: { why, lock: f.lock } });
            }
        }
        const broken = needsRepair(findings);
        const problems = findings.filter((f) => f.kind !== "stale-lock");
        const before = await this.deps.store.findingsOf(stack);
        await this.deps.store.setFindings(stack, problems, this.now());
        if (broken && !needsRepair((before?.findings ?? []) as Finding[])) this.deps.onNeedsRepair?.(stack, problems);
        if (broken || findings.some((f) => f.kind === "live-lock" || f.kind === "foreign-lock")) {
            this.deps.audit.append({ actor: SYSTEM, action: broken ? "recovery.needs-repair" : "recovery.lock-held", from: "local", result: broken ? "needs-repair" : "reported", stack, details: { why, findings: problems } });
        } else if (before?.findings.length) {
            this.deps.audit.append({ actor: SYSTEM, action: "recovery.healthy", from: "local", result: "ok", stack, details: { why } });
        }
        return await this.health(stack);
    }

    /**
     * Start-up scan of every stack; never throws (a broken stack must not keep the service down).
     * `busy` names stacks to leave alone: with several instances, a stack another instance is
     * updating has a live lock and pending operations that are its own, not a crash's.
     */
    async scan(busy: (stack: string) => Promise<boolean> = async () => false): Promise<StackHealth[]> {
        const out: StackHealth[] = [];
        for (const stack of this.deps.stacks()) {
            try {
                if (await busy(stack)) continue;
                out.push(await this.scanStack(stack, "start-up"));
            } catch (e) {
                this.deps.audit.append({ actor: SYSTEM, action: "recovery.scan-failed", from: "local", result: "failed", stack, details: { error: (e as Error).message } });
            }
        }
        return out;
    }

    async health(stack: string): Promise<StackHealth> {
        const rec = await this.deps.store.findingsOf(stack);
        const findings = (rec?.findings ?? []) as Finding[];
        return { stack, state: needsRepair(findings) ? "needs-repair" : "ok", findings, ...(rec ? { checkedAt: rec.at } : {}) };
    }

    /**
     * An admin's override for a lock nobody else may clear (a live process, another host, or a
     * backend the service cannot inspect): removes the stack's locks with `pulumi cancel`,
     * listing and auditing the holders it removed. Pending operations stay for the repair.
     */
    /**
     * Refuses to touch a stack whose interrupted job's process may still be alive on an instance
     * the others gave up on (paused, cut off): unlocking or repairing it under that process would
     * let a second writer in when it resumes. An admin who knows the process is gone overrides it,
     * and the override is audited with what it overrode.
     */
    private async checkFences(stack: string, action: string, actor: AuditActor, from: string, override: boolean): Promise<Fence[]> {
        const held = (await this.deps.fences?.holding(stack)) ?? [];
        if (!held.length) return [];
        if (!override) {
            this.deps.audit.append({ actor, action, from, result: "FENCED", stack, details: { fences: held } });
            const f = held[0];
            throw new AppError(
                "FENCED",
                409,
                `Stack "${stack}" was running job ${f.jobId} on instance ${f.instance}${f.host ? ` (host ${f.host}${f.workerPid ? `, worker pid ${f.workerPid}` : ""})` : ""} when the others gave it up at ${f.since}; it may only be paused, and its CLI could resume writing the state. ` +
                    `Wait for that instance to come back (it kills its jobs and lifts the fence) or make sure the process is gone, then repeat with {"overrideFence": true}: that overrides exactly this fence.`,
                { stack, fences: held },
            );
        }
        await this.deps.fences!.releaseStack(stack, actor.name);
        return held;
    }

    async unlock(stack: string, actor: AuditActor, from: string, opts: { overrideFence?: boolean } = {}): Promise<UnlockResult> {
        const overridden = await this.checkFences(stack, "stack.unlock", actor, from, opts.overrideFence === true);
        let before: Finding[];
        try {
            before = await this.locksOf(stack, false);
        } catch (e) {
            this.deps.audit.append({ actor, action: "stack.unlock", from, result: "failed", stack, details: { error: (e as Error).message } });
            throw e;
        }
        const removedLocks = before.flatMap((f) => ("lock" in f ? [f.lock] : []));
        let existed: boolean;
        try {
            existed = await removeStackLocks(this.deps.engine, stack);
        } catch (e) {
            this.deps.audit.append({ actor, action: "stack.unlock", from, result: "failed", stack, details: { locks: removedLocks, error: (e as Error).message } });
            throw new AppError("UNLOCK_FAILED", 500, `Removing the locks of "${stack}" failed; the service log has the CLI's answer.`, { stack });
        }
        if (!existed) throw new AppError("STACK_NOT_FOUND", 404, `Stack "${stack}" does not exist in the backend; it has no lock.`, { stack });
        this.deps.audit.append({ actor, action: "stack.unlock", from, result: "ok", stack, details: { removedLocks, ...(overridden.length ? { overriddenFences: overridden } : {}) } });
        const after = await this.scanStack(stack, "unlock");
        return { stack, removedLocks, after };
    }

    /**
     * Backs up the exported state, then clears pending operations: `strip` removes them from
     * the checkpoint and imports it; `refresh` runs `refresh --clear-pending-creates` (reads
     * every resource back) and strips whatever remains. A lock held by a live process or
     * another host stops the repair with 409 and the holder.
     */
    async repair(stack: string, method: "strip" | "refresh", actor: AuditActor, from: string, opts: { overrideFence?: boolean } = {}): Promise<RepairResult> {
        const overridden = await this.checkFences(stack, "stack.repair", actor, from, opts.overrideFence === true);
        const findings = await this.inspect(stack, true);
        const clearedLocks = findings.flatMap((f) => (f.kind === "stale-lock" && f.cleared ? [f.lock.file] : []));
        const held = findings.find((f) => f.kind === "live-lock" || f.kind === "foreign-lock");
        if (held && (held.kind === "live-lock" || held.kind === "foreign-lock")) {
            this.deps.audit.append({ actor, action: "stack.repair", from, result: "STACK_LOCKED", stack, details: { holder: held.lock } });
            throw new AppError(
                "STACK_LOCKED",
                409,
                `Stack "${stack}" is locked by pid ${held.lock.pid} on ${held.lock.hostname} (${held.lock.username}, since ${held.lock.timestamp}), which ${held.kind === "live-lock" ? "is still running" : "is another host"}; stop it there or wait. ` +
                    // The override exists; saying what it does keeps it from being mistaken for a way to stop the holder.
                    `An admin's unlock (POST /v1/stacks/${stack}/unlock {"confirm": "${stack}"}) removes the lock but does not stop its holder: use it once the holder is gone.`,
                { stack, holder: held.lock },
            );
        }
        const exported = await exportStackState(this.deps.engine, stack);
        if (!exported) throw new AppError("STACK_NOT_FOUND", 404, `Stack "${stack}" does not exist in the backend; nothing to repair.`, { stack });
        const dir = path.join(this.deps.dataDir, "backups");
        makeDirs(dir, 0o700);
        const backup = path.join(dir, `${stack}-${this.now().toISOString().replace(/[:.]/g, "-")}.json`);
        // Secrets in an export stay encrypted; the file is still kept private.
        fs.writeFileSync(backup, JSON.stringify(exported, null, 2), { mode: 0o600, flag: "wx" });
        const deployment = exported.deployment as { pending_operations?: { type?: string; resource?: { urn?: string } }[] };
        const dropped = (deployment.pending_operations ?? []).map((p) => ({ type: String(p.type ?? "unknown"), urn: String(p.resource?.urn ?? "") }));
        try {
            if (method === "refresh" && dropped.length) await refreshClearingPendingCreates(this.deps.engine, stack);
            const current = method === "refresh" ? await exportStackState(this.deps.engine, stack) : exported;
            const d = current?.deployment as { pending_operations?: unknown[] } | undefined;
            if (current && d?.pending_operations?.length) {
                const { pending_operations: _dropped, ...rest } = d;
                await importStackState(this.deps.engine, stack, { version: current.version, deployment: rest });
            }
        } catch (e) {
            this.deps.audit.append({ actor, action: "stack.repair", from, result: "failed", stack, details: { method, backup, error: (e as Error).message } });
            throw new AppError("REPAIR_FAILED", 500, `Repairing "${stack}" failed; the state before the attempt is backed up in ${path.basename(backup)}.`, { stack, backup: path.basename(backup) });
        }
        const after = await this.scanStack(stack, "repair");
        this.deps.audit.append({ actor, action: "stack.repair", from, result: "ok", stack, details: { method, backup, clearedLocks, droppedOperations: dropped, after: after.state, ...(overridden.length ? { overriddenFences: overridden } : {}) } });
        return { stack, method, backup, clearedLocks, droppedOperations: dropped, after };
    }
}
