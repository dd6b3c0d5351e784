// What a job leaves in the store while it runs: its log lines and engine events, each redacted,
// within the job's limits, written in the order the worker printed them, and announced to the
// job's watchers (here, and through `announce` on the other instances).
import { EventEmitter } from "node:events";
import type { Logger } from "../logger";
import { untilItLands } from "../storage/retry";
import { JobRedactors } from "./redaction";
import type { JobStore } from "./store";
import type { StoredEvent } from "./types";

/** Longest log line stored; a longer one is cut with a note (a program can print anything). */
export const MAX_LOG_LINE = 8192;

/** Events the job service writes itself: never dropped, whatever the job printed. */
const OWN_EVENTS = new Set(["state", "cancelRequested", "forceKill", "finishedAfterInterrupt"]);

export interface JobRecordDeps {
    store: Pick<JobStore, "appendEvent" | "appendLog">;
    logger: Logger;
    /** Variables whose credential-named values never reach the store. */
    credentials: Readonly<Record<string, string | undefined>>;
    /** What one job may store; past it a marker says so and the rest is dropped. @default 20,000 log lines, 20,000 engine events */
    limits?: { logLines: number; events: number };
    /** A job has new stored events: tells the other instances, if any. */
    announce: (jobId: string) => void;
}

/** Writes each job's record: the one writer of its log and events, and the redactors of its secrets. */
export class JobRecord {
    readonly redactors: JobRedactors;
    private readonly streams = new EventEmitter();
    /** Log lines and engine events stored per running job, for the limits. */
    private readonly stored = new Map<string, { log: number; events: number }>();
    /**
     * Each job's pending writes, chained: its events and log lines reach the store in the order
     * the worker printed them, though the store is asynchronous and the worker does not wait.
     */
    private readonly writes = new Map<string, Promise<void>>();
    /** Set once a shutdown is over or abandoned: writes stop waiting for an absent database. */
    private stopped = false;

    constructor(private readonly deps: JobRecordDeps) {
        this.redactors = new JobRedactors(deps.credentials);
        // Many SSE clients may watch one job; each adds one listener.
        this.streams.setMaxListeners(0);
    }

    /**
     * Calls `listener` after new stored events of `jobId`: with the event when this process wrote
     * it, without one when another instance did (read them from the store). Returns the unsubscribe function.
     */
    watch(jobId: string, listener: (e?: StoredEvent) => void): () => void {
        this.streams.on(jobId, listener);
        return () => this.streams.off(jobId, listener);
    }

    /** Another instance stored events of `jobId`: its watchers here read them from the store. */
    writtenElsewhere(jobId: string): void {
        this.streams.emit(jobId);
    }

    /** Writes stop waiting for an absent database (the service has stopped). */
    stop(): void {
        this.stopped = true;
    }

    /** The job has settled: its secrets and counts are no longer needed. */
    forget(jobId: string): void {
        this.redactors.forget(jobId);
        this.stored.delete(jobId);
    }

    /** Queues a write of `jobId` behind its earlier ones; a failed write is logged, never thrown at the worker's callbacks. */
    write(jobId: string, work: () => Promise<unknown>): Promise<void> {
        // In order per job, and waited out while the database is away: a line or event is late, not lost.
        const next = (this.writes.get(jobId) ?? Promise.resolve()).then(() => this.landed("a job's log or events", work)).then(
            () => undefined,
            (err: unknown) => this.deps.logger.error({ err, jobId }, "writing the job's record failed"),
        );
        this.writes.set(jobId, next);
        return next;
    }

    /** Runs a store write until it lands (storage/retry.ts); gives up only once the service has stopped. */
    landed<T>(what: string, work: () => Promise<T>): Promise<T> {
        return untilItLands(what, work, { logger: this.deps.logger, stopped: () => this.stopped });
    }

    /** Resolves when every write of `jobId` queued so far has landed. */
    async flush(jobId: string): Promise<void> {
        for (let p = this.writes.get(jobId); p; p = this.writes.get(jobId)) {
            await p;
            if (this.writes.get(jobId) === p) {
                this.writes.delete(jobId);
                return;
            }
        }
    }

    event(jobId: string, type: string, data: unknown): Promise<void> {
        if (!OWN_EVENTS.has(type)) {
            const limit = this.deps.limits?.events ?? 20_000;
            const n = ++this.counts(jobId).events;
            if (n > limit + 1) return Promise.resolve();
            if (n === limit + 1) {
                type = "truncated";
                data = { message: `The job produced more than ${limit} engine events; the rest is not kept (the summary still counts every step).`, limit };
            }
        }
        const redacted = this.redactors.of(jobId).redactDeep(data);
        return this.write(jobId, async () => {
            this.streams.emit(jobId, await this.deps.store.appendEvent(jobId, type, redacted));
            this.deps.announce(jobId);
        });
    }

    log(jobId: string, text: string): Promise<void> {
        const limit = this.deps.limits?.logLines ?? 20_000;
        const n = ++this.counts(jobId).log;
        if (n > limit + 1) return Promise.resolve();
        if (n === limit + 1) text = `[log truncated: the job printed more than ${limit} lines; the rest is not kept]`;
        else if (text.length > MAX_LOG_LINE) text = `${text.slice(0, MAX_LOG_LINE)}…[line cut: ${text.length - MAX_LOG_LINE} more characters]`;
        const redacted = this.redactors.of(jobId).redact(text);
        return this.write(jobId, () => this.deps.store.appendLog(jobId, redacted));
    }

    private counts(jobId: string): { log: number; events: number } {
        let c = this.stored.get(jobId);
        if (!c) this.stored.set(jobId, (c = { log: 0, events: 0 }));
        return c;
    }
}
