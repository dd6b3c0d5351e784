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

/**
 * The GitHub deliveries already processed, for replay protection (a table in the durable
 * database). A delivery is known by its id and by the hash of its signed body: the id header is
 * not signed, so a replay could carry a new one.
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

    /** Records a delivery; false when its id or its signed body was seen before (a replay). Atomic: one INSERT. */
    async recordDelivery(deliveryId: string, event: string, bodyHash: string, now = new Date()): Promise<boolean> {
        const rows = await this.db.query(
            "INSERT INTO webhook_deliveries (delivery_id, event, at, body_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING delivery_id",
            [deliveryId, event, now.toISOString(), bodyHash],
        );
        return rows.length === 1;
    }
}
