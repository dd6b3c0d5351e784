import { randomUUID } from "node:crypto";
import type { Db } from "../storage/db";
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
 * in tables of their own in the durable database (the SQLite file, or the shared Postgres).
 */
export class ApprovalStore {
    private constructor(private readonly db: Db) {}

    static async open(db: Db): Promise<ApprovalStore> {
        await db.exec(SCHEMA);
        return new ApprovalStore(db);
    }

    async addApproval(a: Omit<Approval, "id"> & { id?: string }): Promise<Approval> {
        const approval: Approval = { ...a, id: a.id ?? randomUUID() };
        await this.db.query(
            "INSERT INTO approvals (id, preview_id, stack, operation, decision, by_name, role, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [approval.id, a.previewId, a.stack, a.operation, a.decision, a.by, a.role, a.comment ?? null, a.at],
        );
        return approval;
    }

    async approvalsOf(previewId: string): Promise<Approval[]> {
        const rows = await this.db.query<Record<string, string | null>>("SELECT * FROM approvals WHERE preview_id = $1 ORDER BY at, id", [previewId]);
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

    async setFingerprint(previewId: string, stack: string, fp: Fingerprint, now = new Date()): Promise<void> {
        await this.db.query(
            "INSERT INTO fingerprints (preview_id, stack, fingerprint, at) VALUES ($1, $2, $3, $4) ON CONFLICT (preview_id) DO UPDATE SET stack = excluded.stack, fingerprint = excluded.fingerprint, at = excluded.at",
            [previewId, stack, JSON.stringify(fp), now.toISOString()],
        );
    }

    async fingerprintOf(previewId: string): Promise<Fingerprint | undefined> {
        const [row] = await this.db.query<{ fingerprint: string }>("SELECT fingerprint FROM fingerprints WHERE preview_id = $1", [previewId]);
        return row ? (JSON.parse(row.fingerprint) as Fingerprint) : undefined;
    }
}
