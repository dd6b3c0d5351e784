import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import * as fs from "node:fs";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Redactor, RedactorOptions } from "../security/redact";
import { Job, JobOptions, JobState, JobSummary, LogLine, Op, StoredEvent } from "./types";

export type RedactorFactory = (options: RedactorOptions) => Redactor;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    -- insertion order; createdAt alone cannot order jobs created in the same millisecond
    n INTEGER NOT NULL UNIQUE,
    stack TEXT NOT NULL,
    op TEXT NOT NULL,
    state TEXT NOT NULL,
    triggered_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    options TEXT NOT NULL,
    summary TEXT,
    error TEXT,
    -- the worker's pid (= its process group) while running, so a restarted service can find orphans
    worker_pid INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_stack ON jobs (stack, n);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, n);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_lines (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
`;

interface JobRow {
    id: string;
    stack: string;
    op: string;
    state: string;
    triggered_by: string;
    created_at: string;
    started_at: string | null;
    finished_at: string | null;
    options: string;
    summary: string | null;
    error: string | null;
    worker_pid: number | null;
}

const toJob = (r: JobRow): Job => ({
    id: r.id,
    stack: r.stack,
    op: r.op as Op,
    state: r.state as JobState,
    triggeredBy: r.triggered_by,
    createdAt: r.created_at,
    ...(r.started_at ? { startedAt: r.started_at } : {}),
    ...(r.finished_at ? { finishedAt: r.finished_at } : {}),
    options: JSON.parse(r.options) as JobOptions,
    ...(r.summary ? { summary: JSON.parse(r.summary) as JobSummary } : {}),
    ...(r.error ? { error: JSON.parse(r.error) as Job["error"] } : {}),
});

export interface ListJobsFilter {
    stack?: string;
    state?: JobState;
    /** Newest first; at most this many. @default 50 */
    limit?: number;
}

/**
 * The durable record of jobs, their engine events and their log, in one SQLite file (WAL, so
 * readers never wait for the writer). It is also the ONE place job data is redacted: every
 * string written here passes through the job's redactor, built from the job's secret values
 * (`useSecrets`) and the credential variables of the environment.
 *
 * Other modules (SAFE's approvals and audit) may keep their own tables in the same file via
 * `database`; they must not write the three tables above.
 */
export class JobStore {
    readonly database: DatabaseSync;
    private readonly changes = new EventEmitter();
    private readonly redactors = new Map<string, Redactor>();
    private readonly seqs = new Map<string, { events: number; log: number }>();
    private n: number;

    constructor(
        file: string,
        private readonly redactorFactory: RedactorFactory,
        private readonly env: Readonly<Record<string, string | undefined>> = process.env,
    ) {
        if (file !== ":memory:") fs.mkdirSync(path.dirname(file), { recursive: true });
        this.database = new DatabaseSync(file);
        this.database.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
        this.database.exec(SCHEMA);
        // Stores created before worker_pid existed gain the column in place.
        const columns = this.database.prepare("PRAGMA table_info(jobs)").all() as { name: string }[];
        if (!columns.some((c) => c.name === "worker_pid")) this.database.exec("ALTER TABLE jobs ADD COLUMN worker_pid INTEGER");
        this.n = (this.database.prepare("SELECT coalesce(max(n), 0) AS n FROM jobs").get() as { n: number }).n;
        // Many SSE clients may watch one job; each adds one listener.
        this.changes.setMaxListeners(0);
    }

    close(): void {
        this.database.close();
    }

    /** Teaches the job's redactor the job's secret config values and secret outputs. */
    useSecrets(jobId: string, secrets: readonly string[]): void {
        const current = this.redactors.get(jobId);
        this.redactors.set(jobId, current ? current.extend(secrets) : this.redactorFactory({ secrets, env: this.env }));
    }

    private redactor(jobId: string): Redactor {
        let r = this.redactors.get(jobId);
        if (!r) {
            r = this.redactorFactory({ env: this.env });
            this.redactors.set(jobId, r);
        }
        return r;
    }

    createJob(input: { stack: string; op: Op; triggeredBy: string; options?: JobOptions; now?: Date }): Job {
        const id = randomUUID();
        const r = this.redactor(id);
        const createdAt = (input.now ?? new Date()).toISOString();
        this.n += 1;
        this.database
            .prepare("INSERT INTO jobs (id, n, stack, op, state, triggered_by, created_at, options) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)")
            .run(id, this.n, input.stack, input.op, r.redact(input.triggeredBy), createdAt, JSON.stringify(r.redactDeep(input.options ?? {})));
        const job = this.getJob(id)!;
        this.changed(job);
        return job;
    }

    getJob(id: string): Job | undefined {
        const row = this.database.prepare("SELECT * FROM jobs WHERE id = ?").get(id) as JobRow | undefined;
        return row ? toJob(row) : undefined;
    }

    listJobs(filter: ListJobsFilter = {}): Job[] {
        const where: string[] = [];
        const params: string[] = [];
        if (filter.stack) {
            where.push("stack = ?");
            params.push(filter.stack);
        }
        if (filter.state) {
            where.push("state = ?");
            params.push(filter.state);
        }
        const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY n DESC LIMIT ${Math.max(1, Math.min(filter.limit ?? 50, 500))}`;
        return (this.database.prepare(sql).all(...params) as unknown as JobRow[]).map(toJob);
    }

    /** Jobs in any of `states`, oldest first: what a restarted service must resume or settle. */
    jobsInStates(states: readonly JobState[]): Job[] {
        const marks = states.map(() => "?").join(", ");
        return (this.database.prepare(`SELECT * FROM jobs WHERE state IN (${marks}) ORDER BY n ASC`).all(...states) as unknown as JobRow[]).map(toJob);
    }

    /** The newest job of `stack` in one of `states` (e.g. the last finished one). */
    /** The newest job of `stack`, optionally only in `states`, of `ops`, and of the service's own checkout. */
    lastJob(stack: string, states?: readonly JobState[], ops?: readonly Op[], ownCheckoutOnly = false): Job | undefined {
        const where = ["stack = ?"];
        if (ownCheckoutOnly) where.push("json_extract(options, '$.source') IS NULL");
        const params: string[] = [stack];
        if (states?.length) {
            where.push(`state IN (${states.map(() => "?").join(", ")})`);
            params.push(...states);
        }
        if (ops?.length) {
            where.push(`op IN (${ops.map(() => "?").join(", ")})`);
            params.push(...ops);
        }
        const row = this.database.prepare(`SELECT * FROM jobs WHERE ${where.join(" AND ")} ORDER BY n DESC LIMIT 1`).get(...params) as JobRow | undefined;
        return row ? toJob(row) : undefined;
    }

    /** The pid of a running job's worker; a restarted service stops orphans by it. */
    workerPid(id: string): number | undefined {
        const row = this.database.prepare("SELECT worker_pid FROM jobs WHERE id = ?").get(id) as { worker_pid: number | null } | undefined;
        return row?.worker_pid ?? undefined;
    }

    setWorkerPid(id: string, pid: number): void {
        this.database.prepare("UPDATE jobs SET worker_pid = ? WHERE id = ?").run(pid, id);
    }

    markRunning(id: string, now = new Date()): Job {
        this.database.prepare("UPDATE jobs SET state = 'running', started_at = ? WHERE id = ?").run(now.toISOString(), id);
        const job = this.getJob(id)!;
        this.changed(job);
        return job;
    }

    /** Settles a job. Idempotent for an already final job only if the caller checks first. */
    finish(id: string, state: JobState, result: { summary?: JobSummary; error?: { code: string; message: string } } = {}, now = new Date()): Job {
        const r = this.redactor(id);
        this.database
            .prepare("UPDATE jobs SET state = ?, finished_at = ?, summary = coalesce(?, summary), error = ? WHERE id = ?")
            .run(
                state,
                now.toISOString(),
                result.summary ? JSON.stringify(r.redactDeep(result.summary)) : null,
                result.error ? JSON.stringify(r.redactDeep(result.error)) : null,
                id,
            );
        const job = this.getJob(id)!;
        this.changed(job);
        this.redactors.delete(id);
        this.seqs.delete(id);
        return job;
    }

    /** Records the summary of a running job as it grows, so readers see progress. */
    updateSummary(id: string, summary: JobSummary): void {
        this.database.prepare("UPDATE jobs SET summary = ? WHERE id = ?").run(JSON.stringify(this.redactor(id).redactDeep(summary)), id);
    }

    private nextSeq(jobId: string, kind: "events" | "log"): number {
        let s = this.seqs.get(jobId);
        if (!s) {
            const ev = this.database.prepare("SELECT coalesce(max(seq), 0) AS m FROM events WHERE job_id = ?").get(jobId) as { m: number };
            const lg = this.database.prepare("SELECT coalesce(max(seq), 0) AS m FROM log_lines WHERE job_id = ?").get(jobId) as { m: number };
            s = { events: ev.m, log: lg.m };
            this.seqs.set(jobId, s);
        }
        s[kind] += 1;
        return s[kind];
    }

    appendEvent(jobId: string, type: string, data: unknown, now = new Date()): StoredEvent {
        const seq = this.nextSeq(jobId, "events");
        const safe = this.redactor(jobId).redactDeep(data);
        const at = now.toISOString();
        this.database.prepare("INSERT INTO events (job_id, seq, type, at, data) VALUES (?, ?, ?, ?, ?)").run(jobId, seq, type, at, JSON.stringify(safe ?? null));
        const event = { seq, jobId, type, at, data: safe };
        this.changes.emit(jobId, event);
        return event;
    }

    eventsAfter(jobId: string, afterSeq: number, limit = 500): StoredEvent[] {
        const rows = this.database
            .prepare("SELECT seq, type, at, data FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?")
            .all(jobId, afterSeq, limit) as { seq: number; type: string; at: string; data: string }[];
        return rows.map((r) => ({ seq: r.seq, jobId, type: r.type, at: r.at, data: JSON.parse(r.data) }));
    }

    appendLog(jobId: string, text: string, now = new Date()): void {
        const seq = this.nextSeq(jobId, "log");
        this.database.prepare("INSERT INTO log_lines (job_id, seq, at, text) VALUES (?, ?, ?, ?)").run(jobId, seq, now.toISOString(), this.redactor(jobId).redact(text));
    }

    /** One page of the log after `cursor` (a line number; 0 = from the start). */
    logPage(jobId: string, cursor: number, limit = 200): { lines: LogLine[]; nextCursor: number } {
        const lines = this.database
            .prepare("SELECT seq, at, text FROM log_lines WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?")
            .all(jobId, cursor, limit) as unknown as LogLine[];
        return { lines: lines.map((l) => ({ seq: l.seq, at: l.at, text: l.text })), nextCursor: lines.length ? lines[lines.length - 1].seq : cursor };
    }

    /**
     * Calls `listener` for each new event of `jobId` and for each state change of any job
     * (`"job"`). Returns the unsubscribe function.
     */
    onEvent(jobId: string, listener: (e: StoredEvent) => void): () => void {
        this.changes.on(jobId, listener);
        return () => this.changes.off(jobId, listener);
    }

    onJobChange(listener: (job: Job) => void): () => void {
        this.changes.on("job", listener);
        return () => this.changes.off("job", listener);
    }

    private changed(job: Job): void {
        this.changes.emit("job", job);
    }
}
