import type { Db } from "../storage/db";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS stack_links (
    stack TEXT PRIMARY KEY,
    outputs TEXT,
    outputs_job TEXT,
    stack_references TEXT,
    at TEXT NOT NULL
);
`;

/**
 * Per stack: the outputs its dependents were last compared against (the baseline the next
 * upstream change is measured from) and the StackReferences its program was last seen making.
 */
export class StackLinks {
    private constructor(private readonly db: Db) {}

    static async open(db: Db): Promise<StackLinks> {
        await db.exec(SCHEMA);
        return new StackLinks(db);
    }

    async get(stack: string): Promise<{ outputs?: Record<string, unknown>; outputsJob?: string; references?: string[] } | undefined> {
        const [r] = await this.db.query<Record<string, string | null>>("SELECT * FROM stack_links WHERE stack = $1", [stack]);
        if (!r) return undefined;
        return {
            ...(r.outputs !== null ? { outputs: JSON.parse(r.outputs) as Record<string, unknown> } : {}),
            ...(r.outputs_job ? { outputsJob: r.outputs_job } : {}),
            ...(r.stack_references !== null ? { references: JSON.parse(r.stack_references) as string[] } : {}),
        };
    }

    async setOutputs(stack: string, outputs: Record<string, unknown>, jobId: string, at: Date): Promise<void> {
        await this.db.query(
            "INSERT INTO stack_links (stack, outputs, outputs_job, at) VALUES ($1, $2, $3, $4) ON CONFLICT (stack) DO UPDATE SET outputs = excluded.outputs, outputs_job = excluded.outputs_job, at = excluded.at",
            [stack, JSON.stringify(outputs), jobId, at.toISOString()],
        );
    }

    async setReferences(stack: string, references: readonly string[], at: Date): Promise<void> {
        await this.db.query(
            "INSERT INTO stack_links (stack, stack_references, at) VALUES ($1, $2, $3) ON CONFLICT (stack) DO UPDATE SET stack_references = excluded.stack_references, at = excluded.at",
            [stack, JSON.stringify(references), at.toISOString()],
        );
    }
}
