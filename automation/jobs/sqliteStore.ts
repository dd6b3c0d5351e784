import { randomUUID } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import { openSqlite } from "../storage/sqlite";
import { jobFromRow, type JobResult, type JobRow, type JobStore, type LastJobFilter, type ListJobsFilter, type NewJob, type PruneResult } from "./store";
import type { Job, JobState, JobSummary, LogLine, StoredEvent } from "./types";

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
    worker_pid INTEGER,
    -- how the caller was authenticated (token, webhook), for the checks when the job leaves the queue
    via TEXT
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

/**
 * The job store in one SQLite file: jobs, their engine events and their log. It stores what it
 * is given; redaction is the job service's, which is its only writer.
 */
export class SqliteJobStore implements JobStore {
    private readonly database: DatabaseSync;
    private readonly seqs = new Map<string, { events: number; log: number }>();
    private n: number;

    constructor(file: string) {
        this.database = openSqlite(file);
        // Deleted pages go back to the file system (retention): set before any table exists, or
        // converted once with a VACUUM for a file made before.
        if ((this.database.prepare("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum !== 2) this.database.exec("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;");
        this.database.exec(SCHEMA);
        // Stores created before a column existed gain it in place.
        const columns = (this.database.prepare("PRAGMA table_info(jobs)").all() as { name: string }[]).map((c) => c.name);
        if (!columns.includes("worker_pid")) this.database.exec("ALTER TABLE jobs ADD COLUMN worker_pid INTEGER");
        if (!columns.includes("via")) this.database.exec("ALTER TABLE jobs ADD COLUMN via TEXT");
        if (!columns.includes("cancel_requested_by")) this.database.exec("ALTER TABLE jobs ADD COLUMN cancel_requested_by TEXT");
        if (!columns.includes("instance")) this.database.exec("ALTER TABLE jobs ADD COLUMN instance TEXT");
        this.n = (this.database.prepare("SELECT coalesce(max(n), 0) AS n FROM jobs").get() as { n: number }).n;
    }

    async prune(before: Date): Promise<PruneResult> {
        const old = `SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?1 AND id NOT IN (SELECT id FROM jobs j WHERE n = (SELECT max(n) FROM jobs WHERE stack = j.stack))`;
        const cutoff = before.toISOString();
        const jobIds = (this.database.prepare(`SELECT id FROM (${old}) WHERE id IN (SELECT job_id FROM events UNION SELECT job_id FROM log_lines)`).all(cutoff) as { id: string }[]).map((r) => r.id);
        const events = Number(this.database.prepare(`DELETE FROM events WHERE job_id IN (${old})`).run(cutoff).changes);
        const logLines = Number(this.database.prepare(`DELETE FROM log_lines WHERE job_id IN (${old})`).run(cutoff).changes);
        // Gives the freed pages back to the file system, a bounded number at a time.
        if (events + logLines > 0) this.database.exec("PRAGMA incremental_vacuum");
        return { jobs: jobIds.length, jobIds, events, logLines };
    }

    async close(): Promise<void> {
        this.database.close();
    }

    async createJob(input: NewJob): Promise<Job> {
        const id = input.id ?? randomUUID();
        const createdAt = (input.now ?? new Date()).toISOString();
        this.n += 1;
        this.database
            .prepare("INSERT INTO jobs (id, n, stack, op, state, triggered_by, via, created_at, options) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)")
            .run(id, this.n, input.stack, input.op, input.triggeredBy, input.triggeredVia, createdAt, JSON.stringify(input.options ?? {}));
        return this.row(id)!;
    }

    async getJob(id: string): Promise<Job | undefined> {
        return this.row(id);
    }

    private row(id: string): Job | undefined {
        const row = this.database.prepare("SELECT * FROM jobs WHERE id = ?").get(id) as JobRow | undefined;
        return row ? jobFromRow(row) : undefined;
    }

    async listJobs(filter: ListJobsFilter = {}): Promise<Job[]> {
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
        return (this.database.prepare(sql).all(...params) as unknown as JobRow[]).map(jobFromRow);
    }

    /** Jobs in any of `states`, oldest first: what a restarted service must resume or settle. */
    async jobsInStates(states: readonly JobState[]): Promise<Job[]> {
        const marks = states.map(() => "?").join(", ");
        return (this.database.prepare(`SELECT * FROM jobs WHERE state IN (${marks}) ORDER BY n ASC`).all(...states) as unknown as JobRow[]).map(jobFromRow);
    }

    async jobOfIdempotencyKey(caller: string, key: string): Promise<Job | undefined> {
        const row = this.database.prepare(`SELECT * FROM jobs WHERE triggered_by = ? AND json_extract(options, '$.idempotencyKey') = ? ORDER BY n DESC LIMIT 1`).get(caller, key) as JobRow | undefined;
        return row ? jobFromRow(row) : undefined;
    }

    async lastJob(stack: string, filter: LastJobFilter = {}): Promise<Job | undefined> {
        const { states, ops } = filter;
        const where = ["stack = ?"];
        if (filter.ownCheckoutOnly) where.push("json_extract(options, '$.source') IS NULL");
        if (filter.started) where.push("started_at IS NOT NULL");
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
        return row ? jobFromRow(row) : undefined;
    }

    /** The pid of a running job's worker; a restarted service stops orphans by it. */
    async workerPid(id: string): Promise<number | undefined> {
        const row = this.database.prepare("SELECT worker_pid FROM jobs WHERE id = ?").get(id) as { worker_pid: number | null } | undefined;
        return row?.worker_pid ?? undefined;
    }

    async setWorkerPid(id: string, pid: number): Promise<void> {
        this.database.prepare("UPDATE jobs SET worker_pid = ? WHERE id = ?").run(pid, id);
    }

    async markRunning(id: string, instance: string, now = new Date()): Promise<Job | undefined> {
        const r = this.database.prepare("UPDATE jobs SET state = 'running', started_at = ?, instance = ? WHERE id = ? AND state = 'queued'").run(now.toISOString(), instance, id);
        return Number(r.changes) === 1 ? this.row(id) : undefined;
    }

    async finishIf(id: string, from: JobState, state: JobState, result: JobResult = {}, now = new Date()): Promise<Job | undefined> {
        const r = this.database
            .prepare("UPDATE jobs SET state = ?, finished_at = ?, summary = coalesce(?, summary), error = ? WHERE id = ? AND state = ?")
            .run(state, now.toISOString(), result.summary ? JSON.stringify(result.summary) : null, result.error ? JSON.stringify(result.error) : null, id, from);
        return Number(r.changes) === 1 ? this.row(id) : undefined;
    }

    async requestCancel(id: string, by: string): Promise<void> {
        this.database.prepare("UPDATE jobs SET cancel_requested_by = coalesce(cancel_requested_by, ?) WHERE id = ?").run(by, id);
    }

    async runningJobsOf(instances: readonly string[]): Promise<Job[]> {
        if (!instances.length) return [];
        const marks = instances.map(() => "?").join(", ");
        return (this.database.prepare(`SELECT * FROM jobs WHERE state = 'running' AND instance IN (${marks}) ORDER BY n`).all(...instances) as unknown as JobRow[]).map(jobFromRow);
    }

    /** Settles a job. Idempotent for an already final job only if the caller checks first. */
    async finish(id: string, state: JobState, result: JobResult = {}, now = new Date()): Promise<Job> {
        this.database
            .prepare("UPDATE jobs SET state = ?, finished_at = ?, summary = coalesce(?, summary), error = ? WHERE id = ?")
            .run(state, now.toISOString(), result.summary ? JSON.stringify(result.summary) : null, result.error ? JSON.stringify(result.error) : null, id);
        this.seqs.delete(id);
        return this.row(id)!;
    }

    /** Records the summary of a running job as it grows, so readers see progress. */
    async updateSummary(id: string, summary: JobSummary): Promise<void> {
        this.database.prepare("UPDATE jobs SET summary = ? WHERE id = ?").run(JSON.stringify(summary), id);
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

    async appendEvent(jobId: string, type: string, data: unknown, now = new Date()): Promise<StoredEvent> {
        const seq = this.nextSeq(jobId, "events");
        const at = now.toISOString();
        this.database.prepare("INSERT INTO events (job_id, seq, type, at, data) VALUES (?, ?, ?, ?, ?)").run(jobId, seq, type, at, JSON.stringify(data ?? null));
        return { seq, jobId, type, at, data };
    }

    async eventsAfter(jobId: string, afterSeq: number, limit = 500): Promise<StoredEvent[]> {
        const rows = this.database
            .prepare("SELECT seq, type, at, data FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?")
            .all(jobId, afterSeq, limit) as { seq: number; type: string; at: string; data: string }[];
        return rows.map((r) => ({ seq: r.seq, jobId, type: r.type, at: r.at, data: JSON.parse(r.data) }));
    }

    async appendLog(jobId: string, text: string, now = new Date()): Promise<void> {
        const seq = this.nextSeq(jobId, "log");
        this.database.prepare("INSERT INTO log_lines (job_id, seq, at, text) VALUES (?, ?, ?, ?)").run(jobId, seq, now.toISOString(), text);
    }

    /** One page of the log after `cursor` (a line number; 0 = from the start). */
    async logPage(jobId: string, cursor: number, limit = 200): Promise<{ lines: LogLine[]; nextCursor: number }> {
        const lines = this.database
            .prepare("SELECT seq, at, text FROM log_lines WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?")
            .all(jobId, cursor, limit) as unknown as LogLine[];
        return { lines: lines.map((l) => ({ seq: l.seq, at: l.at, text: l.text })), nextCursor: lines.length ? lines[lines.length - 1].seq : cursor };
    }
}
