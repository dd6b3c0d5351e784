import { EventEmitter } from "node:events";
import { Logger as GraphileLogger, makeWorkerUtils, run, runMigrations, type Runner, type WorkerUtils } from "graphile-worker";
import { Client, type Pool } from "pg";
import type { Logger } from "../logger";
import { untilItLands } from "../storage/retry";
import { checkLine, supersededBy } from "./queue";
import { stackMutex, type JobScheduler, type RunJob } from "./scheduler";
import type { JobStore } from "./store";
import type { Job } from "./types";

const TASK = "automation.run";
/** The first key of the stacks' admission locks (the second is the stack's name, hashed). */
const STACK_LOCK = 7_130_003;

export interface SharedQueueOptions {
    pool: Pool;
    /** The database's URL, for the connection that holds the stacks' admission locks. */
    url: string;
    store: JobStore;
    /** Jobs this instance runs at once. */
    concurrency: number;
    /** Jobs that may wait per stack, counted across every instance. */
    queueLimit: number;
    logger: Logger;
    /** How often idle workers look for jobs LISTEN/NOTIFY did not announce (those unlocked by a failover). @default 1000 */
    pollIntervalMs?: number;
}

/**
 * The queue every service instance on one database takes jobs from, kept by graphile-worker
 * (Postgres, SKIP LOCKED claiming, LISTEN/NOTIFY pickup). Each job of ours is one graphile job
 * in the named queue `stack:<name>`: graphile runs the jobs of one named queue one at a time,
 * in order, across all workers, which is our per-stack FIFO with one running job per stack.
 *
 * What graphile-worker does not know is built here, on the job store, which stays the record:
 * the line's limits (counted from the store), superseding a waiting preview (settled in the
 * store; its graphile job then finds it no longer queued and ends), and cancelling a waiting
 * job (the same). Graphile never retries (maxAttempts 1): a job whose instance died is
 * `interrupted` by the failover, never run twice; the failover then unlocks the dead
 * instance's queues with forceUnlockWorkers, and the stack's next job runs elsewhere.
 */
export class SharedQueue {
    private runner?: Runner;
    private stopping?: Promise<void>;
    private poolId?: string;
    private runningHere = 0;
    private waitingCount = 0;
    private readonly settled: Array<() => void> = [];
    private countTimer?: NodeJS.Timeout;

    private constructor(
        private readonly o: SharedQueueOptions,
        private readonly utils: WorkerUtils,
    ) {}

    /** Installs or upgrades graphile-worker's schema (concurrent instances wait on its lock). */
    static async open(o: SharedQueueOptions): Promise<SharedQueue> {
        const logger = graphileLogger(o.logger);
        await runMigrations({ pgPool: o.pool, logger });
        return new SharedQueue(o, await makeWorkerUtils({ pgPool: o.pool, logger }));
    }

    /** The scheduler the job service uses; `run` runs one of our jobs to its end. */
    scheduler(runJob: RunJob): JobScheduler {
        this.runJob = runJob;
        const { store, queueLimit } = this.o;
        const local = stackMutex();
        return {
            // One submit per stack in this process, and the stack's advisory lock across instances.
            exclusive: (stack, work) => local(stack, () => this.withStackLock(stack, work)),
            checkAdmission: async (stack, op, noQueue, options) => {
                const [running, line] = await Promise.all([store.lastJob(stack, { states: ["running"] }), this.waitingOn(stack)]);
                checkLine({ stack, op, noQueue, options, running: running !== undefined, line, queueLimit });
            },
            enqueue: async (job) => {
                const superseded = supersededBy(job, await this.waitingOn(job.stack));
                await this.utils.addJob(TASK, { jobId: job.id }, { queueName: `stack:${job.stack}`, jobKey: job.id, maxAttempts: 1 });
                for (const old of superseded) await this.removeWaiting(old.id);
                return superseded;
            },
            remove: async (id) => {
                const job = await store.getJob(id);
                if (job?.state !== "queued") return false;
                // Only an unlocked graphile job is removed; one a worker just took finds ours settled and ends.
                await this.removeWaiting(id);
                return true;
            },
            line: async (stack) => {
                const [running, waiting] = await Promise.all([store.lastJob(stack, { states: ["running"] }), this.waitingOn(stack)]);
                return { ...(running ? { running } : {}), waiting: waiting.length };
            },
            depth: () => ({ running: this.runningHere, waiting: this.waitingCount }),
            pause: async () => {
                this.stopping ??= this.runner?.stop().catch(() => undefined);
            },
            idle: () => (this.runningHere === 0 ? Promise.resolve() : new Promise<void>((r) => this.settled.push(r))),
        };
    }

    private runJob: RunJob = async () => undefined;
    /** A connection of its own for the stacks' advisory locks (never one of the pool's, which the locked work needs). */
    private lockClient?: Promise<Client>;

    private async withStackLock<T>(stack: string, work: () => Promise<T>): Promise<T> {
        this.lockClient ??= (async () => {
            const c = new Client({ connectionString: this.o.url });
            c.on("error", () => (this.lockClient = undefined));
            await c.connect();
            return c;
        })();
        // A connection that could not be made is tried again by the next submit.
        this.lockClient.catch(() => (this.lockClient = undefined));
        const client = await this.lockClient;
        // Try, never wait inside Postgres: one connection serves every stack, and a blocked
        // pg_advisory_lock would hold up this instance's unlocks behind it (two instances would
        // then wait on each other). The holder only stores a job, so the wait is milliseconds.
        for (let delay = 5; !(await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok", [STACK_LOCK, stack])).rows[0].ok; delay = Math.min(delay * 2, 100)) {
            await new Promise((r) => setTimeout(r, delay));
        }
        try {
            return await work();
        } finally {
            await client.query("SELECT pg_advisory_unlock($1, hashtext($2))", [STACK_LOCK, stack]).catch(() => undefined);
        }
    }

    /** Drops a job's waiting graphile job (graphile keeps one a worker holds: that one finds ours settled). */
    private async removeWaiting(jobId: string): Promise<void> {
        await this.o.pool.query("SELECT graphile_worker.remove_job($1)", [jobId]).catch(() => undefined);
    }

    private async waitingOn(stack: string): Promise<Job[]> {
        return (await this.o.store.listJobs({ stack, state: "queued", limit: 500 })).reverse();
    }

    /** Starts this instance's workers; resolves once they listen for jobs. */
    async start(): Promise<void> {
        const events = new EventEmitter() as NonNullable<Parameters<typeof run>[0]["events"]>;
        events.on("pool:create", ({ workerPool }) => (this.poolId = workerPool.id));
        this.runner = await run({
            pgPool: this.o.pool,
            concurrency: this.o.concurrency,
            noHandleSignals: true,
            pollInterval: this.o.pollIntervalMs ?? 1000,
            logger: graphileLogger(this.o.logger),
            events,
            taskList: {
                [TASK]: async (payload) => {
                    const id = (payload as { jobId?: unknown }).jobId;
                    const job = typeof id === "string" ? await this.landed(() => this.o.store.getJob(id)) : undefined;
                    // Cancelled or superseded while it waited: nothing to run.
                    if (job?.state !== "queued") return;
                    this.runningHere++;
                    try {
                        await this.runJob(job);
                    } finally {
                        this.runningHere--;
                        if (this.runningHere === 0) this.settled.splice(0).forEach((f) => f());
                    }
                    // graphile-worker completes the job as this returns, without awaiting or catching
                    // it: a database away at that moment is an unhandled rejection. Return once it answers.
                    await this.landed(() => this.o.pool.query("SELECT 1"));
                },
            },
        });
        const count = () =>
            void this.o.store.listJobs({ state: "queued", limit: 500 }).then(
                (jobs) => (this.waitingCount = jobs.length),
                () => undefined,
            );
        count();
        this.countTimer = setInterval(count, 5000);
        this.countTimer.unref();
    }

    /** Waits out a database that is away (storage/retry.ts), as the job path does. */
    private landed<T>(work: () => Promise<T>): Promise<T> {
        return untilItLands("the shared queue's database", work, { logger: this.o.logger, stopped: () => this.stopping !== undefined && this.runningHere === 0 });
    }

    /** The id graphile-worker locks this instance's jobs and queues with (recorded with the heartbeat). */
    get workerPoolId(): string | undefined {
        return this.poolId;
    }

    /**
     * Releases the jobs and stack queues locked by dead instances' worker pools, so their stacks'
     * next jobs run, and drops the graphile jobs of `settled` (ours, already interrupted), which
     * would otherwise stay behind as permanently failed.
     */
    async unlock(workerPoolIds: readonly string[], settled: readonly string[] = []): Promise<void> {
        if (workerPoolIds.length) await this.utils.forceUnlockWorkers([...workerPoolIds]);
        for (const id of settled) await this.removeWaiting(id);
    }

    async close(): Promise<void> {
        clearInterval(this.countTimer);
        const lock = this.lockClient;
        this.lockClient = undefined;
        await (await lock?.catch(() => undefined))?.end().catch(() => undefined);
        this.stopping ??= this.runner?.stop().catch(() => undefined);
        await this.stopping;
        await this.utils.release();
    }
}

/** graphile-worker's messages in the service's log (warnings and errors; its debug chatter is dropped). */
function graphileLogger(logger: Logger): GraphileLogger {
    return new GraphileLogger(() => (level, message, meta) => {
        if (level === "error") logger.error({ ...meta, from: "graphile-worker" }, message);
        else if (level === "warning") logger.warn({ ...meta, from: "graphile-worker" }, message);
    });
}
