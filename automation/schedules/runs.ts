import type { Db } from "../storage/db";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS schedule_runs (
    stack TEXT NOT NULL,
    kind TEXT NOT NULL,
    slot TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    job_id TEXT,
    note TEXT,
    PRIMARY KEY (stack, kind, slot)
);
`;

/** What one scheduled moment of a stack did. */
export interface ScheduleRun {
    stack: string;
    /** "drift-check", "remediation", "destroy-reminder", "destroy". */
    kind: string;
    /** The moment it was for (ISO), or the job it follows (a remediation follows its drift check). */
    slot: string;
    claimedBy: string;
    claimedAt: string;
    jobId?: string;
    /** Why it started no job, when it did not (the stack busy, the policy refusing…). */
    note?: string;
}

/**
 * Each scheduled moment, claimed once: whichever instance inserts (stack, kind, slot) first runs
 * it, every other one finds it taken. This is what makes a schedule run exactly once however
 * many instances tick.
 */
export class ScheduleRuns {
    private constructor(private readonly db: Db) {}

    static async open(db: Db): Promise<ScheduleRuns> {
        await db.exec(SCHEMA);
        return new ScheduleRuns(db);
    }

    /** True for the one caller that claimed the moment. */
    async claim(stack: string, kind: string, slot: string, by: string, at: Date): Promise<boolean> {
        const rows = await this.db.query(
            "INSERT INTO schedule_runs (stack, kind, slot, claimed_by, claimed_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (stack, kind, slot) DO NOTHING RETURNING stack",
            [stack, kind, slot, by, at.toISOString()],
        );
        return rows.length === 1;
    }

    async settle(stack: string, kind: string, slot: string, outcome: { jobId?: string; note?: string }): Promise<void> {
        await this.db.query("UPDATE schedule_runs SET job_id = $4, note = $5 WHERE stack = $1 AND kind = $2 AND slot = $3", [stack, kind, slot, outcome.jobId ?? null, outcome.note ?? null]);
    }

    async last(stack: string, kind: string): Promise<ScheduleRun | undefined> {
        const [r] = await this.db.query<Record<string, string | null>>(
            "SELECT * FROM schedule_runs WHERE stack = $1 AND kind = $2 ORDER BY claimed_at DESC LIMIT 1",
            [stack, kind],
        );
        return r
            ? {
                  stack: String(r.stack),
                  kind: String(r.kind),
                  slot: String(r.slot),
                  claimedBy: String(r.claimed_by),
                  claimedAt: String(r.claimed_at),
                  ...(r.job_id ? { jobId: r.job_id } : {}),
                  ...(r.note ? { note: r.note } : {}),
              }
            : undefined;
    }

    async count(stack: string, kind: string): Promise<number> {
        const [r] = await this.db.query<{ n: string | number }>("SELECT COUNT(*) AS n FROM schedule_runs WHERE stack = $1 AND kind = $2", [stack, kind]);
        return Number(r?.n ?? 0);
    }
}
