import type { DatabaseSync } from "node:sqlite";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    at TEXT NOT NULL
);
`;

/** The GitHub deliveries already processed, for replay protection (a table in the durable SQLite file). */
export class DeliveryStore {
    constructor(private readonly db: DatabaseSync) {
        this.db.exec(SCHEMA);
    }

    /** Records a delivery id; false when it was seen before (a replay). Atomic: one INSERT. */
    recordDelivery(deliveryId: string, event: string, now = new Date()): boolean {
        const r = this.db.prepare("INSERT OR IGNORE INTO webhook_deliveries (delivery_id, event, at) VALUES (?, ?, ?)").run(deliveryId, event, now.toISOString());
        return Number(r.changes) === 1;
    }
}
