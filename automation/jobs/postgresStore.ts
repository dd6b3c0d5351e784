import { randomUUID } from "node:crypto";
import type { Pool } from "pg";
import { openPool } from "../storage/db";
import { jobFromRow, type JobResult, type JobRow, type JobStore, type LastJobFilter, type ListJobsFilter, type NewJob, type PruneResult } from "./store";
import type { Job, JobState, JobSummary, LogLine, StoredEvent } from "./types";

// `json`, not `jsonb`: the stored text is served back as it was written (key order included),
// so an event streamed live and the same event read back later are the same bytes.
const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS automation;
CREATE TABLE IF NOT EXISTS automation.jobs (
    id text PRIMARY KEY,
    -- insertion order across every instance; created_at alone cannot order jobs of one millisecond
    n bigserial UNIQUE,
    stack text NOT NULL,
    op text NOT NULL,
    state text NOT NULL,
    triggered_by text NOT NULL,
    via text NOT NULL,
    created_at timestamptz NOT NULL,
    started_at timestamptz,
    finished_at timestamptz,
    options json NOT NULL,
    summary json,
    error json,
    worker_pid integer,
    -- the last sequence number given to an event and to a log line: rows of one job, written by
    -- any instance, are numbered by an update of this row, which Postgres serialises
    events_seq integer NOT NULL DEFAULT 0,
    log_seq integer NOT NULL DEFAULT 0,
    cancel_requested_by text,
    -- the service instance that claimed it (automation.instances)
    instance text
);
CREATE INDEX IF NOT EXISTS jobs_stack ON automation.jobs (stack, n);
CREATE INDEX IF NOT EXISTS jobs_state ON automation.jobs (state, n);
CREATE TABLE IF NOT EXISTS automation.job_events (
    job_id text NOT NULL REFERENCES automation.jobs (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    type text NOT NULL,
    at timestamptz NOT NULL,
    data json NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS automation.job_log (
    job_id text NOT NULL REFERENCES automation.jobs (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    at timestamptz NOT NULL,
    text text NOT NULL,
    PRIMARY KEY (job_id, seq)
);
`;

/** Instances starting together create the schema one at a time (CREATE ... IF NOT EXISTS races otherwise). */
const SCHEMA_LOCK = 7_130_001;

// Times come back as ISO text (UTC, milliseconds, as the job service writes them) and the json
// columns as text, so both stores read rows with one mapper.
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;
const JOB_COLUMNS = `id, stack, op, state, triggered_by, via, ${iso("created_at")}, ${iso("started_at")}, ${iso("finished_at")}, options::text AS options, summary::text AS summary, error::text AS error, cancel_requested_by, instance`;

/**
 * Postgres refuses the NUL character in text and json; a program may print one. It is kept
 * visible as U+2400 (␀) rather than failing the write.
 */
const noNul = (text: string): string => (text.includes("\u0000") ? text.replaceAll("\u0000", "\u2400") : text);
const json = (value: unknown): string => JSON.stringify(value ?? null, (_key, v: unknown) => (typeof v === "string" ? noNul(v) : v));

/**
 * The job store in a Postgres database that several service instances share
 * (`AUTOMATION_DATABASE_URL`): jobs, their engine events and their log, in the `automation`
 * schema, created on first use. Rows of one job may be written by any instance; each event and
 * log line takes its number from the job's row in the same statement, so numbers never repeat.
 */
export class PostgresJobStore implements JobStore {
    private constructor(
        private readonly pool: Pool,
        /** Whether close() ends the pool (one this store opened itself). */
        private readonly ownsPool: boolean,
    ) {}

    /** Creates the schema if missing and returns the store, on a pool of its own (a URL) or a shared one. */
    static async open(target: string | Pool): Promise<PostgresJobStore> {
        const pool = typeof target === "string" ? openPool(target) : target;
        const client = await pool.connect();
        let broken: Error | undefined;
        const onError = (err: Error) => (broken = err);
        client.on("error", onError);
        try {
            await client.query("SELECT pg_advisory_lock($1)", [SCHEMA_LOCK]);
            await client.query(SCHEMA);
        } finally {
            await client.query("SELECT pg_advisory_unlock($1)", [SCHEMA_LOCK]).catch(() => undefined);
            client.off("error", onError);
            client.release(broken);
        }
        return new PostgresJobStore(pool, typeof target === "string");
    }

    async prune(before: Date): Promise<PruneResult> {
        // Finished before the cutoff, and not its stack's newest job (a newer one exists).
        const old = `SELECT id FROM automation.jobs j WHERE finished_at < $1 AND EXISTS (SELECT 1 FROM automation.jobs k WHERE k.stack = j.stack AND k.n > j.n)`;
        const jobIds = (await this.pool.query<{ id: string }>(`SELECT id FROM (${old}) o WHERE o.id IN (SELECT job_id FROM automation.job_events UNION SELECT job_id FROM automation.job_log)`, [before])).rows.map((r) => r.id);
        const events = (await this.pool.query(`DELETE FROM automation.job_events WHERE job_id IN (${old})`, [before])).rowCount ?? 0;
        const logLines = (await this.pool.query(`DELETE FROM automation.job_log WHERE job_id IN (${old})`, [before])).rowCount ?? 0;
        return { jobs: jobIds.length, jobIds, events, logLines };
    }

    async close(): Promise<void> {
        if (this.ownsPool) await this.pool.end();
    }

    async createJob(input: NewJob): Promise<Job> {
        const id = input.id ?? randomUUID();
        const { rows } = await this.pool.query<JobRow>(
            `INSERT INTO automation.jobs (id, stack, op, state, triggered_by, via, created_at, options) VALUES ($1, $2, $3, 'queued', $4, $5, coalesce($6::timestamptz, clock_timestamp()), $7) RETURNING ${JOB_COLUMNS}`,
            [id, input.stack, input.op, noNul(input.triggeredBy), input.triggeredVia, input.now ?? null, json(input.options ?? {})],
        );
        return jobFromRow(rows[0]);
    }

    async getJob(id: string): Promise<Job | undefined> {
        const { rows } = await this.pool.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM automation.jobs WHERE id = $1`, [id]);
        return rows[0] ? jobFromRow(rows[0]) : undefined;
    }

    async listJobs(filter: ListJobsFilter = {}): Promise<Job[]> {
        const where: string[] = [];
        const params: unknown[] = [];
        if (filter.stack) where.push(`stack = $${params.push(filter.stack)}`);
        if (filter.state) where.push(`state = $${params.push(filter.state)}`);
        const limit = Math.max(1, Math.min(filter.limit ?? 50, 500));
        const { rows } = await this.pool.query<JobRow>(
            `SELECT ${JOB_COLUMNS} FROM automation.jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY n DESC LIMIT ${limit}`,
            params,
        );
        return rows.map(jobFromRow);
    }

    async jobsInStates(states: readonly JobState[]): Promise<Job[]> {
        const { rows } = await this.pool.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM automation.jobs WHERE state = ANY($1) ORDER BY n ASC`, [states]);
        return rows.map(jobFromRow);
    }

    async jobOfIdempotencyKey(caller: string, key: string): Promise<Job | undefined> {
        const { rows } = await this.pool.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM automation.jobs WHERE triggered_by = $1 AND options->>'idempotencyKey' = $2 ORDER BY n DESC LIMIT 1`, [caller, key]);
        return rows[0] ? jobFromRow(rows[0]) : undefined;
    }

    async lastJob(stack: string, filter: LastJobFilter = {}): Promise<Job | undefined> {
        const params: unknown[] = [stack];
        const where = ["stack = $1"];
        if (filter.ownCheckoutOnly) where.push("options->'source' IS NULL");
        if (filter.started) where.push("started_at IS NOT NULL");
        if (filter.states?.length) where.push(`state = ANY($${params.push(filter.states)})`);
        if (filter.ops?.length) where.push(`op = ANY($${params.push(filter.ops)})`);
        const { rows } = await this.pool.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM automation.jobs WHERE ${where.join(" AND ")} ORDER BY n DESC LIMIT 1`, params);
        return rows[0] ? jobFromRow(rows[0]) : undefined;
    }

    async workerPid(id: string): Promise<number | undefined> {
        const { rows } = await this.pool.query<{ worker_pid: number | null }>("SELECT worker_pid FROM automation.jobs WHERE id = $1", [id]);
        return rows[0]?.worker_pid ?? undefined;
    }

    async setWorkerPid(id: string, pid: number): Promise<void> {
        await this.pool.query("UPDATE automation.jobs SET worker_pid = $2 WHERE id = $1", [id, pid]);
    }

    // A job's times are the database's, never an instance's (whose clock may be wrong): the
    // schedules decide by them (a TTL destroy is due from the last update's end).
    async markRunning(id: string, instance: string, now?: Date): Promise<Job | undefined> {
        const { rows } = await this.pool.query<JobRow>(
            `UPDATE automation.jobs SET state = 'running', started_at = coalesce($2::timestamptz, clock_timestamp()), instance = $3 WHERE id = $1 AND state = 'queued' RETURNING ${JOB_COLUMNS}`,
            [id, now ?? null, instance],
        );
        return rows[0] ? jobFromRow(rows[0]) : undefined;
    }

    async finish(id: string, state: JobState, result: JobResult = {}, now?: Date): Promise<Job> {
        return (await this.settle(id, undefined, state, result, now))!;
    }

    finishIf(id: string, from: JobState, state: JobState, result: JobResult = {}, now?: Date): Promise<Job | undefined> {
        return this.settle(id, from, state, result, now);
    }

    private async settle(id: string, from: JobState | undefined, state: JobState, result: JobResult, now: Date | undefined): Promise<Job | undefined> {
        const { rows } = await this.pool.query<JobRow>(
            `UPDATE automation.jobs SET state = $2, finished_at = coalesce($3::timestamptz, clock_timestamp()), summary = coalesce($4::json, summary), error = $5::json
             WHERE id = $1 AND ($6::text IS NULL OR state = $6) RETURNING ${JOB_COLUMNS}`,
            [id, state, now ?? null, result.summary ? json(result.summary) : null, result.error ? json(result.error) : null, from ?? null],
        );
        return rows[0] ? jobFromRow(rows[0]) : undefined;
    }

    async requestCancel(id: string, by: string): Promise<void> {
        await this.pool.query("UPDATE automation.jobs SET cancel_requested_by = coalesce(cancel_requested_by, $2) WHERE id = $1", [id, noNul(by)]);
    }

    async runningJobsOf(instances: readonly string[]): Promise<Job[]> {
        const { rows } = await this.pool.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM automation.jobs WHERE state = 'running' AND instance = ANY($1) ORDER BY n`, [instances]);
        return rows.map(jobFromRow);
    }

    async updateSummary(id: string, summary: JobSummary): Promise<void> {
        await this.pool.query("UPDATE automation.jobs SET summary = $2::json WHERE id = $1", [id, json(summary)]);
    }

    async appendEvent(jobId: string, type: string, data: unknown, now = new Date()): Promise<StoredEvent> {
        const { rows } = await this.pool.query<{ seq: number }>(
            `WITH next AS (UPDATE automation.jobs SET events_seq = events_seq + 1 WHERE id = $1 RETURNING events_seq)
             INSERT INTO automation.job_events (job_id, seq, type, at, data) SELECT $1, events_seq, $2, $3, $4::json FROM next RETURNING seq`,
            [jobId, type, now, json(data)],
        );
        if (!rows[0]) throw new Error(`no job ${jobId} to append an event to`);
        return { seq: rows[0].seq, jobId, type, at: now.toISOString(), data };
    }

    async eventsAfter(jobId: string, afterSeq: number, limit = 500): Promise<StoredEvent[]> {
        const { rows } = await this.pool.query<{ seq: number; type: string; at: Date; data: string }>(
            "SELECT seq, type, at, data::text AS data FROM automation.job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            [jobId, afterSeq, limit],
        );
        return rows.map((r) => ({ seq: r.seq, jobId, type: r.type, at: r.at.toISOString(), data: JSON.parse(r.data) as unknown }));
    }

    async appendLog(jobId: string, text: string, now = new Date()): Promise<void> {
        const { rowCount } = await this.pool.query(
            `WITH next AS (UPDATE automation.jobs SET log_seq = log_seq + 1 WHERE id = $1 RETURNING log_seq)
             INSERT INTO automation.job_log (job_id, seq, at, text) SELECT $1, log_seq, $2, $3 FROM next`,
            [jobId, now, noNul(text)],
        );
        if (!rowCount) throw new Error(`no job ${jobId} to append a log line to`);
    }

    async logPage(jobId: string, cursor: number, limit = 200): Promise<{ lines: LogLine[]; nextCursor: number }> {
        const { rows } = await this.pool.query<{ seq: number; at: Date; text: string }>(
            "SELECT seq, at, text FROM automation.job_log WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            [jobId, cursor, limit],
        );
        return { lines: rows.map((l) => ({ seq: l.seq, at: l.at.toISOString(), text: l.text })), nextCursor: rows.length ? rows[rows.length - 1].seq : cursor };
    }

}
