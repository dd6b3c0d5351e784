// The job service: the use cases on jobs and the running of each job. Over 300 lines because
// running a job (guard at start, checkout, worker, events, summary, cancel and kill, settling)
// is one state machine whose states are easiest to check when they are read in one place; the
// reads live in reader.ts, the stacks' read model in stackView.ts, the writing of each job's
// record (order, limits, redaction) in record.ts, restart and failover in restart.ts, the
// queue in queue.ts.
import { EventEmitter } from "node:events";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    AppError,
    engineError,
    fromAutomationError,
    commandStderr,
    conflict,
    describeFailure,
    invalidInput,
    isAppError,
    jobFinished,
    repairPath,
    shuttingDown,
} from "../errors";
import type { Logger } from "../logger";
import type { StartWorker, WorkerHandle, WorkerOutcome, WorkerSpec } from "../pulumi/spawn";
import { accessOf, jobSessionName, type IssuedCredentials, type StackCredentials } from "../pulumi/stackRoles";
import type { Principal } from "../security/roles";
import type { Checkout, SourceCheckouts } from "../sources/checkouts";
import { singleProcess, type CancelMessage, type Cluster } from "./cluster";
import type { ApprovedPreview, JobGuard } from "./guard";
import type { JobScheduler } from "./scheduler";
import { JobReader } from "./reader";
import { JobRecord } from "./record";
import { JobRestart } from "./restart";
import { StackView, type RepairView, type StackStatus, type StackViewDeps } from "./stackView";
import type { JobStore } from "./store";
import { compactEvent, emptySummary, eventType, foldEvent, inFlightSteps, type InFlightStep } from "./summary";
import { isFinal, Job, JobOptions, JobState, JobSummary, Op, StoredEvent } from "./types";

export { openGuard, type ApprovedPreview, type GuardVerdict, type JobGuard } from "./guard";

/** The moments of a job other modules follow (audit, PR comments, recovery scans, fingerprints). */
export interface JobLifecycle {
    queued: Job;
    started: Job;
    finished: Job;
}

export type { Drift, RepairStatus, RepairView, StackState, StackStatus } from "./stackView";

const noCheckouts = () => invalidInput("This service checks out no pull requests: GitHub webhooks are off.");

export interface JobMetrics {
    jobStarted(job: Job): void;
    jobFinished(job: Job, seconds: number): void;
}

export interface JobServiceDeps {
    store: JobStore;
    /**
     * Alone or one of several instances on a shared database (jobs/cluster.ts): the scheduler,
     * the messages between instances, where plans are kept, the lease on life.
     * @default one process (its own queue of `concurrency` and `queueLimit`)
     */
    cluster?: Cluster;
    logger: Logger;
    startWorker: StartWorker;
    guard: JobGuard;
    /** Shown on each stack's status. */
    repair?: RepairView;
    metrics?: JobMetrics;
    /** The project's stack allow-list, read fresh on each call. */
    stacks: () => string[];
    projectDir: string;
    /** Checks out a pull request's head for jobs that name one (`options.source`); without it such jobs are refused. */
    checkouts?: SourceCheckouts;
    /** How a pull request's preview runs: sandboxed, with an environment of its own (pulumi/sandbox.ts). Required with `checkouts`. */
    pullRequestWorker?: {
        env: NodeJS.ProcessEnv;
        sandbox(checkout: Pick<Checkout, "root" | "configDir">, stack: string): NonNullable<WorkerSpec["sandbox"]>;
        /** Longest a pull request's preview may run: then it is stopped, and killed a grace later. @default none */
        timeoutMs?: number;
    };
    pulumiBin: string;
    policyPacks: string[];
    /** Environment of every worker: backend, passphrase, PATH to the CLI. */
    workerEnv: NodeJS.ProcessEnv;
    /** Variables whose credential-named values never reach the store (the workers' and the service's own). @default workerEnv */
    credentials?: Readonly<Record<string, string | undefined>>;
    /**
     * With AUTOMATION_STACK_ROLES: each job's own session of its stack's role (pulumi/stackRoles.ts),
     * issued before its worker starts and revoked when it ends. @default none (jobs use the workers' environment)
     */
    stackCredentials?: Pick<StackCredentials, "issue">;
    /** Where previews in mode "plan" save their update plans. */
    plansDir: string;
    /**
     * Where each stack's config copy lives (pulumi/stackConfig.ts): the CLI writes its secrets
     * provider's state there, never into the project's tracked stack files. @default `<plansDir>/../stack-config`
     */
    stackConfigDir?: string;
    /**
     * Stacks whose previews save an update plan unless the caller names a mode: those whose
     * updates need approval, so the approved update runs with `--plan` and the engine itself
     * refuses any step the reviewed preview did not contain. @default none
     */
    plansByDefault?: (stack: string) => boolean;
    /** The stack's policy in words, shown with its status. @default none */
    policyInWords?: (stack: string) => string | undefined;
    /** More of the stack's status from the modules that act on it (its schedules, its dependencies). @default none */
    stackDetails?: StackViewDeps["stackDetails"];
    concurrency: number;
    queueLimit: number;
    /** After a graceful stop, how long before the job's process group is killed; 0: never (only a force-cancel kills). */
    cancelGraceMs: number;
    /** What one job may store; past it a marker says so and the rest is dropped. @default 20,000 log lines, 20,000 engine events */
    limits?: { logLines: number; events: number };
}

/** How long a pull request's preview stopped for running too long gets before it is killed (it writes no state). */
const PR_STOP_GRACE_MS = 10_000;

/** What a force-cancel kills in the middle, and what that does to the stack. */
export interface LeavesBehind {
    inFlight: InFlightStep[];
    /** True when an operation that writes the state is cut off mid-step. */
    needsRepair: boolean;
    message: string;
}

interface Active {
    handle: WorkerHandle;
    /** Why the job is being stopped, which decides its final state. */
    stopping?: { state: "cancelled" | "interrupted" | "stopped-by-guard"; reason?: string };
    killTimer?: NodeJS.Timeout;
    /** The engine's first error diagnostic: what the job's error says when it fails. */
    firstError?: string;
}

/**
 * The service's use cases and the only door to job data: submit (through the one admission
 * guard), list, inspect, page the log, watch the events of, and cancel jobs. Requests become
 * stored jobs, the queue decides when each runs, and each run is one worker process whose
 * events, log and outcome land in the store, redacted here first. Other modules follow jobs
 * through `on` (lifecycle) and `watch` (one job's events), never through the store.

 */
export class JobService extends JobReader {
    private readonly scheduler: JobScheduler;
    private readonly cluster: Cluster;
    /** The stacks as the jobs show them (status, drift, outputs, policy in words). */
    readonly stacks: StackView;
    /** The writer of every job's log, events and redactions. */
    private readonly record: JobRecord;
    /** What a start after a crash, and a failover, do with the jobs left running. */
    private readonly restart: JobRestart;
    private readonly active = new Map<string, Active>();
    /** Stacks a job of this process has run on; their workers skip `stack select`. */
    private readonly knownStacks = new Set<string>();
    /** Running jobs someone cancelled and that have not stopped yet, with who cancelled: shown as `cancelling`. */
    private readonly cancelling = new Map<string, string>();
    /** Jobs cancelled between leaving the queue and starting their worker, with who cancelled. */
    private readonly cancelledBeforeStart = new Map<string, string>();
    private readonly lifecycle = new EventEmitter();
    private accepting = true;

    constructor(private readonly deps: JobServiceDeps) {
        super(deps.store);
        this.cluster = deps.cluster ?? singleProcess({ store: deps.store, concurrency: deps.concurrency, queueLimit: deps.queueLimit });
        this.record = new JobRecord({ store: deps.store, logger: deps.logger, credentials: deps.credentials ?? deps.workerEnv, limits: deps.limits, announce: (jobId) => this.cluster.announce(jobId) });
        this.scheduler = this.cluster.scheduler((job) => this.run(job));
        this.restart = new JobRestart({ cluster: this.cluster, store: deps.store, record: this.record, logger: deps.logger, cancelGraceMs: deps.cancelGraceMs, settleIf: (id, state, error) => this.settle(id, state, { error }, "running") });
        this.stacks = new StackView({ store: deps.store, line: (stack) => this.scheduler.line(stack), stacks: deps.stacks, repair: deps.repair, policyInWords: deps.policyInWords, stackDetails: deps.stackDetails });
        this.cluster.listen({
            // Another instance wrote events of a job: its watchers here read them from the store.
            events: (jobId) => {
                if (!this.active.has(jobId)) this.record.writtenElsewhere(jobId);
            },
            cancel: (message) => this.cancelRequested(message),
        });
        this.lifecycle.setMaxListeners(0);
    }

    /**
     * Follows a moment of every job. A listener that throws is logged and never disturbs the
     * job or the other listeners. Returns the unsubscribe function.
     */
    on<K extends keyof JobLifecycle>(moment: K, listener: (job: JobLifecycle[K]) => void | Promise<void>): () => void {
        const safe = (job: Job) => {
            try {
                const p = listener(job);
                if (p) p.catch((err: unknown) => this.deps.logger.error({ err, jobId: job.id, moment }, "job lifecycle listener failed"));
            } catch (err) {
                this.deps.logger.error({ err, jobId: job.id, moment }, "job lifecycle listener failed");
            }
        };
        this.lifecycle.on(moment, safe);
        return () => this.lifecycle.off(moment, safe);
    }

    /**
     * Calls `listener` after new stored events of `jobId`: with the event when this process wrote
     * it, without one when another instance did (read them from the store). Returns the unsubscribe function.
     */
    watch(jobId: string, listener: (e?: StoredEvent) => void): () => void {
        return this.record.watch(jobId, listener);
    }

    assertStack(stack: string): void {
        this.stacks.assertStack(stack);
    }

    /**
     * Admits a new job for `principal` or throws the AppError the caller should see: the
     * queue's limits, then the admission guard (role, freeze windows, approvals, repair state,
     * policy validity), then the queue again, since the guard may have awaited.
     */
    async submit(input: { stack: string; op: Op; options?: JobOptions; principal: Principal }): Promise<Job> {
        this.assertStack(input.stack);
        if (!this.accepting) throw shuttingDown();
        const options = input.options ?? {};
        if (options.source && (input.op !== "preview" || options.mode === "plan")) {
            throw invalidInput("Only a plain preview can run on a pull request's head: updates and plans run the service's checkout.");
        }
        if (options.source && !this.deps.checkouts) throw noCheckouts();
        await this.scheduler.checkAdmission(input.stack, input.op, options.noQueue, options);
        const defaultPlan = input.op === "preview" && !options.mode && !options.source && this.deps.plansByDefault?.(input.stack);
        const { principal } = input;
        const redactor = this.record.redactors.of("");
        const draft = {
            stack: input.stack,
            op: input.op,
            triggeredBy: redactor.redact(principal.name),
            triggeredVia: principal.via,
            options: redactor.redactDeep(defaultPlan ? { ...options, mode: "plan" as const } : options),
        };
        await this.deps.guard.admit({ ...draft, id: "", state: "queued", createdAt: new Date().toISOString() }, principal);
        const job = await this.scheduler.exclusive(input.stack, async () => {
            await this.scheduler.checkAdmission(input.stack, input.op, options.noQueue, options);
            const created = await this.deps.store.createJob(draft);
            await this.record.event(created.id, "state", { state: "queued" });
            this.emit("queued", created);
            await this.enqueue(created);
            return created;
        });
        return this.getJob(job.id);
    }

    private emit(moment: keyof JobLifecycle, job: Job): void {
        this.lifecycle.emit(moment, job);
    }

    /** The full status of `stack` (the read model's; `stacks.state` when only whether it is busy matters). */
    stackStatus(stack: string): Promise<StackStatus> {
        return this.stacks.status(stack);
    }

    listStacks(): Promise<StackStatus[]> {
        return this.stacks.list();
    }

    /**
     * Cancels a job: a waiting one is removed at once; a running one gets a graceful stop and,
     * if it is still running after the grace period, its process group is killed.
     */
    async cancel(id: string, by: string, opts: { force?: boolean } = {}): Promise<Job> {
        const job = await this.getJob(id);
        if (isFinal(job.state)) throw jobFinished(id, job.state);
        if (opts.force) return (await this.forceCancel(id, by)).job;
        if (await this.scheduler.remove(id)) {
            const cancelled = await this.settle(id, "cancelled", { error: { code: "CANCELLED", message: `Cancelled by ${by} while queued.` } }, "queued");
            if (cancelled) return this.view(cancelled);
            // It started meanwhile: cancel it running.
        }
        // A second cancel of a job already stopping changes nothing and says so.
        if (this.cancelling.has(id) || job.cancelRequestedBy !== undefined) return this.getJob(id);
        await this.deps.store.requestCancel(id, by);
        if (this.active.has(id) || !(await this.cluster.runsElsewhere(id))) {
            this.cancelHere(id, by);
        } else {
            // Another instance runs it: that one stops it, and writes what follows.
            this.cluster.sendCancel({ id, by });
        }
        void this.record.event(id, "cancelRequested", { by });
        await this.record.event(id, "state", { state: "cancelling", by });
        return this.getJob(id);
    }

    private cancelHere(id: string, by: string, force = false): void {
        const active = this.active.get(id);
        if (active) {
            this.stop(id, active, { state: "cancelled", reason: `Cancelled by ${by}.` });
            if (force) this.killNow(id, active, by);
        }
        // Taken off the queue but not yet running (its start guard is still deciding).
        else this.cancelledBeforeStart.set(id, by);
        this.cancelling.set(id, by);
    }

    /** A cancel another instance received for a job that runs here. */
    private cancelRequested(message: CancelMessage): void {
        if (!this.active.has(message.id)) return;
        if (message.force === true && this.cancelling.has(message.id)) this.killNow(message.id, this.active.get(message.id)!, message.by);
        else if (!this.cancelling.has(message.id)) this.cancelHere(message.id, message.by, message.force === true);
    }

    /**
     * What killing a cancelling job now would leave behind: the resource operations it has
     * under way, which the state then records as pending (the stack needs repair).
     */
    async forceCancelPreview(id: string): Promise<{ job: Job; leavesBehind: LeavesBehind }> {
        const job = await this.getJob(id);
        if (isFinal(job.state)) throw jobFinished(id, job.state);
        if (job.state !== "cancelling") {
            throw conflict(`Job "${id}" is not being cancelled; cancel it first (its running steps then finish), and force only if it does not stop.`, { id });
        }
        return { job, leavesBehind: await this.leavesBehind(job) };
    }

    /**
     * Kills a cancelling job's process group now, without waiting for its steps (a stuck cloud
     * call). Only a job already being cancelled: the graceful stop comes first, as it lets the
     * engine write a consistent checkpoint; a forced one leaves the stack to the repair scan.
     * Admins only (the route checks): it is the one way to cut an approved update in half.
     */
    async forceCancel(id: string, by: string): Promise<{ job: Job; leavesBehind: LeavesBehind }> {
        const { leavesBehind } = await this.forceCancelPreview(id);
        const active = this.active.get(id);
        if (active) this.killNow(id, active, by);
        else this.cluster.sendCancel({ id, by, force: true });
        return { job: await this.getJob(id), leavesBehind };
    }

    private async leavesBehind(job: Job): Promise<LeavesBehind> {
        const inFlight: InFlightStep[] = [];
        const events: StoredEvent[] = [];
        for (let after = 0; ; ) {
            const page = await this.deps.store.eventsAfter(job.id, after, 1000);
            events.push(...page);
            if (page.length < 1000) break;
            after = page[page.length - 1].seq;
        }
        inFlight.push(...inFlightSteps(events));
        const writes = job.op !== "preview" && !(job.op === "refresh" && job.options.mode !== "apply");
        return {
            inFlight,
            needsRepair: writes && inFlight.length > 0,
            message: !writes
                ? `The ${job.op} changes nothing: killing it leaves nothing behind but its lock, which the repair scan clears.`
                : inFlight.length === 0
                  ? "No resource operation is under way: killing it now leaves the state consistent."
                  : `${inFlight.length} resource operation(s) are under way (${inFlight.map((s) => `${s.op} ${s.urn}`).join(", ")}); killing them leaves them pending in the state and the stack needing repair (an admin's refresh or repair, GET ${repairPath(job.stack)}).`,
        };
    }

    private killNow(id: string, active: Active, by: string): void {
        clearTimeout(active.killTimer);
        void this.record.event(id, "forceKill", { by, early: true });
        this.deps.logger.warn({ jobId: id, by }, "force-cancel: killing the job's process group now");
        active.handle.kill();
    }

    /** The job `caller` created with an Idempotency-Key, if any (a retry after its first attempt died). */
    async jobOfIdempotencyKey(caller: string, key: string): Promise<Job | undefined> {
        const job = await this.deps.store.jobOfIdempotencyKey(caller, key);
        return job && this.view(job);
    }

    override async getJob(id: string): Promise<Job> {
        return this.view(await super.getJob(id));
    }

    override async findJob(id: string): Promise<Job | undefined> {
        const job = await super.findJob(id);
        return job && this.view(job);
    }

    override async listJobs(filter: Parameters<JobReader["listJobs"]>[0]): Promise<Job[]> {
        // `cancelling` is never stored: those are running jobs, as shown.
        if (filter.state === "cancelling") return (await super.listJobs({ ...filter, state: "running" })).map((j) => this.view(j)).filter((j) => j.state === "cancelling");
        const jobs = (await super.listJobs(filter)).map((j) => this.view(j));
        return filter.state === "running" ? jobs.filter((j) => j.state === "running") : jobs;
    }

    /** A job as clients see it: a running job someone cancelled (here, or on any instance) is `cancelling` until it stops. */
    private view(job: Job): Job {
        const by = this.cancelling.get(job.id) ?? job.cancelRequestedBy;
        return by !== undefined && (job.state === "running" || job.state === "queued") ? { ...job, state: "cancelling", cancelRequestedBy: by } : job;
    }

    /**
     * A graceful stop: one SIGINT, after which the engine lets the resource operations in flight
     * finish and writes a consistent checkpoint, however long they take. Only `killAfterMs`
     * (AUTOMATION_CANCEL_GRACE_MS when an operator set one, or a shutdown's bound) or an
     * admin's force-cancel kills the process group mid-step, which leaves the stack to repair.
     */
    private stop(id: string, active: Active, why: NonNullable<Active["stopping"]>, killAfterMs = this.deps.cancelGraceMs): void {
        if (active.stopping) return;
        active.stopping = why;
        this.deps.logger.info({ jobId: id, why: why.state }, "stopping job gracefully");
        active.handle.cancel();
        if (killAfterMs > 0) this.killAfter(id, active, killAfterMs);
    }

    private killAfter(id: string, active: Active, ms: number): void {
        clearTimeout(active.killTimer);
        active.killTimer = setTimeout(() => {
            this.deps.logger.warn({ jobId: id, graceMs: ms }, "job still running after the grace period; killing its process group");
            void this.record.event(id, "forceKill", { afterMs: ms });
            active.handle.kill();
        }, ms);
    }

    /**
     * After a restart: settles the jobs the dead process was running (their orphaned workers
     * reaped first) and lists the queued ones to line up again (jobs/restart.ts).
     */
    recover(): Promise<{ interrupted: Job[]; requeued: Job[] }> {
        return this.restart.recover();
    }

    /** Failover: settles the running jobs of instances that stopped answering (jobs/restart.ts). */
    interruptAbandoned(instances: readonly string[], why: string): Promise<Job[]> {
        return this.restart.interruptAbandoned(instances, why);
    }

    /**
     * This instance was declared gone while it still ran jobs (it was paused, or cut off): the
     * others have interrupted them, and another job may own their stacks now. Their process
     * trees are killed at once, before the instance takes any work again; nothing of theirs is
     * recorded (the interruption stands).
     */
    fenceOut(): number {
        const killed = [...this.active.entries()];
        for (const [id, active] of killed) {
            active.stopping ??= { state: "interrupted", reason: "This instance was declared gone by the others; its job was interrupted and its processes killed." };
            clearTimeout(active.killTimer);
            this.deps.logger.warn({ jobId: id }, "fenced out: killing the job's process tree");
            active.handle.kill();
        }
        return killed.length;
    }

    /** Re-admits stored queued jobs (after `recover` and any lock repair). */
    async resume(jobs: Job[]): Promise<void> {
        for (const job of jobs) await this.enqueue(job);
    }

    private async enqueue(job: Job): Promise<void> {
        for (const old of await this.scheduler.enqueue(job)) {
            await this.settle(old.id, "superseded", { error: { code: "SUPERSEDED", message: `Superseded by the newer preview ${job.id}.` } }, "queued");
        }
    }

    queueDepth(): { running: number; waiting: number } {
        return this.scheduler.depth();
    }

    /**
     * Stops taking work and lets running jobs finish for `graceMs`; what still runs then is
     * stopped the way a cancel stops it: the resource operations in flight finish, however long
     * they take, and no new one starts, so a restart or a deploy of the service leaves no stack
     * to repair. Queued jobs stay queued (in the store, or for the other instances). Only
     * `abandon` (a second signal) kills what has not stopped.
     */
    async shutdown(graceMs: number): Promise<void> {
        this.accepting = false;
        await this.scheduler.pause();
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), graceMs)));
        const outcome = await Promise.race([this.scheduler.idle().then(() => "idle" as const), graceOver]);
        clearTimeout(timer);
        if (outcome === "timeout") {
            const running = [...this.active.entries()];
            for (const [id, active] of running) this.stop(id, active, { state: "interrupted", reason: "The service shut down while the job ran; its steps in flight finished." }, 0);
            if (running.length) this.deps.logger.warn({ jobs: running.map(([id]) => id) }, "shutting down: waiting for the in-flight steps of the running jobs to finish; a second signal abandons them");
            await this.scheduler.idle();
        }
        this.record.stop();
    }

    /**
     * A second signal while shutting down: kills every job still running, now, and says what
     * that abandons (the resource operations each cuts off, which its stack then needs repaired
     * for). Writes stop waiting for an absent database.
     */
    async abandon(): Promise<{ jobId: string; stack: string; op: Op; leavesBehind: LeavesBehind }[]> {
        this.record.stop();
        const abandoned = [];
        for (const [id, active] of [...this.active.entries()]) {
            const job = await this.getJob(id).catch(() => undefined);
            const leavesBehind = job ? await this.leavesBehind(job).catch(() => ({ inFlight: [], needsRepair: true, message: "unknown: the store did not answer" })) : { inFlight: [], needsRepair: true, message: "unknown" };
            clearTimeout(active.killTimer);
            active.stopping ??= { state: "interrupted", reason: "The service was told twice to stop; the job was killed." };
            active.handle.kill();
            abandoned.push({ jobId: id, stack: job?.stack ?? "?", op: job?.op ?? ("update" as Op), leavesBehind });
        }
        return abandoned;
    }

    /**
     * Records a job's final state, with its event, and tells the followers. With `from`, only if
     * the job is still in that state (another instance may have settled or started it): then
     * undefined when it was not, and nothing is written.
     */
    private async settle(id: string, state: JobState, result: { summary?: JobSummary; error?: { code: string; message: string } }): Promise<Job>;
    private async settle(id: string, state: JobState, result: { summary?: JobSummary; error?: { code: string; message: string } }, from: JobState): Promise<Job | undefined>;
    private async settle(id: string, state: JobState, result: { summary?: JobSummary; error?: { code: string; message: string } }, from?: JobState): Promise<Job | undefined> {
        const redacted = this.record.redactors.of(id).redactDeep(result);
        let job: Job;
        // Recorded as what happened, however long the database is away (a job that ran is never left "running").
        if (from) {
            await this.record.flush(id);
            const settled = await this.record.landed("a job's final state", () => this.deps.store.finishIf(id, from, state, redacted));
            if (!settled) return undefined;
            await this.record.event(id, "state", { state, ...(result.error ? { error: result.error } : {}) });
            job = settled;
        } else {
            void this.record.event(id, "state", { state, ...(result.error ? { error: result.error } : {}) });
            await this.record.flush(id);
            job = await this.record.landed("a job's final state", () => this.deps.store.finish(id, state, redacted));
        }
        // Cancelling until the store says otherwise, so no reader sees the job "running" meanwhile.
        this.cancelling.delete(id);
        this.record.forget(id);
        if (job.startedAt) this.deps.metrics?.jobFinished(job, (Date.parse(job.finishedAt!) - Date.parse(job.startedAt)) / 1000);
        else this.deps.metrics?.jobFinished(job, 0);
        this.emit("finished", job);
        return job;
    }

    /**
     * Settles a job this process ran. Where the others may settle it (failover), only while it is
     * still running: if this instance was silent long enough for the others to interrupt it, its
     * late result changes nothing (the interruption and the repair scan stand).
     */
    private async settleRun(id: string, state: JobState, result: { summary?: JobSummary; error?: { code: string; message: string } }): Promise<Job | undefined> {
        if (!this.cluster.failover) return this.settle(id, state, result);
        const settled = await this.settle(id, state, result, "running");
        // Interrupted by the others meanwhile, but its worker went on and finished: the record
        // stands, and says what really happened, so nobody re-runs a change that was applied.
        if (!settled && state === "succeeded") {
            await this.record.log(id, "note: this job's worker finished successfully after the job had been interrupted (its instance was taken for gone); the stack holds the completed change: refresh it before running it again");
            await this.record.event(id, "finishedAfterInterrupt", { state, instance: this.cluster.instance });
            this.deps.logger.warn({ jobId: id }, "a job interrupted by failover finished successfully here; recorded in its log");
        }
        return settled;
    }

    /** Runs one job to a final state; never throws (the queue moves on either way). */
    private async run(queued: Job): Promise<void> {
        const { store, logger } = this.deps;
        const log = logger.child({ jobId: queued.id, stack: queued.stack, op: queued.op });
        let checkout: Checkout | undefined;
        let credentials: IssuedCredentials | undefined;
        try {
            // What an update or destroy was admitted to apply: its plan, refresh and step guard.
            let approved: ApprovedPreview | undefined;
            try {
                approved = (await this.deps.guard.beforeStart(queued)) ?? undefined;
            } catch (err) {
                const e = isAppError(err) ? err : fromAutomationError(err, queued);
                await this.settle(queued.id, "failed", { error: { code: e.code, message: e.message } }, "queued");
                return;
            }
            if (await this.cancelledBefore(queued.id, "before it started")) return;
            await this.cluster.ensureLive();
            const job = await this.record.landed("a job's start", () => store.markRunning(queued.id, this.cluster.instance));
            // Cancelled or superseded by another instance while it left the queue.
            if (!job) return;
            // Recorded before anything runs: a job whose record cannot be written waits here, it does not run unrecorded.
            await this.record.event(job.id, "state", { state: "running" });
            this.deps.metrics?.jobStarted(job);
            this.emit("started", job);
            try {
                // Fetching can take a while: the job is running (and cancellable) meanwhile.
                checkout = await this.checkoutFor(job);
            } catch (err) {
                const e = isAppError(err) ? err : engineError.operationFailed(job.stack, job.op);
                if (!isAppError(err)) log.error(err as Error, "checkout failed");
                await this.settleRun(job.id, "failed", { error: { code: e.code, message: e.message } });
                return;
            }
            if (checkout && (await this.cancelledBefore(job.id, "while its pull request was checked out"))) return;
            // A pull request's code runs sandboxed, never with the service's environment.
            const pr = checkout ? this.deps.pullRequestWorker : undefined;
            if (checkout && !pr) throw new Error("pull-request checkouts need pullRequestWorker");
            // An update of a preview that saved a plan runs under that plan or not at all.
            const applied = job.op === "update" ? approved : undefined;
            if (applied?.plan) await this.cluster.fetchPlan(applied.id, this.savedPlan(applied.id));
            const planFile = this.planFileOf(job, applied);
            if (applied?.plan && !planFile) {
                const message = `The update plan of preview "${applied.id}" is gone (deleted by retention, or never stored); the update would not be bound to what was reviewed. Run a new preview and get it approved.`;
                void this.record.log(job.id, `error: ${message}`);
                await this.settleRun(job.id, "failed", { error: { code: "PLAN_MISSING", message } });
                return;
            }
            // The stack's role, assumed for this job alone: one AWS refuses runs nothing.
            try {
                credentials = await this.credentialsFor(job);
            } catch (err) {
                const e = isAppError(err) ? err : engineError.operationFailed(job.stack, job.op);
                if (!isAppError(err)) log.error(err as Error, "issuing the job's stack role failed");
                else log.warn({ code: e.code, role: (e.details as { role?: string } | undefined)?.role }, "the job's stack role could not be assumed; nothing ran");
                void this.record.log(job.id, `error: ${e.message}`);
                await this.settleRun(job.id, "failed", { error: { code: e.code, message: e.message } });
                return;
            }
            const summary = emptySummary();
            // Progress for readers, at most every 250 ms (each write is a row), and always
            // within 250 ms of the last event, so a pause in the engine shows the latest steps.
            let lastSummaryWrite = 0;
            let summaryTimer: NodeJS.Timeout | undefined;
            const writeSummary = () => {
                summaryTimer = undefined;
                lastSummaryWrite = Date.now();
                const snapshot = this.record.redactors.of(job.id).redactDeep(summary);
                void this.record.write(job.id, () => store.updateSummary(job.id, snapshot));
            };
            const handle = this.deps.startWorker(
                {
                    stackConfig: {
                        // A pull request's copy goes beside its worktree, never into it (the PR names
                        // everything there); it starts from the provider state the service keeps.
                        dir: checkout ? checkout.configDir : this.stackConfigDir,
                        keptFile: path.join(this.stackConfigDir, `Pulumi.${job.stack}.yaml`),
                        ...(checkout ? { checkoutRoot: checkout.root } : {}),
                    },
                    jobId: job.id,
                    stack: job.stack,
                    op: job.op,
                    // An update applying a preview that refreshed refreshes too, or its plan would not match.
                    options: applied?.refresh ? { ...job.options, refresh: true } : job.options,
                    projectDir: checkout?.projectDir ?? this.deps.projectDir,
                    pulumiBin: this.deps.pulumiBin,
                    policyPacks: job.op === "preview" || job.op === "update" ? this.deps.policyPacks : [],
                    stackKnown: this.knownStacks.has(job.stack),
                    ...(this.cluster.pauseLimitMs !== undefined ? { pauseLimitMs: this.cluster.pauseLimitMs } : {}),
                    ...(planFile ? { planFile } : {}),
                    ...(checkout && pr ? { sandbox: pr.sandbox(checkout, job.stack) } : {}),
                    ...(credentials ? { env: credentials.env } : {}),
                },
                pr ? pr.env : this.deps.workerEnv,
                {
                    onSecrets: (values) => this.record.redactors.learn(job.id, values),
                    onOutput: (line) => void this.record.log(job.id, line),
                    onEvent: (raw) => {
                        // The language host's debug chatter is not a change anyone watches.
                        if ((raw.diagnosticEvent as { severity?: string } | undefined)?.severity === "debug") return;
                        const event = compactEvent(raw);
                        const diagnostic = raw.diagnosticEvent as { severity?: string; message?: string } | undefined;
                        if (diagnostic?.severity === "error" && diagnostic.message?.trim()) {
                            const current = this.active.get(job.id);
                            if (current && current.firstError === undefined) current.firstError = diagnostic.message;
                        }
                        void this.record.event(job.id, eventType(event), event);
                        foldEvent(summary, event, job.op);
                        const since = Date.now() - lastSummaryWrite;
                        if (since > 250) writeSummary();
                        else summaryTimer ??= setTimeout(writeSummary, 250 - since);
                        const verdict = approved && this.guardVerdict(approved, event, log);
                        const active = this.active.get(job.id);
                        if (verdict && active) this.stop(job.id, active, { state: "stopped-by-guard", reason: verdict });
                    },
                },
            );
            const active: Active = { handle };
            this.active.set(job.id, active);
            // A stranger's program holds a worker slot and its stack while it runs: not for ever.
            const limit = pr?.timeoutMs;
            const overtime = limit
                ? setTimeout(() => this.stop(job.id, active, { state: "stopped-by-guard", reason: `The pull request's preview ran longer than ${limit / 1000} s (AUTOMATION_PR_PREVIEW_TIMEOUT_MS) and was stopped.` }, PR_STOP_GRACE_MS), limit)
                : undefined;
            void this.record.write(job.id, () => store.setWorkerPid(job.id, handle.pid));
            log.info({ pid: handle.pid }, "job started");
            const outcome = await handle.done;
            clearTimeout(overtime);
            // An update's fetched copy of its preview's plan.
            if (applied?.plan) this.cluster.releasePlan(this.savedPlan(applied.id));
            clearTimeout(active.killTimer);
            // The final summary is written when the job settles.
            clearTimeout(summaryTimer);
            this.active.delete(job.id);
            await this.finishRun(job, outcome, summary, active, log);
        } catch (err) {
            log.error(err as Error, "job runner failed");
            const e = engineError.operationFailed(queued.stack, queued.op);
            // Never throws: the queue moves on either way, and a job that cannot be recorded now
            // is settled by the next start's recovery.
            await this.settle(queued.id, "failed", { error: { code: e.code, message: e.message } }).catch((again: unknown) => log.error({ err: again }, "recording the job's failure failed"));
        } finally {
            // The job's processes are gone: its endpoint token opens nothing any more.
            credentials?.revoke();
            await checkout?.release().catch((err: unknown) => log.warn({ err }, "removing the job's checkout failed"));
        }
    }

    /**
     * The job's session of its stack's role (read or deploy by what the job does), named after
     * the job and who asked; its endpoint token and the keys it serves are secrets of the job's log.
     */
    private async credentialsFor(job: Job): Promise<IssuedCredentials | undefined> {
        const issuer = this.deps.stackCredentials;
        if (!issuer) return undefined;
        const issued = await issuer.issue({
            stack: job.stack,
            access: accessOf(job.op, job.options),
            session: jobSessionName(job),
            requestedBy: job.triggeredBy,
            onSecrets: (values) => this.record.redactors.learn(job.id, values),
        });
        this.record.redactors.learn(job.id, issued.secrets);
        return issued;
    }

    /** The pull-request head a job runs on, checked out; undefined for the service's own checkout. */
    private async checkoutFor(job: Job): Promise<Checkout | undefined> {
        if (!job.options.source) return undefined;
        // A job queued before a restart that turned webhooks off.
        if (!this.deps.checkouts) throw noCheckouts();
        return this.deps.checkouts.prepare(job.id, job.options.source, (line) => void this.record.log(job.id, line));
    }

    /** A preview in mode "plan" saves its update plan; an update of such a preview applies it. */
    private get stackConfigDir(): string {
        return this.deps.stackConfigDir ?? path.join(this.deps.plansDir, "..", "stack-config");
    }

    /** Where the update plan of preview `previewId` is (or is fetched to) on this instance. */
    private savedPlan(previewId: string): string {
        return path.join(this.deps.plansDir, `${previewId}.json`);
    }

    /** The plan a preview in mode "plan" saves, or the saved plan an update of such a preview applies (if it is here). */
    private planFileOf(job: Job, applied?: ApprovedPreview): string | undefined {
        if (job.op === "preview" && job.options.mode === "plan") return this.savedPlan(job.id);
        const saved = job.op === "update" && applied?.plan ? this.savedPlan(applied.id) : undefined;
        return saved && fs.existsSync(saved) ? saved : undefined;
    }

    /** Settles a job cancelled while it had no worker yet; true when it was. */
    private async cancelledBefore(id: string, when: string): Promise<boolean> {
        const by = this.cancelledBeforeStart.get(id);
        if (by === undefined) return false;
        this.cancelledBeforeStart.delete(id);
        await this.settle(id, "cancelled", { error: { code: "CANCELLED", message: `Cancelled by ${by} ${when}.` } }, when === "before it started" ? "queued" : "running");
        return true;
    }

    private guardVerdict(approved: ApprovedPreview, event: Record<string, unknown>, log: Logger): string | undefined {
        try {
            const v = approved.onEvent(event);
            if (v === "stop") return "A guard stopped the job.";
            if (v && typeof v === "object") return v.stop;
        } catch (err) {
            // A broken guard must stop the job rather than let an unchecked update run on.
            log.error(err as Error, "guard threw; stopping the job");
            return "A guard failed while checking the job's events.";
        }
        return undefined;
    }

    private async finishRun(job: Job, outcome: WorkerOutcome, summary: JobSummary, active: Active, log: Logger): Promise<void> {
        const stopping = active.stopping;
        if (outcome.kind === "refused") {
            log.warn({ code: outcome.code }, "job refused before its worker started");
            void this.record.log(job.id, `error: ${outcome.message}`);
            await this.settleRun(job.id, "failed", { error: { code: outcome.code, message: outcome.message } });
            return;
        }
        if (outcome.kind === "succeeded" || summary.steps.length > 0) this.knownStacks.add(job.stack);
        if (outcome.kind === "succeeded" && !stopping) {
            log.info({ counts: summary.counts }, "job succeeded");
            // Kept for every instance before the preview counts as succeeded (and can be approved).
            const plan = this.planFileOf(job);
            if (plan && job.op === "preview") await this.record.landed("a preview's update plan", () => this.cluster.keepPlan(job.id, plan));
            await this.settleRun(job.id, "succeeded", { summary: { ...summary, ...(outcome.outputs ? { outputs: outcome.outputs } : {}) } });
            return;
        }
        // The engine's message may hold this job's secrets, which only the store's per-job
        // redactor knows: it goes to the job log, the service log gets its kind only.
        if (outcome.kind === "failed") log.warn({ name: outcome.name }, "job failed; the engine's message is in the job log");
        if (outcome.kind === "crashed") log.warn({ code: outcome.code, signal: outcome.signal }, "worker ended without a result");
        // The CLI's stdout is in the log already, line by line; add only what it wrote to stderr.
        if (outcome.kind === "failed") {
            const stderr = commandStderr(outcome.message);
            void this.record.log(job.id, stderr !== undefined ? `error: ${outcome.name}` : `error: ${outcome.name}: ${outcome.message}`);
            // Its stderr repeats what the CLI printed (the command runner quotes its output): keep the rest.
            await this.record.flush(job.id);
            const printed = new Set((await this.deps.store.logPage(job.id, 0, 20_000)).lines.map((l) => l.text));
            const redactor = this.record.redactors.of(job.id);
            for (const line of stderr?.split("\n") ?? []) if (line.trim() && !printed.has(redactor.redact(line))) void this.record.log(job.id, line);
        }
        if (stopping) {
            if (outcome.kind === "succeeded" && stopping.state !== "stopped-by-guard") {
                // The engine finished before the stop landed: the work is done, so say so.
                await this.settleRun(job.id, "succeeded", { summary: { ...summary, ...(outcome.outputs ? { outputs: outcome.outputs } : {}) } });
                return;
            }
            const code = stopping.state === "cancelled" ? "CANCELLED" : stopping.state === "interrupted" ? "INTERRUPTED" : "STOPPED_BY_GUARD";
            await this.settleRun(job.id, stopping.state, {
                summary: { ...summary, ...(stopping.state === "stopped-by-guard" ? { stopReason: stopping.reason } : {}) },
                error: { code, message: stopping.reason ?? code },
            });
            return;
        }
        let error: AppError;
        if (summary.policyViolations.some((v) => v.enforcementLevel === "mandatory")) error = engineError.policyViolation(job.stack, job.op);
        else if (outcome.kind === "crashed") error = engineError.workerCrashed(outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.code}`);
        else {
            error = fromAutomationError({ name: outcome.kind === "failed" ? outcome.name : "Error", message: outcome.kind === "failed" ? outcome.message : "" }, job);
            // A plain failure says why, in the engine's words, with the remedy when the cause is known.
            if (error.code === "OPERATION_FAILED") error = describeFailure(job, active.firstError, outcome.kind === "failed" ? outcome.message : "");
        }
        const message = this.record.redactors.of(job.id).redact(error.message);
        await this.settleRun(job.id, "failed", { summary, error: { code: error.code, message } });
    }
}
