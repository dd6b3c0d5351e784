import { JobQueue } from "./queue";
import type { Job, JobOptions } from "./types";

/**
 * Decides when each stored job runs: one running job per stack, stacks in arrival order, a limit
 * on the line of each stack. Two implementations: `localScheduler` (this process's memory: the
 * embedded default) and the shared queue in Postgres (jobs/sharedQueue.ts: every instance's
 * workers take from one line). Recording states is the job service's business, not the
 * scheduler's.
 */
export interface JobScheduler {
    /**
     * Runs `work` alone for `stack` (across every instance for a shared queue): the last
     * admission check, storing the job and lining it up happen as one step, so two submits at
     * once can never both take the last place in a line.
     */
    exclusive<T>(stack: string, work: () => Promise<T>): Promise<T>;
    /** Throws the 409 a new job would get (STACK_BUSY, QUEUE_FULL). */
    checkAdmission(stack: string, op: Job["op"], noQueue: boolean | undefined, options: JobOptions): Promise<void>;
    /** Lines up a stored job; returns the waiting previews it replaces, which the caller settles. */
    enqueue(job: Job): Promise<Job[]>;
    /**
     * Takes a waiting job off the line: true when it was waiting (the caller settles it, only if
     * it is still queued then), false when it is not waiting (running, finished or unknown).
     */
    remove(id: string): Promise<boolean>;
    /** The stack's running job and the number of jobs waiting on it. */
    line(stack: string): Promise<{ running?: Job; waiting: number }>;
    /** Jobs this process runs, and jobs waiting (everywhere, as last counted). */
    depth(): { running: number; waiting: number };
    /** Stops taking waiting jobs (shutdown); they stay queued for the next start or another instance. */
    pause(): Promise<void>;
    /** Resolves when this process runs no job. */
    idle(): Promise<void>;
}

/** One at a time per stack within this process: each call waits for the one before it. */
export function stackMutex(): <T>(stack: string, work: () => Promise<T>) => Promise<T> {
    const tails = new Map<string, Promise<unknown>>();
    return <T>(stack: string, work: () => Promise<T>): Promise<T> => {
        const before = tails.get(stack) ?? Promise.resolve();
        const mine = before.then(work, work);
        const tail = mine.catch(() => undefined);
        tails.set(stack, tail);
        void tail.then(() => {
            if (tails.get(stack) === tail) tails.delete(stack);
        });
        return mine;
    };
}

/** Runs one job to a final state; never throws. */
export type RunJob = (job: Job) => Promise<void>;

/** The in-process scheduler of the embedded service (one process, SQLite). */
export function localScheduler(options: { concurrency: number; queueLimit: number }, run: RunJob): JobScheduler {
    const queue = new JobQueue({ ...options, run });
    const exclusive = stackMutex();
    return {
        exclusive,
        async checkAdmission(stack, op, noQueue, opts) {
            queue.checkAdmission(stack, op, noQueue, opts);
        },
        async enqueue(job) {
            return queue.enqueue(job);
        },
        async remove(id) {
            return queue.remove(id);
        },
        async line(stack) {
            return { running: queue.runningOn(stack), waiting: queue.waitingOn(stack).length };
        },
        depth: () => ({ running: queue.runningCount, waiting: queue.waitingCount }),
        async pause() {
            queue.pause();
        },
        idle: () => queue.idle(),
    };
}
