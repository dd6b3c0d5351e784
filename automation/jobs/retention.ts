// What a year of jobs leaves behind is mostly their engine events and logs (24.6 KB a job, 21.8
// of it events) and update plans (27 KB each): kept for AUTOMATION_JOB_RETENTION, then deleted.
// Each job's row and summary stay (approvals and the audit log name jobs by id), and each
// stack's newest job stays whole. The audit log is never deleted (audit/fileLog.ts compresses it).
import * as fs from "node:fs";
import * as path from "node:path";
import type { Logger } from "../logger";
import type { SharedPlans } from "./plans";
import type { JobStore } from "./store";

/** `90d`, `12h`, `15m` or `30s` in milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
    const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
    if (!m) return undefined;
    return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s" | "m" | "h" | "d"];
}

export interface RetentionDeps {
    store: Pick<JobStore, "prune">;
    /** The update plans in the shared database; undefined with the embedded store. */
    sharedPlans?: Pick<SharedPlans, "prune">;
    plansDir: string;
    retentionMs: number;
    now: () => Date;
    logger: Logger;
}

export class Retention {
    private timer?: NodeJS.Timeout;
    private running?: Promise<void>;

    constructor(private readonly d: RetentionDeps) {}

    /** Prunes now and then every `everyMs` (an hour). */
    start(everyMs = 3_600_000): void {
        void this.run();
        this.timer = setInterval(() => void this.run(), everyMs);
        this.timer.unref();
    }

    async stop(): Promise<void> {
        clearInterval(this.timer);
        await this.running;
    }

    /** One pass; never throws (the next pass tries again). */
    run(): Promise<void> {
        this.running ??= this.prune().finally(() => (this.running = undefined));
        return this.running;
    }

    private async prune(): Promise<void> {
        const before = new Date(this.d.now().getTime() - this.d.retentionMs);
        try {
            const { jobIds, ...counts } = await this.d.store.prune(before);
            // A plan goes with its preview's events: the newest job of a stack keeps both.
            const sharedPlans = (await this.d.sharedPlans?.prune(jobIds)) ?? 0;
            const plans = this.pruneLocalPlans(jobIds);
            if (counts.jobs || plans || sharedPlans) this.d.logger.info({ before: before.toISOString(), ...counts, plans, sharedPlans }, "retention: deleted the events, logs and plans of old jobs");
        } catch (err) {
            this.d.logger.warn({ err }, "retention pass failed; the next one tries again");
        }
    }

    /** The plan files of pruned previews (this instance's copies). */
    private pruneLocalPlans(jobIds: readonly string[]): number {
        let n = 0;
        for (const id of jobIds) {
            const file = path.join(this.d.plansDir, `${id}.json`);
            if (!fs.existsSync(file)) continue;
            fs.rmSync(file, { force: true });
            n++;
        }
        return n;
    }
}
