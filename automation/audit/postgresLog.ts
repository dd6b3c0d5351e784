import type { Pool } from "pg";
import { inTransaction } from "../storage/db";
import { isTransient } from "../storage/retry";
import { ChainVerifier, entryHash, GENESIS } from "./chain";
import { capStrings, recordedApproval, type AuditEntry, type AuditPage, type AuditQuery, type AuditRecord, type AuditTrail, type RecordedApproval, type VerifyResult } from "./trail";

const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS automation;
CREATE TABLE IF NOT EXISTS automation.audit (
    seq bigint PRIMARY KEY,
    -- the entry exactly as hashed and served: one JSON line, as in the file
    entry text NOT NULL,
    hash text NOT NULL,
    stack text,
    action text NOT NULL
);
-- the approval entries by preview: an approval counts only with its entry (approvals/service.ts)
CREATE INDEX IF NOT EXISTS audit_approvals ON automation.audit (((entry::jsonb)->>'previewId')) WHERE action IN ('approval.approve', 'approval.reject');
`;

/** Every instance appends under this transaction lock, so the chain stays one chain. */
const CHAIN_LOCK = 7_130_002;

/**
 * The audit chain in a Postgres table that several service instances share. Entries are the
 * same hash-chained JSON as the file's (`AuditLog`), and verify the same way. An append takes a
 * transaction-scoped advisory lock, reads the head, and inserts the next entry: appends from
 * every instance are serialised in the database, and the chain has no fork. The caller does not
 * wait: appends are written in order in the background, and `flush` waits for them.
 *
 * Unlike the file, rows cut from the end of the table leave no trace (there is no head kept
 * outside the database); a change or removal anywhere before the end breaks the chain.
 */
export class PostgresAuditLog implements AuditTrail {
    private pending: Promise<void> = Promise.resolve();
    private failed: unknown;
    private closing = false;
    private constructor(
        private readonly pool: Pool,
        private readonly options: { redact: <T>(value: T) => T; now: () => Date; onError: (err: unknown) => void },
    ) {}

    static async open(pool: Pool, options: { redact?: <T>(value: T) => T; now?: () => Date; onError?: (err: unknown) => void } = {}): Promise<PostgresAuditLog> {
        await inTransaction(pool, async (client) => {
            await client.query("SELECT pg_advisory_xact_lock($1)", [CHAIN_LOCK]);
            await client.query(SCHEMA);
        });
        return new PostgresAuditLog(pool, { redact: options.redact ?? (<T>(v: T) => v), now: options.now ?? (() => new Date()), onError: options.onError ?? (() => undefined) });
    }

    append(record: AuditRecord): void {
        const clean = capStrings(this.options.redact(record));
        const at = this.options.now().toISOString();
        // Written until it lands: a database that goes away for a while loses no entry.
        this.pending = this.pending
            .then(() => this.writeUntilItLands(clean, at))
            .catch((err: unknown) => {
                this.failed = err;
                this.options.onError(err);
            });
    }

    private async writeUntilItLands(record: AuditRecord, at: string): Promise<void> {
        for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
            try {
                return await this.write(record, at);
            } catch (err) {
                if (!isTransient(err) || this.closing) throw err;
                await new Promise((r) => setTimeout(r, delay));
            }
        }
    }

    /** Resolves once every append made so far is committed; rejects if one could not be (and reports it once). */
    async flush(): Promise<void> {
        await this.pending;
        const failed = this.failed;
        this.failed = undefined;
        if (failed) throw failed;
    }

    private write(record: AuditRecord, at: string): Promise<void> {
        return inTransaction(this.pool, async (client) => {
            await client.query("SELECT pg_advisory_xact_lock($1)", [CHAIN_LOCK]);
            const head = (await client.query<{ seq: string; hash: string }>("SELECT seq, hash FROM automation.audit ORDER BY seq DESC LIMIT 1")).rows[0];
            const body: Omit<AuditEntry, "hash"> = { ...record, seq: head ? Number(head.seq) + 1 : 1, at, prev: head?.hash ?? GENESIS };
            const entry: AuditEntry = { ...body, hash: entryHash(body) };
            await client.query("INSERT INTO automation.audit (seq, entry, hash, stack, action) VALUES ($1, $2, $3, $4, $5)", [entry.seq, JSON.stringify(entry), entry.hash, entry.stack ?? null, entry.action]);
        });
    }

    /** Reads the chain in pages of 1,000 rows, keeping only the last hash. */
    async verify(): Promise<VerifyResult> {
        await this.pending;
        const v = new ChainVerifier();
        let total = 0;
        let broken = false;
        for (let after = -1; ; ) {
            const { rows } = await this.pool.query<{ seq: string; entry: string }>("SELECT seq, entry FROM automation.audit WHERE seq > $1 ORDER BY seq LIMIT 1000", [after]);
            for (const r of rows) {
                total++;
                if (!broken && !v.feed(r.entry)) broken = true;
            }
            if (rows.length < 1000) break;
            after = Number(rows[rows.length - 1].seq);
        }
        return v.result(total);
    }

    async page(query: AuditQuery = {}): Promise<AuditPage> {
        await this.pending;
        const limit = Math.min(Math.max(query.limit ?? 100, 1), 500);
        const params: unknown[] = [query.after ?? 0];
        const where = ["seq > $1"];
        if (query.stack) where.push(`stack = $${params.push(query.stack)}`);
        if (query.action) where.push(`(action = $${params.push(query.action)} OR starts_with(action, $${params.push(`${query.action}.`)}))`);
        const { rows } = await this.pool.query<{ entry: string }>(`SELECT entry FROM automation.audit WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ${limit + 1}`, params);
        const entries = rows.slice(0, limit).map((r) => JSON.parse(r.entry) as AuditEntry);
        return rows.length > limit ? { entries, next: entries[entries.length - 1].seq } : { entries };
    }

    async recordedApprovals(previewId: string): Promise<RecordedApproval[]> {
        await this.pending;
        const { rows } = await this.pool.query<{ entry: string }>(
            "SELECT entry FROM automation.audit WHERE action IN ('approval.approve', 'approval.reject') AND (entry::jsonb)->>'previewId' = $1 ORDER BY seq",
            [previewId],
        );
        return rows.flatMap((r) => recordedApproval(JSON.parse(r.entry) as AuditEntry)?.approval ?? []);
    }

    async close(): Promise<void> {
        this.closing = true;
        await this.flush().catch(() => undefined);
    }
}
