import type { Job, JobOptions, JobState, JobSummary, LogLine, Op, StoredEvent } from "./types";

export interface ListJobsFilter {
    stack?: string;
    state?: JobState;
    /** Newest first; at most this many. @default 50 */
    limit?: number;
}

export interface LastJobFilter {
    states?: readonly JobState[];
    ops?: readonly Op[];
    /** Only jobs of the service's own checkout (no pull request's). */
    ownCheckoutOnly?: boolean;
    /** Only jobs that reached a worker (a job refused on leaving the queue never did). */
    started?: boolean;
}

export type JobResult = { summary?: JobSummary; error?: { code: string; message: string } };

/** A job as the job service hands it to the store: every string already redacted. */
export interface NewJob {
    id?: string;
    stack: string;
    op: Op;
    triggeredBy: string;
    triggeredVia: Job["triggeredVia"];
    options?: JobOptions;
    now?: Date;
}

/**
 * The durable record of jobs, their engine events and their log. The job service is its only
 * user (and its only writer, which redacts before writing); everything else reads jobs through
 * the job service. Asynchronous, so one contract fits the embedded SQLite file and a shared
 * Postgres; the job service serialises the writes of each job, so an implementation need not.
 */
export interface JobStore {
    createJob(input: NewJob): Promise<Job>;
    getJob(id: string): Promise<Job | undefined>;
    listJobs(filter?: ListJobsFilter): Promise<Job[]>;
    /** Jobs in any of `states`, oldest first: what a restarted service must resume or settle. */
    jobsInStates(states: readonly JobState[]): Promise<Job[]>;
    /** The newest job of `stack` matching `filter`. */
    lastJob(stack: string, filter?: LastJobFilter): Promise<Job | undefined>;
    /** The job `caller` created with an Idempotency-Key (`options.idempotencyKey`), if any. */
    jobOfIdempotencyKey(caller: string, key: string): Promise<Job | undefined>;
    /**
     * Claims a queued job for `instance` and marks it running; undefined when it is no longer
     * queued (another instance settled it meanwhile: cancelled, superseded).
     */
    markRunning(id: string, instance: string, now?: Date): Promise<Job | undefined>;
    /** Settles a job; the caller checks it is not final yet. */
    finish(id: string, state: JobState, result?: JobResult, now?: Date): Promise<Job>;
    /** Settles a job only if it is still in state `from`, atomically; undefined when it was not. */
    finishIf(id: string, from: JobState, state: JobState, result?: JobResult, now?: Date): Promise<Job | undefined>;
    /** Records who asked to cancel a running job (shown as `cancelling` by every instance). */
    requestCancel(id: string, by: string): Promise<void>;
    /** Running jobs claimed by any of `instances`: what failover settles when they went silent. */
    runningJobsOf(instances: readonly string[]): Promise<Job[]>;
    /** The summary of a running job as it grows, so readers see progress. */
    updateSummary(id: string, summary: JobSummary): Promise<void>;
    /** The pid (= process group) of a running job's worker, so a restarted service can stop orphans. */
    setWorkerPid(id: string, pid: number): Promise<void>;
    workerPid(id: string): Promise<number | undefined>;
    appendEvent(jobId: string, type: string, data: unknown, now?: Date): Promise<StoredEvent>;
    eventsAfter(jobId: string, afterSeq: number, limit?: number): Promise<StoredEvent[]>;
    appendLog(jobId: string, text: string, now?: Date): Promise<void>;
    /** One page of the log after `cursor` (a line number; 0 = from the start). */
    logPage(jobId: string, cursor: number, limit?: number): Promise<{ lines: LogLine[]; nextCursor: number }>;
    /**
     * Retention: deletes the engine events and log lines of the jobs that finished before
     * `before`, keeping each job's row and summary (approvals and the audit name jobs by id),
     * and everything of each stack's newest job. Returns what it deleted; frees the space.
     */
    prune(before: Date): Promise<PruneResult>;
    close(): Promise<void>;
}

export interface PruneResult {
    /** Jobs whose events and log were deleted. */
    jobs: number;
    /** Their ids (their plans go with them). */
    jobIds: string[];
    events: number;
    logLines: number;
}

/** A job's row as both stores read it: times as ISO text, the JSON columns as text. */
export interface JobRow {
    id: string;
    stack: string;
    op: string;
    state: string;
    triggered_by: string;
    /** null in SQLite files from before it was recorded: those jobs came with a token. */
    via: string | null;
    created_at: string;
    started_at: string | null;
    finished_at: string | null;
    options: string;
    summary: string | null;
    error: string | null;
    cancel_requested_by: string | null;
    instance: string | null;
}

export const jobFromRow = (r: JobRow): Job => ({
    id: r.id,
    stack: r.stack,
    op: r.op as Op,
    state: r.state as JobState,
    triggeredBy: r.triggered_by,
    triggeredVia: (r.via ?? "token") as Job["triggeredVia"],
    createdAt: r.created_at,
    ...(r.started_at ? { startedAt: r.started_at } : {}),
    ...(r.finished_at ? { finishedAt: r.finished_at } : {}),
    options: JSON.parse(r.options) as JobOptions,
    ...(r.summary ? { summary: JSON.parse(r.summary) as JobSummary } : {}),
    ...(r.error ? { error: JSON.parse(r.error) as Job["error"] } : {}),
    ...(r.cancel_requested_by && r.state === "running" ? { cancelRequestedBy: r.cancel_requested_by } : {}),
    ...(r.instance ? { instance: r.instance } : {}),
});
