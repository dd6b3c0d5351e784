// An instance whose host clock runs two hours ahead (libfaketime, the real clock of its
// process), on a shared Postgres beside a correct one: a 60-minute TTL destroy must not run
// early. Real processes, a real Postgres, the real CLI.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { api, prepareWorkspace, sleep, startService, waitJob, type ServiceProcess, type Workspace } from "../../../bench/lib";
import type { Job } from "../../../automation/jobs/types";
import { startPostgres, type TestPostgres } from "../../support/postgres";
import { call, prepareFixture, until } from "../harness";
import { startServiceProcess, type ServiceProcess as ProcessUnderTest } from "../processes";

describe("an instance whose clock is two hours ahead, on a shared database (real processes, libfaketime)", function () {
    this.timeout(300_000);
    let pg: TestPostgres;
    let w: Workspace;
    const instances = new Map<string, ServiceProcess>();
    before(async () => {
        pg = startPostgres();
        const databaseUrl = await pg.newDatabase();
        w = prepareWorkspace();
        w.configure("eph", { count: 1 });
        fs.mkdirSync(path.join(w.projectDir, "environments"), { recursive: true });
        fs.writeFileSync(path.join(w.projectDir, "environments", "eph.yaml"), "schedules:\n  destroy: { ttlMinutes: 60, remindMinutesBefore: 10 }\n");
        const libfaketime = execFileSync("bash", [path.join(__dirname, "../../../scripts/setup-faketime.sh")], { encoding: "utf8" }).trim();
        for (const [name, env] of [["right", {}], ["ahead", { LD_PRELOAD: libfaketime, FAKETIME: "+2h" }]] as const) {
            instances.set(
                name,
                await startService(w, {
                    AUTOMATION_DATABASE_URL: databaseUrl,
                    AUTOMATION_DATA_DIR: path.join(w.root, `data-${name}`),
                    AUTOMATION_INSTANCE_ID: name,
                    AUTOMATION_SCHEDULE_TICK_MS: "200",
                    ...env,
                }),
            );
        }
    });
    after(async () => {
        await Promise.all([...instances.values()].map((s) => s.stop()));
        pg?.stop();
    });

    it("makes no schedule decision on the instance whose clock is off, says so in /readyz, and destroys nothing early", async () => {
        const ahead = instances.get("ahead")!;
        const right = instances.get("right")!;
        // The clock of the instance's process really is two hours ahead.
        assert.ok(ahead.lines.some((l) => /"time":"([^"]+)"/.test(l) && Date.parse(/"time":"([^"]+)"/.exec(l)![1]) > Date.now() + 3600_000), "its log lines are stamped two hours ahead");
        const up = (await api(right.url, "POST", "/v1/stacks/eph/updates", w.tokens.operator, {})).body as Job;
        assert.equal((await waitJob(right.url, w.tokens.viewer, up.id, 120_000)).state, "succeeded");
        // Two seconds of ticks every 200 ms on both instances.
        await sleep(2000);
        const jobs = (await api(right.url, "GET", "/v1/jobs?stack=eph&limit=50", w.tokens.viewer)).body.jobs as Job[];
        assert.deepEqual(jobs.map((j) => j.op), ["update"], "no destroy ran");
        const ready = await fetch(`${ahead.url}/readyz`);
        const body = (await ready.json()) as { checks: Record<string, { ok: boolean; detail: string }> };
        assert.equal(ready.status, 503);
        assert.equal(body.checks.clock.ok, false);
        assert.match(body.checks.clock.detail, /clock is 7\d{6} ms ahead of the database's, more than AUTOMATION_MAX_CLOCK_SKEW_MS \(5000\); no schedule decisions/);
        assert.equal((await fetch(`${right.url}/readyz`)).status, 200);
        assert.ok(ahead.lines.some((l) => l.includes("clock disagrees with the database's")), "it said so in its log");
        // Both instances see the destroy an hour after the update, by the database's clock.
        for (const s of [right, ahead]) {
            const view = (await api(s.url, "GET", "/v1/stacks/eph", w.tokens.viewer)).body;
            const due = Date.parse(view.schedules.destroy.nextRun);
            assert.ok(Math.abs(due - (Date.parse((jobs[0] as Job).finishedAt!) + 3600_000)) < 5000, `${s.url}: due ${view.schedules.destroy.nextRun}`);
        }
    });
});

describe("the host's clock stepped 25 hours ahead under a running embedded service (real process, libfaketime)", function () {
    this.timeout(300_000);
    let p: ProcessUnderTest | undefined;
    after(async () => {
        if (p && p.child.exitCode === null) {
            p.child.kill("SIGTERM");
            await p.exited;
        }
    });

    it("runs no TTL destroy early, keeps a retried request's job, and says in /readyz that the clock moved", async () => {
        const f = prepareFixture();
        f.configure("eph", { count: 1 });
        fs.mkdirSync(path.join(f.projectDir, "environments"), { recursive: true });
        fs.writeFileSync(path.join(f.projectDir, "environments", "eph.yaml"), "schedules:\n  destroy: { ttlMinutes: 480, remindMinutesBefore: 60 }\n");
        const libfaketime = execFileSync("bash", [path.join(__dirname, "../../../scripts/setup-faketime.sh")], { encoding: "utf8" }).trim();
        // The offset is read from a file (re-read every second), so the test steps the clock while the service runs.
        const offset = path.join(path.dirname(f.dataDir), "faketime");
        fs.writeFileSync(offset, "+0\n");
        p = await startServiceProcess(f, {
            AUTOMATION_ENVIRONMENTS_DIR: path.join(f.projectDir, "environments"),
            AUTOMATION_SCHEDULE_TICK_MS: "200",
            LD_PRELOAD: libfaketime,
            FAKETIME_TIMESTAMP_FILE: offset,
            FAKETIME_CACHE_DURATION: "1",
            FAKETIME_DONT_FAKE_MONOTONIC: "1",
        });
        const up = await call(p.url, "POST", "/v1/stacks/eph/updates", { token: f.tokens.operator, body: {} });
        await until(async () => (["queued", "running"].includes((await call(p!.url, "GET", `/v1/jobs/${up.body.id}`, { token: f.tokens.viewer })).body.state) ? undefined : true), "the update");
        const key = "retry-after-the-step";
        const first = await call(p.url, "POST", "/v1/stacks/dev/previews", { token: f.tokens.operator, body: {}, headers: { "idempotency-key": key } });
        fs.writeFileSync(offset, "+25h\n");
        await sleep(4000);
        const jobs = (await call(p.url, "GET", "/v1/jobs?stack=eph&limit=50", { token: f.tokens.viewer })).body.jobs as Job[];
        assert.deepEqual(jobs.map((j) => j.op), ["update"], "no destroy ran");
        const retry = await call(p.url, "POST", "/v1/stacks/dev/previews", { token: f.tokens.operator, body: {}, headers: { "idempotency-key": key } });
        assert.equal(retry.body.id, first.body.id, "the key still answers its first job");
        const ready = await fetch(`${p.url}/readyz`);
        const body = (await ready.json()) as { checks: Record<string, { ok: boolean; detail: string }> };
        assert.equal(ready.status, 503);
        assert.match(body.checks.clock.detail, /the host's clock moved 9\d{7} ms ahead since the service started; no schedule decisions/);
    });
});
