import type { Db } from "../storage/db";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS notification_deliveries (
    id TEXT PRIMARY KEY,
    destination TEXT NOT NULL,
    event TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notification_deliveries_created ON notification_deliveries (created_at);
`;

export interface DeliveryRecord {
    id: string;
    destination: string;
    event: string;
    /** "pending" while attempts remain, then "delivered" or "failed". */
    status: "pending" | "delivered" | "failed";
    attempts: number;
    lastStatus?: number;
    lastError?: string;
    createdAt: string;
    updatedAt: string;
}

/** Each notification delivery and how it went (a table in the durable database). */
export class NotificationDeliveries {
    private constructor(private readonly db: Db) {}

    static async open(db: Db): Promise<NotificationDeliveries> {
        await db.exec(SCHEMA);
        return new NotificationDeliveries(db);
    }

    async record(r: DeliveryRecord): Promise<void> {
        await this.db.query(
            `INSERT INTO notification_deliveries (id, destination, event, status, attempts, last_status, last_error, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts, last_status = excluded.last_status, last_error = excluded.last_error, updated_at = excluded.updated_at`,
            [r.id, r.destination, r.event, r.status, r.attempts, r.lastStatus ?? null, r.lastError ?? null, r.createdAt, r.updatedAt],
        );
    }

    async list(limit = 100): Promise<DeliveryRecord[]> {
        const rows = await this.db.query<Record<string, string | number | null>>(
            `SELECT * FROM notification_deliveries ORDER BY created_at DESC, id LIMIT ${Math.max(1, Math.min(limit, 500))}`,
        );
        return rows.map((r) => ({
            id: String(r.id),
            destination: String(r.destination),
            event: String(r.event),
            status: r.status as DeliveryRecord["status"],
            attempts: Number(r.attempts),
            ...(r.last_status !== null ? { lastStatus: Number(r.last_status) } : {}),
            ...(r.last_error !== null ? { lastError: String(r.last_error) } : {}),
            createdAt: String(r.created_at),
            updatedAt: String(r.updated_at),
        }));
    }

    /**
     * At the start of the one process of an embedded data dir: deliveries a previous process left
     * pending (it stopped or died mid-retry; their bodies were in its memory) are marked failed,
     * saying so, instead of pending for ever. Returns how many.
     */
    async failAbandoned(now: Date): Promise<number> {
        const rows = await this.db.query(
            "UPDATE notification_deliveries SET status = 'failed', last_error = $1, updated_at = $2 WHERE status = 'pending' RETURNING id",
            ["the service stopped before this delivery completed; it was not sent again", now.toISOString()],
        );
        return rows.length;
    }
}
