import type { Db } from "../storage/db";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS stack_findings (
    stack TEXT PRIMARY KEY,
    findings TEXT NOT NULL,
    at TEXT NOT NULL
);
`;

/** The latest recovery scan of each stack (a table in the durable database). */
export class FindingsStore {
    private constructor(private readonly db: Db) {}

    static async open(db: Db): Promise<FindingsStore> {
        await db.exec(SCHEMA);
        return new FindingsStore(db);
    }

    /** The latest scan of a stack; an empty list records that it was checked and found healthy. */
    async setFindings(stack: string, findings: readonly unknown[], now = new Date()): Promise<void> {
        await this.db.query(
            "INSERT INTO stack_findings (stack, findings, at) VALUES ($1, $2, $3) ON CONFLICT (stack) DO UPDATE SET findings = excluded.findings, at = excluded.at",
            [stack, JSON.stringify(findings), now.toISOString()],
        );
    }

    async findingsOf(stack: string): Promise<{ findings: unknown[]; at: string } | undefined> {
        const [row] = await this.db.query<{ findings: string; at: string }>("SELECT findings, at FROM stack_findings WHERE stack = $1", [stack]);
        return row ? { findings: JSON.parse(row.findings) as unknown[], at: row.at } : undefined;
    }
}
