import type { DatabaseSync } from "node:sqlite";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    at TEXT NOT NULL
);
`;

/**
 * The GitHub deliveries already processed, for replay protection (a table in the durable SQLite
 * file). A delivery is known by its id and by the hash of its signed body: the id header is not
 * signed, so a replay could carry a new one.
 */
export class DeliveryStore {
    constructor(private readonly db: DatabaseSync) {
        this.db.exec(SCHEMA);
        // Stores from before body hashes were kept gain the column in place.
        const columns = (this.db.prepare("PRAGMA table_info(webhook_deliveries)").all() as { name: string }[]).map((c) => c.name);
        if (!columns.includes("body_hash")) this.db.exec("ALTER TABLE webhook_deliveries ADD COLUMN body_hash TEXT");
        this.db.exec("CREATE UNIQUE INDEX IF NOT EXISTS webhook_deliveries_body ON webhook_deliveries (body_hash)");
    }

    /** Records a delivery; false when its id or its signed body was seen before (a replay). Atomic: one INSERT. */
    recordDelivery(deliveryId: string, event: string, bodyHash: string, now = new Date()): boolean {
        const r = this.db.prepare("INSERT OR IGNORE INTO webhook_deliveries (delivery_id, event, at, body_hash) VALUES (?, ?, ?, ?)").run(deliveryId, event, now.toISOString(), bodyHash);
        return Number(r.changes) === 1;
    }
}
