import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Fingerprint } from "./fingerprint";
import type { Approval } from "./rules";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    preview_id TEXT NOT NULL,
    stack TEXT NOT NULL,
    operation TEXT NOT NULL,
    decision TEXT NOT NULL,
    by_name TEXT NOT NULL,
    role TEXT NOT NULL,
    comment TEXT,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_preview ON approvals (preview_id);
CREATE TABLE IF NOT EXISTS fingerprints (
    preview_id TEXT PRIMARY KEY,
    stack TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stack_findings (
    stack TEXT PRIMARY KEY,
    findings TEXT NOT NULL,
    at TEXT NOT NULL
);
`;

/**
 * The safety layer's durable records: approvals, preview fingerprints, seen webhook deliveries
 * and stacks needing repair. A SQLite file of its own (WAL, synchronous=FULL) beside the job
 * store, so the job store's schema stays the core's and the two can evolve apart.
 */
export class SafetyStore {
    private readonly db: DatabaseSync;

    constructor(file: string) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        this.db = new DatabaseSync(file);
        this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
        this.db.exec(SCHEMA);
    }

    addApproval(a: Omit<Approval, "id">): Approval {
        const approval: Approval = { id: randomUUID(), ...a };
        this.db
            .prepare("INSERT INTO approvals (id, preview_id, stack, operation, decision, by_name, role, comment, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .run(approval.id, a.previewId, a.stack, a.operation, a.decision, a.by, a.role, a.comment ?? null, a.at);
        return approval;
    }

    approvalsOf(previewId: string): Approval[] {
        const rows = this.db.prepare("SELECT * FROM approvals WHERE preview_id = ? ORDER BY at, id").all(previewId) as Record<string, string | null>[];
        return rows.map((r) => ({
            id: r.id!,
            previewId: r.preview_id!,
            stack: r.stack!,
            operation: r.operation as Approval["operation"],
            decision: r.decision as Approval["decision"],
            by: r.by_name!,
            role: r.role!,
            ...(r.comment ? { comment: r.comment } : {}),
            at: r.at!,
        }));
    }

    setFingerprint(previewId: string, stack: string, fp: Fingerprint, now = new Date()): void {
        this.db.prepare("INSERT OR REPLACE INTO fingerprints (preview_id, stack, fingerprint, at) VALUES (?, ?, ?, ?)").run(previewId, stack, JSON.stringify(fp), now.toISOString());
    }

    fingerprintOf(previewId: string): Fingerprint | undefined {
        const row = this.db.prepare("SELECT fingerprint FROM fingerprints WHERE preview_id = ?").get(previewId) as { fingerprint: string } | undefined;
        return row ? (JSON.parse(row.fingerprint) as Fingerprint) : undefined;
    }

    /** Records a delivery id; false when it was seen before (a replay). Atomic: one INSERT. */
    recordDelivery(deliveryId: string, event: string, now = new Date()): boolean {
        const r = this.db.prepare("INSERT OR IGNORE INTO webhook_deliveries (delivery_id, event, at) VALUES (?, ?, ?)").run(deliveryId, event, now.toISOString());
        return Number(r.changes) === 1;
    }

    /** The latest scan of a stack; an empty list records that it was checked and found healthy. */
    setFindings(stack: string, findings: readonly unknown[], now = new Date()): void {
        this.db.prepare("INSERT OR REPLACE INTO stack_findings (stack, findings, at) VALUES (?, ?, ?)").run(stack, JSON.stringify(findings), now.toISOString());
    }

    findingsOf(stack: string): { findings: unknown[]; at: string } | undefined {
        const row = this.db.prepare("SELECT findings, at FROM stack_findings WHERE stack = ?").get(stack) as { findings: string; at: string } | undefined;
        return row ? { findings: JSON.parse(row.findings) as unknown[], at: row.at } : undefined;
    }

    close(): void {
        this.db.close();
    }
}
