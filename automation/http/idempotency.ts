import { createHash } from "node:crypto";
import { canonicalJson } from "../lib/canonicalJson";
import { AppError, badRequest } from "../errors";
import type { Db } from "../storage/db";

/** What an earlier request with the same key says about this one. */
export type KeyClaim = { kind: "new" } | { kind: "replay"; jobId: string } | { kind: "mismatch" } | { kind: "in-progress"; sinceMs: number };

/** A first attempt still unfinished after this long died (its process was killed): its claim is looked into. */
export const STUCK_CLAIM_MS = 10_000;

/** Keys are kept this long; a retry comes within minutes. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * `Idempotency-Key` of the requests that create jobs (previews, updates, refreshes, destroys),
 * as Stripe and the IETF draft define it: a client that retries after a timeout, not knowing
 * whether its first request got through, sends the same key, and gets the job the first one
 * created instead of a second update. Keys are per caller; the same key with another request
 * is refused (409), and one whose first request is still being admitted too (409, retry). A
 * request that was refused (403, 409 QUEUE_FULL, ...) keeps nothing: its retry is judged anew.
 * The table is created by schema migration 3 (storage/migrations.ts).
 */
export class IdempotencyKeys {
    constructor(
        private readonly db: Db,
        private readonly now: () => Date = () => new Date(),
    ) {}

    /** The request's identity: its method, path and body, whatever the order of the body's keys. */
    static requestHash(method: string, path: string, body: unknown): string {
        return createHash("sha256").update(`${method} ${path}\n${canonicalJson(body ?? {})}`).digest("hex");
    }

    async claim(caller: string, key: string, requestHash: string): Promise<KeyClaim> {
        const at = this.now();
        // A key past its time is free again.
        await this.db.query("DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND created_at < $3", [caller, key, new Date(at.getTime() - IDEMPOTENCY_KEY_TTL_MS).toISOString()]);
        const inserted = await this.db.query("INSERT INTO idempotency_keys (caller, key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING key", [caller, key, requestHash, at.toISOString()]);
        if (inserted.length === 1) return { kind: "new" };
        const [row] = await this.db.query<{ request_hash: string; job_id: string | null; created_at: string }>("SELECT request_hash, job_id, created_at FROM idempotency_keys WHERE caller = $1 AND key = $2", [caller, key]);
        if (!row) return this.claim(caller, key, requestHash);
        if (row.request_hash !== requestHash) return { kind: "mismatch" };
        return row.job_id ? { kind: "replay", jobId: row.job_id } : { kind: "in-progress", sinceMs: at.getTime() - Date.parse(row.created_at) };
    }

    /**
     * A claim whose first attempt never finished (its process died between claiming the key and
     * recording the job): taken over, once, by the attempt that finds it stuck. False when
     * another attempt took it first.
     */
    async takeOver(caller: string, key: string): Promise<boolean> {
        const at = this.now();
        const rows = await this.db.query("UPDATE idempotency_keys SET created_at = $3 WHERE caller = $1 AND key = $2 AND job_id IS NULL AND created_at < $4 RETURNING key", [
            caller,
            key,
            at.toISOString(),
            new Date(at.getTime() - STUCK_CLAIM_MS).toISOString(),
        ]);
        return rows.length === 1;
    }

    async complete(caller: string, key: string, jobId: string): Promise<void> {
        await this.db.query("UPDATE idempotency_keys SET job_id = $3 WHERE caller = $1 AND key = $2", [caller, key, jobId]);
    }

    /** The request was refused: its key is free for the retry. */
    async release(caller: string, key: string): Promise<void> {
        await this.db.query("DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND job_id IS NULL", [caller, key]);
    }
}

/** The header's value, checked: 1 to 255 visible ASCII characters. */
export function idempotencyKeyOf(header: string | undefined): string | undefined {
    if (header === undefined) return undefined;
    if (!/^[\x21-\x7e]{1,255}$/.test(header)) throw badRequest("Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is usual).");
    return header;
}

export const keyReused = (key: string) =>
    new AppError("IDEMPOTENCY_KEY_REUSED", 409, `Idempotency-Key "${key}" was used for another request; use a new key for a new request.`, { key });
export const keyInProgress = (key: string) =>
    new AppError("IDEMPOTENCY_IN_PROGRESS", 409, `The first request with Idempotency-Key "${key}" is still being admitted; retry in a second.`, { key, retryAfterSeconds: 1 });
