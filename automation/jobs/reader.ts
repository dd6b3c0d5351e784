import { jobNotFound } from "../errors";
import type { JobStore, ListJobsFilter } from "./store";
import type { Job, LogLine, StoredEvent } from "./types";

/**
 * The read side of the jobs: what every other module may know of them. The approvals read
 * previews through one of these, built before the job service (which needs the approvals in its
 * admission guard); the job service is one too, and adds the writes.
 */
export class JobReader {
    constructor(protected readonly store: JobStore) {}

    async getJob(id: string): Promise<Job> {
        const job = await this.store.getJob(id);
        if (!job) throw jobNotFound(id);
        return job;
    }

    /** A job or nothing, for callers that check existence themselves. */
    findJob(id: string): Promise<Job | undefined> {
        return this.store.getJob(id);
    }

    listJobs(filter: ListJobsFilter): Promise<Job[]> {
        return this.store.listJobs(filter);
    }

    /** The newest job of `stack` in one of the filter's states and operations. */
    lastJob(stack: string, filter: Parameters<JobStore["lastJob"]>[1]): Promise<Job | undefined> {
        return this.store.lastJob(stack, filter);
    }

    /** The newest succeeded preview of the service's own checkout: the only one that can be approved. */
    latestPreview(stack: string): Promise<Job | undefined> {
        return this.store.lastJob(stack, { states: ["succeeded"], ops: ["preview"], ownCheckoutOnly: true });
    }

    logPage(id: string, cursor = 0, limit = 200): Promise<{ lines: LogLine[]; nextCursor: number }> {
        return this.store.logPage(id, cursor, limit);
    }

    eventsAfter(id: string, afterSeq: number, limit = 500): Promise<StoredEvent[]> {
        return this.store.eventsAfter(id, afterSeq, limit);
    }
}
