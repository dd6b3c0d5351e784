// Cancelling, as the people involved would: an operator's cancel must let a running cloud
// operation finish (killing it mid-step leaves the stack needing repair), and the kill that
// does not wait is an admin's, told beforehand what it leaves behind and audited as such.
// Real service, CLI and fixture; the fixture's `delayMs` and `hangMs` stand in for a slow and
// a stuck cloud call.
import assert from "node:assert/strict";
import type { Job } from "../../automation/jobs/types";
import { startHarness, type Harness } from "./harness";

describe("cancelling a running update (real CLI)", function () {
    this.timeout(240_000);
    let h: Harness;
    const start = async (stack: string) => {
        const r = await h.call("POST", `/v1/stacks/${stack}/updates`, { token: h.tokens.operator, body: {} });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        return r.body as Job;
    };
    const events = async (jobId: string) => h.server.store.eventsAfter(jobId, 0, 10_000);
    const itemStarted = async (jobId: string) => (await events(jobId)).some((e) => e.type === "resourcePreEvent" && JSON.stringify(e.data).includes('dynamic:Resource::item-0"'));

    // No AUTOMATION_CANCEL_GRACE_MS: the default, which a deployment gets.
    before(async () => {
        h = await startHarness({ env: { AUTOMATION_CANCEL_GRACE_MS: "" } });
    });
    after(async () => h?.stop());

    it("lets a 20-second create finish after an operator's cancel: the job is cancelled, nothing was killed, the stack needs no repair", async () => {
        h.configure("slow", { delayMs: 20_000, count: 1 });
        const job = await start("slow");
        await h.waitFor(job.id, () => itemStarted(job.id));
        const asked = Date.now();
        const r = await h.call("POST", `/v1/jobs/${job.id}/cancel`, { token: h.tokens.operator });
        assert.deepEqual([r.status, r.body.state], [202, "cancelling"]);
        const done = await h.waitFor(job.id, undefined, 120_000);
        assert.equal(done.state, "cancelled");
        assert.ok(!(await events(job.id)).some((e) => e.type === "forceKill"), "no kill");
        assert.ok(Date.now() - asked > 10_000, "it waited for the create");
        const stack = await h.call("GET", "/v1/stacks/slow", { token: h.tokens.viewer });
        assert.notEqual(stack.body.repair?.needed, true, JSON.stringify(stack.body.repair));
        h.configure("slow", { count: 1 });
        const next = await start("slow");
        assert.equal((await h.waitFor(next.id)).state, "succeeded", "the next update runs on a consistent stack");
    });

    it("lets only an admin force a cancel, says first what it will leave behind, and audits it as a force-cancel", async () => {
        h.configure("stuck", { hangMs: 120_000, count: 1 });
        const job = await start("stuck");
        await h.waitFor(job.id, () => itemStarted(job.id));
        assert.equal((await h.call("POST", `/v1/jobs/${job.id}/cancel`, { token: h.tokens.operator })).body.state, "cancelling");
        const byOperator = await h.call("POST", `/v1/jobs/${job.id}/cancel`, { token: h.tokens.operator, body: { force: true } });
        assert.deepEqual([byOperator.status, byOperator.body.error?.code], [403, "FORBIDDEN"]);
        assert.match(byOperator.body.error.message, /needs an admin; a cancel without force lets the running steps finish/);
        const dryRun = await h.call("POST", `/v1/jobs/${job.id}/cancel`, { token: h.tokens.admin, body: { force: true, dryRun: true } });
        assert.equal(dryRun.status, 200, JSON.stringify(dryRun.body));
        assert.deepEqual(dryRun.body.leavesBehind.inFlight.map((s: { urn: string; op: string }) => [s.urn.split("::").pop(), s.op]), [["item-0", "create"]]);
        assert.equal(dryRun.body.leavesBehind.needsRepair, true);
        assert.match(dryRun.body.leavesBehind.message, /1 resource operation\(s\) are under way \(create .*item-0\); killing them leaves them pending/);
        assert.equal((await h.call("GET", `/v1/jobs/${job.id}`, { token: h.tokens.viewer })).body.state, "cancelling", "a dry run kills nothing");
        const forced = await h.call("POST", `/v1/jobs/${job.id}/cancel`, { token: h.tokens.admin, body: { force: true } });
        assert.equal(forced.status, 202, JSON.stringify(forced.body));
        assert.deepEqual(forced.body.leavesBehind, dryRun.body.leavesBehind);
        assert.equal((await h.waitFor(job.id, undefined, 30_000)).state, "cancelled");
        const audit = await h.call("GET", "/v1/audit?action=job.force-cancel", { token: h.tokens.admin });
        assert.equal(audit.body.entries.length, 1, JSON.stringify(audit.body.entries));
        const entry = audit.body.entries[0];
        assert.deepEqual([entry.actor.name, entry.jobId, entry.stack, entry.result], ["ada-admin", job.id, "stuck", "ok"]);
        assert.deepEqual(entry.details.leavesBehind.inFlight, dryRun.body.leavesBehind.inFlight);
    });
});
