// Stopping the service (a deploy, a restart) while an update is in the middle of a 20-second
// cloud operation: SIGTERM lets that operation finish, so the stack needs no repair; a second
// SIGTERM says what it abandons and kills it. Real processes, the real CLI.
import * as assert from "node:assert/strict";
import type { Job } from "../../../automation/jobs/types";
import { call, prepareFixture, until, type FixtureCopy } from "../harness";
import { startServiceProcess, type ServiceProcess } from "../processes";

const started = async (p: ServiceProcess, f: FixtureCopy, stack: string) => {
    const r = await call(p.url, "POST", `/v1/stacks/${stack}/updates`, { token: f.tokens.operator, body: {} });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    // Once the create of item-0 (the stand-in cloud call) is under way, not just the stack's own step.
    const creating = async () => ((await call(p.url, "GET", `/v1/jobs/${r.body.id}`, { token: f.tokens.viewer })).body as Job).summary?.steps.some((s) => s.urn.endsWith("::item-0"));
    await until(async () => ((await creating()) ? true : undefined), "the update to start creating item-0");
    return r.body as Job;
};

describe("stopping the service while an update is mid-operation (real processes)", function () {
    this.timeout(240_000);

    it("on SIGTERM waits its grace, then lets the 20-second create finish: the update ends interrupted, nothing killed, the stack needs no repair", async () => {
        const f = prepareFixture();
        f.configure("dev", { count: 1, delayMs: 20_000 });
        let p = await startServiceProcess(f, { AUTOMATION_SHUTDOWN_GRACE_MS: "2000" });
        const job = await started(p, f, "dev");
        const signalled = Date.now();
        p.child.kill("SIGTERM");
        assert.equal(await p.exited, 0);
        assert.ok(Date.now() - signalled > 10_000, "it waited for the create");
        assert.match(p.output(), /waiting for the in-flight steps of the running jobs to finish; a second signal abandons them/);
        p = await startServiceProcess(f);
        try {
            const after = (await call(p.url, "GET", `/v1/jobs/${job.id}`, { token: f.tokens.viewer })).body as Job;
            assert.equal(after.state, "interrupted");
            const events = (await call(p.url, "GET", `/v1/jobs/${job.id}/log?limit=1000`, { token: f.tokens.viewer })).body;
            assert.ok(!JSON.stringify(events).includes("killed"), "nothing was killed");
            const stack = (await call(p.url, "GET", "/v1/stacks/dev", { token: f.tokens.viewer })).body;
            assert.notEqual(stack.repair?.needed, true, JSON.stringify(stack.repair));
        } finally {
            p.child.kill("SIGTERM");
            await p.exited;
        }
    });

    it("on a second SIGTERM says which job and which operation it abandons, kills it and exits", async () => {
        const f = prepareFixture();
        f.configure("dev", { count: 1, delayMs: 60_000 });
        const p = await startServiceProcess(f, { AUTOMATION_SHUTDOWN_GRACE_MS: "1000" });
        const job = await started(p, f, "dev");
        p.child.kill("SIGTERM");
        await until(async () => (p.output().includes("a second signal abandons them") ? true : undefined), "the first signal's wait", 30_000);
        const second = Date.now();
        p.child.kill("SIGTERM");
        assert.equal(await p.exited, 0);
        assert.ok(Date.now() - second < 20_000, "it did not wait for the 60-second create");
        const line = p.output().split("\n").find((l) => l.includes("told again to stop"));
        assert.ok(line, p.output());
        const logged = JSON.parse(line!) as { abandoned: { jobId: string; stack: string; op: string; leavesBehind: { inFlight: { urn: string; op: string }[] } }[] };
        assert.deepEqual(logged.abandoned.map((a) => [a.jobId, a.stack, a.op, a.leavesBehind.inFlight.map((s) => [s.urn.split("::").pop(), s.op])]), [[job.id, "dev", "update", [["item-0", "create"]]]]);
    });
});
