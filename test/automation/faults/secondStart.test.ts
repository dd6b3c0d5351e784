// A second `npm start` on a data dir a running service owns — the same port, another port — as
// an operator's slip or a supervisor restarting too early makes it: it must be refused before it
// touches anything, naming the holder, and the first one's running update must not notice.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Job } from "../../../automation/jobs/types";
import { call, prepareFixture, until, type FixtureCopy } from "../harness";
import { startServiceProcess, type ServiceProcess } from "../processes";

describe("a second service started on a data dir another one owns (real processes, CLI)", function () {
    this.timeout(180_000);
    let f: FixtureCopy;
    let first: ServiceProcess | undefined;
    after(async () => {
        if (first && first.child.exitCode === null) {
            first.child.kill("SIGTERM");
            await first.exited;
        }
    });

    it("is refused before any recovery, naming the holder's pid, host and start, while the first one's update runs on and the audit chain stays whole", async () => {
        f = prepareFixture();
        f.configure("dev", { delayMs: 6000, count: 1 });
        first = await startServiceProcess(f);
        const port = new URL(first.url).port;
        const up = (await call(first.url, "POST", "/v1/stacks/dev/updates", { token: f.tokens.operator, body: {} })).body as Job;
        await until(async () => ((await call(first!.url, "GET", `/v1/jobs/${up.id}`, { token: f.tokens.viewer })).body.summary?.steps.length ? true : undefined), "the update to start creating");
        const auditBefore = fs.readFileSync(path.join(f.dataDir, "audit.jsonl"), "utf8");

        for (const env of [{ PORT: port }, { PORT: "0" }]) {
            const refused = await startServiceProcess(f, env).then(
                (p) => {
                    p.child.kill("SIGKILL");
                    return "started";
                },
                (e: Error & { code: number; output: string }) => e,
            );
            assert.notEqual(refused, "started", `a second service on port ${env.PORT} started`);
            const { code, output } = refused as { code: number; output: string };
            assert.equal(code, 1);
            assert.match(output, new RegExp(`data dir ${f.dataDir.replace(/[/.]/g, "\\$&")} is in use by another automation service process \\(pid ${first.child.pid} on \\S+, since \\d{4}-`));
        }
        assert.equal(fs.readFileSync(path.join(f.dataDir, "audit.jsonl"), "utf8"), auditBefore, "the refused ones appended nothing to the audit log");

        const done = await until(async () => {
            const j = (await call(first!.url, "GET", `/v1/jobs/${up.id}`, { token: f.tokens.viewer })).body as Job;
            return ["queued", "running"].includes(j.state) ? undefined : j;
        }, "the update to end", 120_000);
        assert.equal(done.state, "succeeded", JSON.stringify(done.error));
        const audit = (await call(first.url, "GET", "/v1/audit?limit=1", { token: f.tokens.admin })).body;
        assert.equal(audit.verification.ok, true, JSON.stringify(audit.verification));
        const stack = (await call(first.url, "GET", "/v1/stacks/dev", { token: f.tokens.viewer })).body;
        assert.notEqual(stack.repair?.needed, true);
    });

    it("starts once the holder has gone, even when it was killed without a chance to let go", async () => {
        first!.child.kill("SIGKILL");
        await first!.exited;
        const next = await startServiceProcess(f);
        try {
            assert.equal((await call(next.url, "GET", "/healthz")).status, 200);
        } finally {
            next.child.kill("SIGTERM");
            await next.exited;
        }
    });
});
