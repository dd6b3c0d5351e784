import { queueFull, stackBusy } from "../errors";
import { Job, JobOptions, sourceKey } from "./types";

export interface JobQueueOptions {
    /** Jobs running at once across all stacks. */
    concurrency: number;
    /** Jobs that may wait per stack. */
    queueLimit: number;
    /** Runs one job to completion; the queue starts the next job of the stack when it settles. */
    run: (job: Job) => Promise<void>;
}

/**
 * The answer a new job gets from a stack's line, wherever the line is kept (this process, or the
 * shared database): STACK_BUSY for `noQueue` on a stack with work, QUEUE_FULL when the line is
 * at the limit. A preview that will supersede a waiting preview of its source does not lengthen
 * the line, so it is always admitted.
 */
export function checkLine(a: { stack: string; op: Job["op"]; noQueue?: boolean; options?: JobOptions; running: boolean; line: readonly Job[]; queueLimit: number }): void {
    if (a.noQueue && (a.running || a.line.length > 0)) throw stackBusy(a.stack);
    if (a.op === "preview" && a.line.some((j) => j.op === "preview" && sourceKey(j.options) === sourceKey(a.options ?? {}))) return;
    if (a.line.length >= a.queueLimit) throw queueFull(a.stack, a.queueLimit);
}

/** The waiting previews of `job`'s stack and source that `job` replaces. */
export function supersededBy(job: Job, waiting: readonly Job[]): Job[] {
    return job.op === "preview" ? waiting.filter((w) => w.id !== job.id && w.stack === job.stack && w.op === "preview" && sourceKey(w.options) === sourceKey(job.options)) : [];
}

/**
 * Per-stack FIFO with one running job per stack and a global limit. Waiting jobs are started in
 * arrival order across stacks, skipping stacks that are busy, so a long queue on one stack never
 * holds back another. The queue only schedules; recording states is the caller's business.
 */
export class JobQueue {
    private readonly waiting: Job[] = [];
    private readonly running = new Map<string, Job>();
    private readonly settled: Array<() => void> = [];
    private paused = false;

    constructor(private readonly options: JobQueueOptions) {}

    /**
     * Throws the 409 a new job would get: STACK_BUSY for `noQueue` on a stack with work,
     * QUEUE_FULL when the stack's line is at the limit. A preview that will supersede a waiting
     * preview does not lengthen the line, so it is always admitted.
     */
    checkAdmission(stack: string, op: Job["op"], noQueue = false, options: JobOptions = {}): void {
        checkLine({ stack, op, noQueue, options, running: this.running.has(stack), line: this.waiting.filter((j) => j.stack === stack), queueLimit: this.options.queueLimit });
    }

    /**
     * Adds a job (already recorded as queued) and returns the waiting previews of its stack that
     * a new preview replaces: only the newest preview of a stack is worth running, per source
     * (a pull request's preview never replaces one of the service's checkout, or another PR's).
     */
    enqueue(job: Job): Job[] {
        const superseded = supersededBy(job, this.waiting);
        for (const old of superseded) this.waiting.splice(this.waiting.indexOf(old), 1);
        this.waiting.push(job);
        this.pump();
        return superseded;
    }

    /** Removes a waiting job; false when it is not waiting (running, finished or unknown). */
    remove(id: string): boolean {
        const i = this.waiting.findIndex((j) => j.id === id);
        if (i < 0) return false;
        this.waiting.splice(i, 1);
        return true;
    }

    isWaiting(id: string): boolean {
        return this.waiting.some((j) => j.id === id);
    }

    runningOn(stack: string): Job | undefined {
        return this.running.get(stack);
    }

    waitingOn(stack: string): Job[] {
        return this.waiting.filter((j) => j.stack === stack);
    }

    get runningCount(): number {
        return this.running.size;
    }

    get waitingCount(): number {
        return this.waiting.length;
    }

    runningJobs(): Job[] {
        return [...this.running.values()];
    }

    /** Stops starting waiting jobs (shutdown); they stay queued in the store for the next start. */
    pause(): void {
        this.paused = true;
    }

    /** Resolves when no job is running. */
    idle(): Promise<void> {
        if (this.running.size === 0) return Promise.resolve();
        return new Promise((resolve) => this.settled.push(resolve));
    }

    private pump(): void {
        if (this.paused) return;
        for (let i = 0; i < this.waiting.length && this.running.size < this.options.concurrency; ) {
            const job = this.waiting[i];
            if (this.running.has(job.stack)) {
                i++;
                continue;
            }
            this.waiting.splice(i, 1);
            this.running.set(job.stack, job);
            // run() reports its own failures; the catch only keeps the queue alive if it throws.
            void this.options
                .run(job)
                .catch(() => undefined)
                .finally(() => {
                    this.running.delete(job.stack);
                    if (this.running.size === 0) this.settled.splice(0).forEach((f) => f());
                    this.pump();
                });
        }
    }
}
