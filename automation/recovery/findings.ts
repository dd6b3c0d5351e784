import type { DatabaseSync } from "node:sqlite";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS stack_findings (
    stack TEXT PRIMARY KEY,
    findings TEXT NOT NULL,
    at TEXT NOT NULL
);
`;

/** The latest recovery scan of each stack (a table in the durable SQLite file). */
export class FindingsStore {
    constructor(private readonly db: DatabaseSync) {
        this.db.exec(SCHEMA);
    }

    /** The latest scan of a stack; an empty list records that it was checked and found healthy. */
    setFindings(stack: string, findings: readonly unknown[], now = new Date()): void {
        this.db.prepare("INSERT OR REPLACE INTO stack_findings (stack, findings, at) VALUES (?, ?, ?)").run(stack, JSON.stringify(findings), now.toISOString());
    }

    findingsOf(stack: string): { findings: unknown[]; at: string } | undefined {
        const row = this.db.prepare("SELECT findings, at FROM stack_findings WHERE stack = ?").get(stack) as { findings: string; at: string } | undefined;
        return row ? { findings: JSON.parse(row.findings) as unknown[], at: row.at } : undefined;
    }
}
