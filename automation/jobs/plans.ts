import * as fs from "node:fs";
import * as path from "node:path";
import type { Pool } from "pg";
import { makeDirs } from "../lib/dirs";

const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS automation;
CREATE TABLE IF NOT EXISTS automation.plans (
    preview_id text PRIMARY KEY,
    plan bytea NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now()
);
`;

/**
 * The update plans of previews in mode "plan", where every instance finds them: the preview
 * may run on one instance and its approved update on another, and the update must still run
 * with `--plan` (the engine refusing any step the reviewed preview did not show). Each instance
 * writes a plan here when its preview succeeds and fetches it into its own plans dir before an
 * update needs it.
 */
export class SharedPlans {
    private constructor(private readonly pool: Pool) {}

    static async open(pool: Pool): Promise<SharedPlans> {
        await pool.query(SCHEMA);
        return new SharedPlans(pool);
    }

    async save(previewId: string, file: string): Promise<void> {
        await this.pool.query("INSERT INTO automation.plans (preview_id, plan) VALUES ($1, $2) ON CONFLICT (preview_id) DO UPDATE SET plan = excluded.plan, saved_at = now()", [previewId, fs.readFileSync(file)]);
    }

    /** Writes the preview's plan to `file` if the database has it; false when it does not. */
    async restore(previewId: string, file: string): Promise<boolean> {
        const { rows } = await this.pool.query<{ plan: Buffer }>("SELECT plan FROM automation.plans WHERE preview_id = $1", [previewId]);
        if (!rows[0]) return false;
        makeDirs(path.dirname(file), 0o700);
        fs.writeFileSync(file, rows[0].plan, { mode: 0o600 });
        return true;
    }

    /** Retention: the plans of these previews. */
    async prune(previewIds: readonly string[]): Promise<number> {
        if (!previewIds.length) return 0;
        return (await this.pool.query("DELETE FROM automation.plans WHERE preview_id = ANY($1)", [previewIds])).rowCount ?? 0;
    }
}
