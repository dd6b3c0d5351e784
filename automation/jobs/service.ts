import * as path from "node:path";
import {
    AppError,
    engineError,
    fromAutomationError,
    invalidInput,
    isAppError,
    jobFinished,
    jobNotFound,
    needsRepair,
    shuttingDown,
    stackNotFound,
} from "../errors";
import type { Logger } from "../logger";
import type { StartWorker, WorkerHandle, WorkerOutcome } from "../pulumi/spawn";
import type { Checkout, SourceCheckouts } from "../sources/checkouts";
import { JobQueue } from "./queue";
import type { JobStore } from "./store";
import { compactEvent, emptySummary, eventType, foldEvent } from "./summary";
import { isFinal, Job, JobOptions, JobState, JobSummary, Op } from "./types";

/** What a guard may answer to an engine event: nothing, or stop the job (with a reason). */
export type GuardVerdict = void | undefined | "stop" | { stop: string };

/**
 * Hooks for the safety layer (approvals bound to previews). `beforeStart` runs twice for an
 * update: at admission (`phase: "admit"`, job not yet stored: an AppError becomes the HTTP
 * answer, e.g. 409 PLAN_STALE) and right before its worker starts (`phase: "start"`: an AppError
 * fails the job with that code, since the stack may have moved while it waited).
 */
export interface Guards {
    beforeStart(job: Job, phase: "admit" | "start"): void | Promise<void>;
    onEvent(job: Job, event: Record<string, unknown>): GuardVerdict;
}

export const noGuards: Guards = { beforeStart: () => undefined, onEvent: () => undefined };

/** A stack's repair status as the crash recovery last found it. */
export interface RepairStatus {
    /** True while a run that did not finish has left the stack needing an admin's repair. */
    needed: boolean;
    findings: readonly object[];
    checkedAt?: string;
}

/**
 * The crash recovery seen from the job service (the safety layer's RecoveryService): stacks
 * that need repair take no new job of any kind until an admin repairs them.
 */
export interface RepairGate {
    repairStatus(stack: string): RepairStatus;
    /** Resolves when any scan of the stack under way has finished (one follows every failed or cancelled apply). */
    settled(stack: string): Promise<void>;
}

const noCheckouts = () => invalidInput("This service checks out no pull requests: GitHub webhooks are off.");

export interface JobMetrics {
    jobStarted(job: Job): void;
    jobFinished(job: Job, seconds: number): void;
}

export interface JobServiceDeps {
    store: JobStore;
    logger: Logger;
    startWorker: StartWorker;
    guards?: Guards;
    /** Without one, stacks are never marked as needing repair. */
    repair?: RepairGate;
    metrics?: JobMetrics;
    /** The project's stack allow-list, read fresh on each call. */
    stacks: () => string[];
    projectDir: string;
    /** Checks out a pull request's head for jobs that name one (`options.source`); without it such jobs are refused. */
    checkouts?: SourceCheckouts;
    pulumiBin: string;
    policyPacks: string[];
    /** Environment of every worker: backend, passphrase, PATH to the CLI. */
    workerEnv: NodeJS.ProcessEnv;
    concurrency: number;
    queueLimit: number;
    cancelGraceMs: number;
}

interface Active {
    handle: WorkerHandle;
    /** Why the job is being stopped, which decides its final state. */
    stopping?: { state: "cancelled" | "interrupted" | "stopped-by-guard"; reason?: string };
    killTimer?: NodeJS.Timeout;
}

export interface StackStatus {
    name: string;
    state: "idle" | "running" | "queued";
    runningJob?: string;
    queued: number;
    lastJob?: Pick<Job, "id" | "op" | "state" | "createdAt" | "finishedAt">;
    /** Outputs after the last successful update, refresh or destroy; secrets masked. */
    outputs?: Record<string, unknown>;
    /** Present when crash recovery runs (the safety layer); `needed` blocks new jobs with 409 NEEDS_REPAIR. */
    repair?: RepairStatus;
}

/**
 * The service's use cases: start, list, inspect and cancel jobs. Requests become stored jobs,
 * the queue decides when each runs, and each run is one worker process whose events, log and
 * outcome land in the store. HTTP routes call this and nothing deeper.
 */
export class JobService {
    private readonly queue: JobQueue;
    private readonly active = new Map<string, Active>();
    /** Stacks a job of this process has run on; their workers skip `stack select`. */
    private readonly knownStacks = new Set<string>();
    /** Jobs cancelled between leaving the queue and starting their worker, with who cancelled. */
    private readonly cancelledBeforeStart = new Map<string, string>();
    private readonly guards: Guards;
    private accepting = true;

    constructor(private readonly deps: JobServiceDeps) {
        this.guards = deps.guards ?? noGuards;
        this.queue = new JobQueue({ concurrency: deps.concurrency, queueLimit: deps.queueLimit, run: (job) => this.run(job) });
    }

    get store(): JobStore {
        return this.deps.store;
    }

    assertStack(stack: string): void {
        if (!this.deps.stacks().includes(stack)) throw stackNotFound(stack);
    }

    /** Admits a new job or throws the AppError the caller should see. */
    async submit(input: { stack: string; op: Op; options?: JobOptions; triggeredBy: string }): Promise<Job> {
        this.assertStack(input.stack);
        if (!this.accepting) throw shuttingDown();
        this.assertRepaired(input.stack, input.op);
        const options = input.options ?? {};
        if (options.source && (input.op !== "preview" || options.mode === "plan")) {
            throw invalidInput("Only a plain preview can run on a pull request's head: updates and plans run the service's checkout.");
        }
        if (options.source && !this.deps.checkouts) throw noCheckouts();
        this.queue.checkAdmission(input.stack, input.op, options.noQueue, options);
        if (input.op === "update") {
            const draft: Job = { id: "", stack: input.stack, op: input.op, state: "queued", triggeredBy: input.triggeredBy, createdAt: new Date().toISOString(), options };
            await this.guards.beforeStart(draft, "admit");
            // The guard may have awaited; admission is decided again on the queue as it is now.
            this.queue.checkAdmission(input.stack, input.op, options.noQueue, options);
        }
        const job = this.deps.store.createJob({ stack: input.stack, op: input.op, triggeredBy: input.triggeredBy, options });
        this.deps.store.appendEvent(job.id, "state", { state: "queued" });
        this.enqueue(job);
        return this.deps.store.getJob(job.id)!;
    }

    private assertRepaired(stack: string, op: Op): void {
        const status = this.deps.repair?.repairStatus(stack);
        if (status?.needed) throw needsRepair(stack, op, status.findings);
    }

    getJob(id: string): Job {
        const job = this.deps.store.getJob(id);
        if (!job) throw jobNotFound(id);
        return job;
    }

    listJobs(filter: { stack?: string; state?: JobState; limit?: number }): Job[] {
        return this.deps.store.listJobs(filter);
    }

    stackStatus(stack: string): StackStatus {
        this.assertStack(stack);
        const running = this.queue.runningOn(stack);
        const queued = this.queue.waitingOn(stack).length;
        const last = this.deps.store.lastJob(stack);
        const withOutputs = this.deps.store.lastJob(stack, ["succeeded"], ["update", "refresh", "destroy"]);
        const outputs = this.lastOutputs(stack, withOutputs);
        const repair = this.deps.repair?.repairStatus(stack);
        return {
            name: stack,
            state: running ? "running" : queued > 0 ? "queued" : "idle",
            ...(running ? { runningJob: running.id } : {}),
            queued,
            ...(last ? { lastJob: { id: last.id, op: last.op, state: last.state, createdAt: last.createdAt, finishedAt: last.finishedAt } } : {}),
            ...(outputs ? { outputs } : {}),
            ...(repair ? { repair } : {}),
        };
    }

    private lastOutputs(stack: string, job: Job | undefined): Record<string, unknown> | undefined {
        // A preview-only refresh records no outputs; look past it to the last job that did.
        if (!job) return undefined;
        if (job.summary?.outputs) return job.summary.outputs;
        const update = this.deps.store.lastJob(stack, ["succeeded"], ["update", "destroy"]);
        return update?.summary?.outputs;
    }

    listStacks(): StackStatus[] {
        return this.deps.stacks().map((s) => this.stackStatus(s));
    }

    /**
     * Cancels a job: a waiting one is removed at once; a running one gets a graceful stop and,
     * if it is still running after the grace period, its process group is killed.
     */
    cancel(id: string, by: string): Job {
        const job = this.getJob(id);
        if (isFinal(job.state)) throw jobFinished(id, job.state);
        if (this.queue.remove(id)) {
            return this.settle(id, "cancelled", { error: { code: "CANCELLED", message: `Cancelled by ${by} while queued.` } });
        }
        const active = this.active.get(id);
        if (active) this.stop(id, active, { state: "cancelled", reason: `Cancelled by ${by}.` });
        // Taken off the queue but not yet running (its start guard is still deciding).
        else this.cancelledBeforeStart.set(id, by);
        this.deps.store.appendEvent(id, "cancelRequested", { by });
        return this.getJob(id);
    }

    private stop(id: string, active: Active, why: NonNullable<Active["stopping"]>): void {
        if (active.stopping) return;
        active.stopping = why;
        this.deps.logger.info({ jobId: id, why: why.state }, "stopping job gracefully");
        active.handle.cancel();
        active.killTimer = setTimeout(() => {
            this.deps.logger.warn({ jobId: id, graceMs: this.deps.cancelGraceMs }, "job still running after the grace period; killing its process group");
            this.deps.store.appendEvent(id, "forceKill", { afterMs: this.deps.cancelGraceMs });
            active.handle.kill();
        }, this.deps.cancelGraceMs);
    }

    /**
     * After a restart: settle jobs the dead process was running, and list the queued ones to
     * line up again. A worker that outlived the old service (it cancels itself when its parent
     * goes) gets the cancel grace period to release its stack's lock, then its group is killed,
     * so the next job on that stack does not meet a live lock.
     */
    async recover(): Promise<{ interrupted: Job[]; requeued: Job[] }> {
        const running = this.deps.store.jobsInStates(["running"]);
        await Promise.all(running.map((j) => this.reapOrphan(j)));
        const interrupted = running.map((j) => {
            const e = engineError.interrupted();
            return this.settle(j.id, "interrupted", { error: { code: e.code, message: e.message } });
        });
        const requeued = this.deps.store.jobsInStates(["queued"]);
        return { interrupted, requeued };
    }

    private async reapOrphan(job: Job): Promise<void> {
        const pid = this.deps.store.workerPid(job.id);
        const alive = () => {
            try {
                process.kill(-pid!, 0);
                return true;
            } catch {
                return false;
            }
        };
        if (!pid || !alive()) return;
        this.deps.logger.warn({ jobId: job.id, pid }, "worker of an interrupted job still running; giving it the cancel grace period");
        try {
            process.kill(pid, "SIGINT");
        } catch {
            /* gone meanwhile */
        }
        const until = Date.now() + this.deps.cancelGraceMs;
        while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
        if (alive()) {
            this.deps.store.appendEvent(job.id, "forceKill", { afterMs: this.deps.cancelGraceMs, orphan: true });
            try {
                process.kill(-pid, "SIGKILL");
            } catch {
                /* gone meanwhile */
            }
        }
    }

    /** Re-admits stored queued jobs (after `recover` and any lock repair). */
    resume(jobs: Job[]): void {
        for (const job of jobs) this.enqueue(job);
    }

    private enqueue(job: Job): void {
        for (const old of this.queue.enqueue(job)) this.settle(old.id, "superseded", { error: { code: "SUPERSEDED", message: `Superseded by the newer preview ${job.id}.` } });
    }

    queueDepth(): { running: number; waiting: number } {
        return { running: this.queue.runningCount, waiting: this.queue.waitingCount };
    }

    /**
     * Stops taking work, lets running jobs finish for `graceMs`, then stops the rest gracefully
     * (forced after the cancel grace) and marks them interrupted. Queued jobs stay queued in
     * the store and run after the next start.
     */
    async shutdown(graceMs: number): Promise<void> {
        this.accepting = false;
        this.queue.pause();
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), graceMs)));
        const outcome = await Promise.race([this.queue.idle().then(() => "idle" as const), graceOver]);
        clearTimeout(timer);
        if (outcome === "timeout") {
            for (const [id, active] of this.active) this.stop(id, active, { state: "interrupted", reason: "The service shut down while the job ran." });
            await this.queue.idle();
        }
    }

    private settle(id: string, state: JobState, result: { summary?: JobSummary; error?: { code: string; message: string } }): Job {
        this.deps.store.appendEvent(id, "state", { state, ...(result.error ? { error: result.error } : {}) });
        const job = this.deps.store.finish(id, state, result);
        if (job.startedAt) this.deps.metrics?.jobFinished(job, (Date.parse(job.finishedAt!) - Date.parse(job.startedAt)) / 1000);
        else this.deps.metrics?.jobFinished(job, 0);
        return job;
    }

    /** Runs one job to a final state; never throws (the queue moves on either way). */
    private async run(queued: Job): Promise<void> {
        const { store, logger } = this.deps;
        const log = logger.child({ jobId: queued.id, stack: queued.stack, op: queued.op });
        let checkout: Checkout | undefined;
        try {
            try {
                // The job ahead of this one may have died mid-apply; its scan decides whether this one may run.
                await this.deps.repair?.settled(queued.stack);
                this.assertRepaired(queued.stack, queued.op);
                if (queued.op === "update") await this.guards.beforeStart(queued, "start");
            } catch (err) {
                const e = isAppError(err) ? err : fromAutomationError(err, queued);
                this.settle(queued.id, "failed", { error: { code: e.code, message: e.message } });
                return;
            }
            if (this.cancelledBefore(queued.id, "before it started")) return;
            const job = store.markRunning(queued.id);
            store.appendEvent(job.id, "state", { state: "running" });
            this.deps.metrics?.jobStarted(job);
            try {
                // Fetching can take a while: the job is running (and cancellable) meanwhile.
                checkout = await this.checkoutFor(job);
            } catch (err) {
                const e = isAppError(err) ? err : engineError.operationFailed(job.stack, job.op);
                if (!isAppError(err)) log.error(err as Error, "checkout failed");
                this.settle(job.id, "failed", { error: { code: e.code, message: e.message } });
                return;
            }
            if (checkout && this.cancelledBefore(job.id, "while its pull request was checked out")) return;
            const summary = emptySummary();
            // Progress for readers, at most every 250 ms (the store is synchronous), and always
            // within 250 ms of the last event, so a pause in the engine shows the latest steps.
            let lastSummaryWrite = 0;
            let summaryTimer: NodeJS.Timeout | undefined;
            const writeSummary = () => {
                summaryTimer = undefined;
                lastSummaryWrite = Date.now();
                store.updateSummary(job.id, summary);
            };
            const handle = this.deps.startWorker(
                {
                    jobId: job.id,
                    stack: job.stack,
                    op: job.op,
                    options: job.options,
                    projectDir: checkout?.projectDir ?? this.deps.projectDir,
                    pulumiBin: this.deps.pulumiBin,
                    policyPacks: job.op === "preview" || job.op === "update" ? this.deps.policyPacks : [],
                    stackKnown: this.knownStacks.has(job.stack),
                },
                this.deps.workerEnv,
                {
                    onSecrets: (values) => store.useSecrets(job.id, values),
                    onOutput: (line) => store.appendLog(job.id, line),
                    onEvent: (raw) => {
                        // The language host's debug chatter is not a change anyone watches.
                        if ((raw.diagnosticEvent as { severity?: string } | undefined)?.severity === "debug") return;
                        const event = compactEvent(raw);
                        store.appendEvent(job.id, eventType(event), event);
                        foldEvent(summary, event);
                        const since = Date.now() - lastSummaryWrite;
                        if (since > 250) writeSummary();
                        else summaryTimer ??= setTimeout(writeSummary, 250 - since);
                        const verdict = this.guardVerdict(job, event, log);
                        const active = this.active.get(job.id);
                        if (verdict && active) this.stop(job.id, active, { state: "stopped-by-guard", reason: verdict });
                    },
                },
            );
            const active: Active = { handle };
            this.active.set(job.id, active);
            store.setWorkerPid(job.id, handle.pid);
            log.info({ pid: handle.pid }, "job started");
            const outcome = await handle.done;
            clearTimeout(active.killTimer);
            // The final summary is written when the job settles.
            clearTimeout(summaryTimer);
            this.active.delete(job.id);
            this.finishRun(job, outcome, summary, active, log);
        } catch (err) {
            log.error(err as Error, "job runner failed");
            const e = engineError.operationFailed(queued.stack, queued.op);
            this.settle(queued.id, "failed", { error: { code: e.code, message: e.message } });
        } finally {
            await checkout?.release().catch((err: unknown) => log.warn({ err }, "removing the job's checkout failed"));
        }
    }

    /** The pull-request head a job runs on, checked out; undefined for the service's own checkout. */
    private async checkoutFor(job: Job): Promise<Checkout | undefined> {
        if (!job.options.source) return undefined;
        // A job queued before a restart that turned webhooks off.
        if (!this.deps.checkouts) throw noCheckouts();
        return this.deps.checkouts.prepare(job.id, job.options.source, (line) => this.deps.store.appendLog(job.id, line));
    }

    /** Settles a job cancelled while it had no worker yet; true when it was. */
    private cancelledBefore(id: string, when: string): boolean {
        const by = this.cancelledBeforeStart.get(id);
        if (by === undefined) return false;
        this.cancelledBeforeStart.delete(id);
        this.settle(id, "cancelled", { error: { code: "CANCELLED", message: `Cancelled by ${by} ${when}.` } });
        return true;
    }

    private guardVerdict(job: Job, event: Record<string, unknown>, log: Logger): string | undefined {
        try {
            const v = this.guards.onEvent(job, event);
            if (v === "stop") return "A guard stopped the job.";
            if (v && typeof v === "object") return v.stop;
        } catch (err) {
            // A broken guard must stop the job rather than let an unchecked update run on.
            log.error(err as Error, "guard threw; stopping the job");
            return "A guard failed while checking the job's events.";
        }
        return undefined;
    }

    private finishRun(job: Job, outcome: WorkerOutcome, summary: JobSummary, active: Active, log: Logger): void {
        const stopping = active.stopping;
        if (outcome.kind === "succeeded" || summary.steps.length > 0) this.knownStacks.add(job.stack);
        if (outcome.kind === "succeeded" && !stopping) {
            log.info({ counts: summary.counts }, "job succeeded");
            this.settle(job.id, "succeeded", { summary: { ...summary, ...(outcome.outputs ? { outputs: outcome.outputs } : {}) } });
            return;
        }
        // The engine's message may hold this job's secrets, which only the store's per-job
        // redactor knows: it goes to the job log, the service log gets its kind only.
        if (outcome.kind === "failed") log.warn({ name: outcome.name }, "job failed; the engine's message is in the job log");
        if (outcome.kind === "crashed") log.warn({ code: outcome.code, signal: outcome.signal }, "worker ended without a result");
        if (outcome.kind === "failed") this.deps.store.appendLog(job.id, `error: ${outcome.name}: ${outcome.message}`);
        if (stopping) {
            if (outcome.kind === "succeeded" && stopping.state !== "stopped-by-guard") {
                // The engine finished before the stop landed: the work is done, so say so.
                this.settle(job.id, "succeeded", { summary: { ...summary, ...(outcome.outputs ? { outputs: outcome.outputs } : {}) } });
                return;
            }
            const code = stopping.state === "cancelled" ? "CANCELLED" : stopping.state === "interrupted" ? "INTERRUPTED" : "STOPPED_BY_GUARD";
            this.settle(job.id, stopping.state, {
                summary: { ...summary, ...(stopping.state === "stopped-by-guard" ? { stopReason: stopping.reason } : {}) },
                error: { code, message: stopping.reason ?? code },
            });
            return;
        }
        let error: AppError;
        if (summary.policyViolations.some((v) => v.enforcementLevel === "mandatory")) error = engineError.policyViolation(job.stack, job.op);
        else if (outcome.kind === "crashed") error = engineError.workerCrashed(outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.code}`);
        else error = fromAutomationError({ name: outcome.kind === "failed" ? outcome.name : "Error", message: outcome.kind === "failed" ? outcome.message : "" }, job);
        this.settle(job.id, "failed", { summary, error: { code: error.code, message: error.message } });
    }
}

/** The environment every worker gets: the CLI and Node 22 first on PATH, backend and secrets provider. */
export function workerEnvironment(input: { base: NodeJS.ProcessEnv; pulumiBin: string; nodeBin: string; backendUrl: string; passphrase: string }): NodeJS.ProcessEnv {
    return {
        ...input.base,
        PATH: [input.pulumiBin, input.nodeBin, input.base.PATH ?? ""].join(path.delimiter),
        PULUMI_BACKEND_URL: input.backendUrl,
        PULUMI_CONFIG_PASSPHRASE: input.passphrase,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
}
