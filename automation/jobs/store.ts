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
 * the job service. Synchronous, as SQLite is: a networked implementation makes this async.
 */
export interface JobStore {
    createJob(input: NewJob): Job;
    getJob(id: string): Job | undefined;
    listJobs(filter?: ListJobsFilter): Job[];
    /** Jobs in any of `states`, oldest first: what a restarted service must resume or settle. */
    jobsInStates(states: readonly JobState[]): Job[];
    /** The newest job of `stack` matching `filter`. */
    lastJob(stack: string, filter?: LastJobFilter): Job | undefined;
    markRunning(id: string, now?: Date): Job;
    /** Settles a job; the caller checks it is not final yet. */
    finish(id: string, state: JobState, result?: { summary?: JobSummary; error?: { code: string; message: string } }, now?: Date): Job;
    /** The summary of a running job as it grows, so readers see progress. */
    updateSummary(id: string, summary: JobSummary): void;
    /** The pid (= process group) of a running job's worker, so a restarted service can stop orphans. */
    setWorkerPid(id: string, pid: number): void;
    workerPid(id: string): number | undefined;
    appendEvent(jobId: string, type: string, data: unknown, now?: Date): StoredEvent;
    eventsAfter(jobId: string, afterSeq: number, limit?: number): StoredEvent[];
    appendLog(jobId: string, text: string, now?: Date): void;
    /** One page of the log after `cursor` (a line number; 0 = from the start). */
    logPage(jobId: string, cursor: number, limit?: number): { lines: LogLine[]; nextCursor: number };
    close(): void;
}
