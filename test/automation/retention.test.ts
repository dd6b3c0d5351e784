// Retention on the real service and CLI: after AUTOMATION_JOB_RETENTION, a job keeps its row
// and summary but not its events, log or plan; each stack's newest job stays whole; the audit
// chain is untouched.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Job } from "../../automation/jobs/types";
import { parseDuration } from "../../automation/jobs/retention";
import { startHarness, type Harness } from "./harness";

describe("job retention (real service and CLI)", function () {
    this.timeout(240_000);
    let h: Harness;
    before(async () => {
        h = await startHarness({ env: { AUTOMATION_JOB_RETENTION: "3s" }, policies: { "prod.yaml": "operations:\n  update: { approvals: 1, approverRole: approver }\n" } });
    });
    after(async () => h?.stop());
    const preview = async (stack: string) => h.waitFor((await h.call("POST", `/v1/stacks/${stack}/previews`, { token: h.tokens.operator, body: {} })).body.id);

    it("reads its durations as 90d, 12h, 15m or 30s", () => {
        assert.deepEqual(["90d", "12h", "15m", "30s", "1w", "12", "-1d"].map(parseDuration), [90 * 86_400_000, 12 * 3_600_000, 15 * 60_000, 30_000, undefined, undefined, undefined]);
    });

    it("deletes the events, log and plan of jobs past the retention, keeping their rows and summaries and each stack's newest job whole", async () => {
        const old: Job[] = [await preview("prod"), await preview("dev")];
        const newest: Job[] = [await preview("prod"), await preview("dev")];
        const plans = path.join(h.dataDir, "plans");
        assert.ok(fs.existsSync(path.join(plans, `${old[0].id}.json`)), "prod's preview saved its plan");
        await new Promise((r) => setTimeout(r, 3500));
        // Retention runs at start (and hourly).
        await h.restart();
        for (let t = 0; fs.existsSync(path.join(plans, `${old[0].id}.json`)); t++) {
            assert.ok(t < 100, "the old plan was deleted");
            await new Promise((r) => setTimeout(r, 100));
        }
        for (const job of old) {
            const kept = (await h.call("GET", `/v1/jobs/${job.id}`, { token: h.tokens.viewer })).body as Job;
            assert.deepEqual([kept.state, kept.summary?.counts], ["succeeded", job.summary?.counts], "the row and its summary stay");
            assert.deepEqual((await h.call("GET", `/v1/jobs/${job.id}/log`, { token: h.tokens.viewer })).body.lines, []);
            assert.equal((await h.server.store.eventsAfter(job.id, 0, 10)).length, 0);
        }
        for (const job of newest) {
            assert.ok((await h.call("GET", `/v1/jobs/${job.id}/log`, { token: h.tokens.viewer })).body.lines.length > 0, `${job.stack}'s newest job keeps its log`);
            assert.ok((await h.server.store.eventsAfter(job.id, 0, 10)).length > 0);
        }
        assert.ok(fs.existsSync(path.join(plans, `${newest[0].id}.json`)), "the newest preview's plan stays");
        const audit = (await h.call("GET", "/v1/audit?limit=1", { token: h.tokens.admin })).body;
        assert.equal(audit.verification.ok, true);
    });
});
