import type { Db } from "../storage/db";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    at TEXT NOT NULL,
    body_hash TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS webhook_deliveries_body ON webhook_deliveries (body_hash);
`;

/** Whether a delivery is new, seen but not yet handled for every stack, or handled. */
export type DeliveryState = "new" | "pending" | "handled";

/**
 * The GitHub deliveries seen, for replay protection (tables in the durable database). A
 * delivery is known by its id and by the hash of its signed body: the id header is not signed,
 * so a replay could carry a new one. A delivery counts as handled only once every stack it
 * concerns got its job: a stack refused for a passing reason (its line full, a freeze, a
 * repair) leaves it pending, so GitHub's redelivery runs what is missing. Each stack's job is
 * claimed by the body's hash first, so a redelivery never gives a stack a second job, even
 * when two arrive at once.
 */
export class DeliveryStore {
    private constructor(private readonly db: Db) {}

    static async open(db: Db): Promise<DeliveryStore> {
        // A SQLite file from before body hashes were kept gains the column in place.
        await db.exec("CREATE TABLE IF NOT EXISTS webhook_deliveries (delivery_id TEXT PRIMARY KEY, event TEXT NOT NULL, at TEXT NOT NULL)");
        await db.exec("ALTER TABLE webhook_deliveries ADD COLUMN body_hash TEXT").catch(() => undefined);
        await db.exec(SCHEMA);
        return new DeliveryStore(db);
    }

    /** Records a delivery when it is new; otherwise says whether the one seen (same id or same signed body) was handled. Atomic: one INSERT. */
    async begin(deliveryId: string, event: string, bodyHash: string, now = new Date()): Promise<DeliveryState> {
        const rows = await this.db.query(
            "INSERT INTO webhook_deliveries (delivery_id, event, at, body_hash, handled) VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING RETURNING delivery_id",
            [deliveryId, event, now.toISOString(), bodyHash],
        );
        if (rows.length === 1) return "new";
        const seen = await this.db.query<{ handled: number; body_hash: string | null }>("SELECT handled, body_hash FROM webhook_deliveries WHERE delivery_id = $1 OR body_hash = $2", [deliveryId, bodyHash]);
        // The same id with another body is a replay of the id, never a redelivery.
        if (seen.some((r) => r.body_hash !== bodyHash)) return "handled";
        return seen.every((r) => Number(r.handled) === 0) ? "pending" : "handled";
    }

    /** Takes `stack`'s place in the delivery; false when it has one (a job, or one being submitted). */
    async claimStack(bodyHash: string, stack: string): Promise<boolean> {
        return (await this.db.query("INSERT INTO webhook_delivery_jobs (body_hash, stack) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING stack", [bodyHash, stack])).length === 1;
    }

    async setStackJob(bodyHash: string, stack: string, jobId: string): Promise<void> {
        await this.db.query("UPDATE webhook_delivery_jobs SET job_id = $3 WHERE body_hash = $1 AND stack = $2", [bodyHash, stack, jobId]);
    }

    /** Gives a refused stack's place back, for a redelivery to try again. */
    async releaseStack(bodyHash: string, stack: string): Promise<void> {
        await this.db.query("DELETE FROM webhook_delivery_jobs WHERE body_hash = $1 AND stack = $2 AND job_id IS NULL", [bodyHash, stack]);
    }

    /** The jobs earlier attempts of this delivery got, by stack. */
    async stackJobs(bodyHash: string): Promise<Map<string, string>> {
        const rows = await this.db.query<{ stack: string; job_id: string | null }>("SELECT stack, job_id FROM webhook_delivery_jobs WHERE body_hash = $1", [bodyHash]);
        return new Map(rows.filter((r) => r.job_id).map((r) => [r.stack, r.job_id!]));
    }

    async markHandled(bodyHash: string): Promise<void> {
        await this.db.query("UPDATE webhook_deliveries SET handled = 1 WHERE body_hash = $1", [bodyHash]);
    }
}
