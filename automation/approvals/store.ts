import { randomUUID } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
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
`;

/**
 * The approvals' durable records: decisions and the fingerprints of the previews they bind to,
 * in tables of their own in the durable SQLite file (see storage/sqlite.ts).
 */
export class ApprovalStore {
    constructor(private readonly db: DatabaseSync) {
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
}
