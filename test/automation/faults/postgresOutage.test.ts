// The shared Postgres goes away for 15 s while jobs run on two instances (real processes, real
// Postgres stopped and started again, real CLI): no instance exits, each job is recorded as
// what happened once the database is back, /readyz says 503 meanwhile, and new work runs after.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { api, prepareWorkspace, sleep, startService, waitJob, type ServiceProcess, type Workspace } from "../../../bench/lib";
import type { Job } from "../../../automation/jobs/types";
import { startPostgres, type TestPostgres } from "../../support/postgres";

describe("a Postgres outage while jobs run (two instances, real processes)", function () {
    this.timeout(600_000);
    let pg: TestPostgres;
    let w: Workspace;
    const instances: ServiceProcess[] = [];
    before(async () => {
        pg = startPostgres();
        const databaseUrl = await pg.newDatabase();
        w = prepareWorkspace();
        for (const name of ["a", "b"]) {
            instances.push(
                await startService(w, {
                    AUTOMATION_DATABASE_URL: databaseUrl,
                    AUTOMATION_DATA_DIR: path.join(w.root, `data-${name}`),
                    AUTOMATION_INSTANCE_ID: name,
                    AUTOMATION_HEARTBEAT_MS: "1000",
                    AUTOMATION_INSTANCE_SILENCE_MS: "30000",
                }),
            );
        }
    });
    after(async () => {
        await Promise.all(instances.map((s) => s.stop()));
        pg?.stop();
    });

    it("rides it out: no instance exits, the updates that ended meanwhile are recorded succeeded, readiness says 503 until it is back", async () => {
        w.configure("dev", { count: 1, delayMs: 4000 });
        w.configure("prod", { count: 1, delayMs: 4000 });
        const jobs: Job[] = [];
        for (const [i, stack] of ["dev", "prod"].entries()) {
            const r = await api(instances[i].url, "POST", `/v1/stacks/${stack}/updates`, w.tokens.operator, {});
            assert.equal(r.status, 202, JSON.stringify(r.body));
            jobs.push(r.body);
        }
        // Both are running, their creates under way, when the database goes.
        for (const [i, job] of jobs.entries()) {
            for (let t = 0; (await api(instances[i].url, "GET", `/v1/jobs/${job.id}`, w.tokens.viewer)).body.state !== "running"; t++) {
                assert.ok(t < 600, "the job started");
                await sleep(100);
            }
        }
        await sleep(1000);
        pg.pause();
        const readiness: number[] = [];
        try {
            for (let t = 0; t < 15; t++) {
                readiness.push((await fetch(`${instances[0].url}/readyz`).then((r) => r.status, () => 0)));
                await sleep(1000);
            }
        } finally {
            pg.resume();
        }
        assert.ok(readiness.includes(503), `readiness during the outage: ${readiness.join(",")}`);
        for (const s of instances) assert.equal(s.child.exitCode, null, `the instance is still running:\n${s.lines.slice(-12).join("\n")}`);
        for (const [i, job] of jobs.entries()) {
            const done = await waitJob(instances[i].url, w.tokens.viewer, job.id, 120_000);
            assert.equal(done.state, "succeeded", `${job.stack}: ${JSON.stringify(done.error)}`);
        }
        for (const s of instances) assert.equal((await fetch(`${s.url}/readyz`)).status, 200);
        // The last-resort handler in main.ts is not what kept them alive: nothing went unhandled.
        for (const s of instances) assert.ok(!s.lines.some((l) => l.includes("nothing handled it")), s.lines.filter((l) => l.includes("nothing handled it")).join("\n"));
        const after = await api(instances[1].url, "POST", "/v1/stacks/dev/previews", w.tokens.operator, {});
        assert.equal((await waitJob(instances[1].url, w.tokens.viewer, after.body.id, 120_000)).state, "succeeded", "new work runs after the outage");
    });
});

describe("a Postgres outage longer than the instances' silence (two instances, real processes)", function () {
    this.timeout(600_000);
    let pg: TestPostgres;
    let w: Workspace;
    const instances: ServiceProcess[] = [];
    before(async () => {
        pg = startPostgres();
        const databaseUrl = await pg.newDatabase();
        w = prepareWorkspace();
        for (const name of ["a", "b"]) {
            instances.push(
                await startService(w, {
                    AUTOMATION_DATABASE_URL: databaseUrl,
                    AUTOMATION_DATA_DIR: path.join(w.root, `data-${name}`),
                    AUTOMATION_INSTANCE_ID: name,
                    AUTOMATION_HEARTBEAT_MS: "500",
                    AUTOMATION_INSTANCE_SILENCE_MS: "4000",
                }),
            );
        }
    });
    after(async () => {
        await Promise.all(instances.map((s) => s.stop()));
        pg?.stop();
    });

    it("takes nobody for dead after it: nobody could beat, so no running update is interrupted or killed", async () => {
        // Longer than the silence: each instance must have watched the others beat again before judging them.
        await sleep(5000);
        w.configure("dev", { count: 1, delayMs: 12_000 });
        w.configure("prod", { count: 1, delayMs: 12_000 });
        const jobs: Job[] = [];
        for (const [i, stack] of ["dev", "prod"].entries()) jobs.push((await api(instances[i].url, "POST", `/v1/stacks/${stack}/updates`, w.tokens.operator, {})).body);
        for (const [i, job] of jobs.entries()) {
            for (let t = 0; (await api(instances[i].url, "GET", `/v1/jobs/${job.id}`, w.tokens.viewer)).body.state !== "running"; t++) {
                assert.ok(t < 600, "the job started");
                await sleep(100);
            }
        }
        pg.pause();
        try {
            await sleep(10_000);
        } finally {
            pg.resume();
        }
        for (const [i, job] of jobs.entries()) {
            const done = await waitJob(instances[i].url, w.tokens.viewer, job.id, 120_000);
            assert.equal(done.state, "succeeded", `${job.stack}: ${JSON.stringify(done.error)}`);
        }
        for (const s of instances) {
            assert.ok(!s.lines.some((l) => l.includes("stopped answering") || l.includes("fenced out")), s.lines.filter((l) => l.includes("stopped answering") || l.includes("fenced out")).join("\n"));
        }
    });
});
