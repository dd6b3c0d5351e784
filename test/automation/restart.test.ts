// The service as a real process (what `npm start` runs), killed and restarted around its jobs.
import * as assert from "node:assert/strict";
import type { Job } from "../../automation/jobs/types";
import { FixtureCopy, call, prepareFixture, until } from "./harness";
import { startServiceProcess, type ServiceProcess } from "./processes";

const startProcess = (f: FixtureCopy, env: Record<string, string> = {}) => startServiceProcess(f, { AUTOMATION_CANCEL_GRACE_MS: "5000", AUTOMATION_SHUTDOWN_GRACE_MS: "60000", ...env });

describe("automation service process across restarts", function () {
    this.timeout(240_000);
    let f: FixtureCopy;
    let proc: ServiceProcess | undefined;

    beforeEach(() => {
        f = prepareFixture();
    });
    afterEach(async () => {
        if (proc && proc.child.exitCode === null) {
            proc.child.kill("SIGKILL");
            await proc.exited;
        }
    });

    it("loses no job when killed mid-queue: the running job becomes interrupted and the queued ones run after the restart", async () => {
        f.configure("dev", { delayMs: 3000, count: 1 });
        proc = await startProcess(f);
        const post = async (op: string) => (await call(proc!.url, "POST", `/v1/stacks/dev/${op}`, { token: f.tokens.operator, body: {} })).body as Job;
        const running = await post("updates");
        const queued = [await post("refreshes"), await post("previews")];
        const getJob = async (id: string) => (await call(proc!.url, "GET", `/v1/jobs/${id}`, { token: f.tokens.viewer })).body as Job;
        await until(async () => ((await getJob(running.id)).summary?.steps.length ? true : undefined), "the update to start creating");

        proc.child.kill("SIGKILL");
        await proc.exited;
        proc = await startProcess(f);

        const interrupted = await getJob(running.id);
        assert.equal(interrupted.state, "interrupted");
        assert.equal(interrupted.error?.code, "INTERRUPTED");
        for (const q of queued) {
            const done = await until(async () => {
                const j = await getJob(q.id);
                return ["queued", "running"].includes(j.state) ? undefined : j;
            }, `queued ${q.op}`, 180_000);
            assert.equal(done.state, "succeeded", `${q.op}: ${JSON.stringify(done.error)}`);
        }
    });

    it("on SIGTERM lets the running job finish, keeps queued jobs for the next start, and exits 0", async () => {
        f.configure("dev", { delayMs: 1500, count: 1 });
        proc = await startProcess(f);
        const post = async (op: string) => (await call(proc!.url, "POST", `/v1/stacks/dev/${op}`, { token: f.tokens.operator, body: {} })).body as Job;
        const running = await post("updates");
        const queued = await post("previews");
        await until(async () => ((await call(proc!.url, "GET", `/v1/jobs/${running.id}`, { token: f.tokens.viewer })).body.state === "running" ? true : undefined), "the update to run");

        proc.child.kill("SIGTERM");
        assert.equal(await proc.exited, 0);
        proc = await startProcess(f);
        const finished = (await call(proc.url, "GET", `/v1/jobs/${running.id}`, { token: f.tokens.viewer })).body as Job;
        assert.equal(finished.state, "succeeded");
        const waiting = (await call(proc.url, "GET", `/v1/jobs/${queued.id}`, { token: f.tokens.viewer })).body as Job;
        assert.ok(["queued", "running", "succeeded"].includes(waiting.state), waiting.state);
    });
});
