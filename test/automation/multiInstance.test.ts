// Several service instances, each its own process (what `npm start` runs), on one real Postgres
// (AUTOMATION_DATABASE_URL) and one shared state backend, on the fixture project and the real
// CLI: one line per stack across all of them, reads and streams from any, cancels from any, and
// the failover when one is killed.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { api, descendants, prepareWorkspace, readSse, sleep, startService, waitJob, type ServiceProcess, type Workspace } from "../../bench/lib";
import type { Job } from "../../automation/jobs/types";
import { backendPaths, readPendingOperations } from "../../automation/recovery/scan";
import { startPostgres, type TestPostgres } from "../support/postgres";

const SILENCE_MS = 4000;

describe("several service instances on one Postgres", function () {
    this.timeout(600_000);
    let pg: TestPostgres;
    let w: Workspace;
    let databaseUrl: string;
    const running = new Map<string, ServiceProcess>();

    const start = async (name: string, env: Record<string, string> = {}) => {
        const s = await startService(w, {
            AUTOMATION_DATABASE_URL: databaseUrl,
            AUTOMATION_DATA_DIR: path.join(w.root, `data-${name}`),
            AUTOMATION_INSTANCE_ID: name,
            AUTOMATION_HEARTBEAT_MS: "250",
            AUTOMATION_INSTANCE_SILENCE_MS: String(SILENCE_MS),
            // Far above the cancel test's 1-s steps: on a loaded runner a 3-s grace ran out
            // before the engine finished them, and the kill left the stack needing repair.
            AUTOMATION_CANCEL_GRACE_MS: "30000",
            ...env,
        });
        running.set(name, s);
        return s;
    };
    const url = (name: string) => running.get(name)!.url;
    const submit = async (on: string, stack: string, op: "updates" | "refreshes" | "previews", body: object = {}) => {
        const r = await api(url(on), "POST", `/v1/stacks/${stack}/${op}`, w.tokens.operator, body);
        assert.equal(r.status, 202, `${on}: ${JSON.stringify(r.body)}`);
        return r.body as Job;
    };
    const jobOn = async (on: string, id: string) => (await api(url(on), "GET", `/v1/jobs/${id}`, w.tokens.viewer)).body as Job;
    const until = async <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const v = await check();
            if (v !== undefined) return v;
            if (Date.now() > deadline) throw new Error(`still waiting for ${what}`);
            await sleep(100);
        }
    };

    before(async () => {
        pg = startPostgres();
        databaseUrl = await pg.newDatabase();
        w = prepareWorkspace();
        await Promise.all(["a", "b"].map((n) => start(n)));
    });
    after(async () => {
        await Promise.all([...running.values()].map((s) => s.stop()));
        pg?.stop();
    });

    it("runs the jobs of one stack one at a time, in the order they came, whichever instance each was sent to", async () => {
        w.configure("dev", { count: 2, delayMs: 300, content: "v1" });
        const sent: Job[] = [];
        for (const [i, op] of (["updates", "refreshes", "updates", "refreshes"] as const).entries()) sent.push(await submit(i % 2 ? "b" : "a", "dev", op));
        const other = await submit("b", "prod", "refreshes");
        const done = await Promise.all(sent.map((j) => waitJob(url(j.id.length % 2 ? "a" : "b"), w.tokens.viewer, j.id)));
        assert.deepEqual(done.map((j) => j.state), ["succeeded", "succeeded", "succeeded", "succeeded"], JSON.stringify(done.map((j) => j.error)));
        for (let i = 1; i < done.length; i++) {
            assert.ok(Date.parse(done[i].startedAt!) >= Date.parse(done[i - 1].finishedAt!), `job ${i} started before job ${i - 1} finished`);
        }
        for (const j of done) assert.ok(["a", "b"].includes(j.instance!), `ran on ${j.instance}`);
        assert.equal((await waitJob(url("a"), w.tokens.viewer, other.id)).state, "succeeded");
        // Every instance answers for every job, the same.
        for (const j of done) assert.deepEqual(await jobOn("a", j.id), await jobOn("b", j.id));
    });

    it("streams from one instance, live and to the end, the events of a job another instance runs, and resumes after Last-Event-ID", async () => {
        w.configure("dev", { count: 3, delayMs: 400, content: "v2" });
        const job = await submit("a", "dev", "updates");
        const started = await until("the update to start", async () => {
            const j = await jobOn("a", job.id);
            return j.state === "running" ? j : undefined;
        });
        const watcher = started.instance === "a" ? "b" : "a";
        const records = await readSse(url(watcher), w.tokens.viewer, job.id);
        const stored = await until("the job to finish", async () => {
            const j = await jobOn(watcher, job.id);
            return j.state === "succeeded" ? j : undefined;
        });
        assert.equal(stored.instance, started.instance);
        assert.deepEqual(records.map((r) => r.id), records.map((_, i) => i + 1), "every event, once, in order");
        assert.equal(records[records.length - 1].event, "state");
        assert.equal(records[records.length - 1].data.data.state, "succeeded");
        assert.ok(records.some((r) => r.event === "resourcePreEvent"), "the engine's steps, not only the states");
        const tail = await readSse(url(watcher), w.tokens.viewer, job.id, undefined, records.length - 3);
        assert.deepEqual(tail.map((r) => r.id), [records.length - 2, records.length - 1, records.length]);
    });

    it("cancels from one instance a job another instance runs, showing it cancelling from both", async () => {
        // Steps of 1 s, well inside the cancel grace: the cancel lets them finish, and the stack
        // is left whole for the tests after (asserted below: a kill would leave it needing repair).
        w.configure("dev", { count: 3, delayMs: 1000, content: "v3" });
        const job = await submit("b", "dev", "updates");
        const started = await until("the update to start", async () => {
            const j = await jobOn("b", job.id);
            return j.state === "running" && j.instance ? j : undefined;
        });
        const other = started.instance === "a" ? "b" : "a";
        const r = await api(url(other), "POST", `/v1/jobs/${job.id}/cancel`, w.tokens.operator);
        assert.equal(r.status, 202, JSON.stringify(r.body));
        assert.equal(r.body.state, "cancelling");
        assert.equal((await jobOn(started.instance!, job.id)).state, "cancelling");
        const done = await until("the cancel to land", async () => {
            const j = await jobOn(other, job.id);
            return j.state === "cancelling" || j.state === "running" ? undefined : j;
        });
        assert.equal(done.state, "cancelled", JSON.stringify(done.error));
        assert.match(done.error!.message, /Cancelled by otto-operator/);
        const stack = (await api(url(other), "GET", "/v1/stacks/dev", w.tokens.viewer)).body;
        assert.notEqual(stack.repair?.needed, true, `a graceful cancel leaves nothing to repair: ${JSON.stringify(stack.repair)}`);
    });

    it("holds each stack's line limit across instances, even for requests sent to both at once: past it, either answers 409 QUEUE_FULL", async () => {
        await Promise.all(["a", "b"].map((n) => running.get(n)!.stop()));
        running.clear();
        await Promise.all(["a", "b"].map((n) => start(n, { AUTOMATION_QUEUE_LIMIT: "2" })));
        w.configure("dev", { count: 3, delayMs: 2000, content: "v4" });
        const first = await submit("a", "dev", "updates");
        await until("the update to start", async () => ((await jobOn("a", first.id)).state === "running" ? true : undefined));
        // Twelve at once, six to each instance, for the two places left in the line: two get them.
        const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => api(url(i % 2 ? "a" : "b"), "POST", "/v1/stacks/dev/refreshes", w.tokens.operator, {})));
        const waiting = burst.filter((r) => r.status === 202).map((r) => r.body as Job);
        assert.equal(waiting.length, 2, JSON.stringify(burst.map((r) => r.status)));
        assert.deepEqual([...new Set(burst.filter((r) => r.status !== 202).map((r) => `${r.status} ${r.body.error?.code}`))], ["409 QUEUE_FULL"]);
        for (const on of ["a", "b"]) {
            const r = await api(url(on), "POST", "/v1/stacks/dev/refreshes", w.tokens.operator, {});
            assert.equal(r.status, 409, JSON.stringify(r.body));
            assert.equal(r.body.error.code, "QUEUE_FULL");
        }
        const stack = (await api(url("b"), "GET", "/v1/stacks/dev", w.tokens.viewer)).body;
        assert.deepEqual([stack.state, stack.runningJob, stack.queued], ["running", first.id, 2]);
        for (const j of [first, ...waiting]) assert.equal((await waitJob(url("b"), w.tokens.viewer, j.id)).state, "succeeded");
    });

    it("applies an approved update on another instance than its preview's, under the plan that preview kept in the database", async () => {
        await Promise.all([...running.values()].map((x) => x.stop()));
        running.clear();
        const environments = path.join(w.root, "environments");
        fs.mkdirSync(environments, { recursive: true });
        fs.writeFileSync(path.join(environments, "prod.yaml"), "operations:\n  update: { approvals: 1, approverRole: approver }\n");
        const env = { AUTOMATION_ENVIRONMENTS_DIR: environments };
        await Promise.all(["a", "b"].map((n) => start(n, env)));
        const reviewed = async (content: string) => {
            w.configure("prod", { count: 2, content });
            const p = await submit("a", "prod", "previews");
            const done = await waitJob(url("a"), w.tokens.viewer, p.id);
            assert.equal(done.state, "succeeded", JSON.stringify(done.error));
            assert.equal((await api(url("b"), "POST", `/v1/jobs/${p.id}/approvals`, w.tokens.approver, { decision: "approve" })).status, 201);
            return done;
        };
        const applyElsewhere = async (preview: Job) => {
            // Only an instance that did not run the preview is left to run the update.
            const other = preview.instance === "a" ? "b" : "a";
            await running.get(preview.instance!)!.stop();
            running.delete(preview.instance!);
            const u = await submit(other, "prod", "updates", { previewId: preview.id });
            const done = await waitJob(url(other), w.tokens.viewer, u.id);
            await start(preview.instance!, env);
            return { done, other };
        };
        const first = await reviewed("p1");
        const { done, other } = await applyElsewhere(first);
        assert.equal(done.state, "succeeded", JSON.stringify(done.error));
        assert.equal(done.instance, other);
        // Kept once, in the database: neither instance keeps a copy, and the update could only have run under the database's.
        for (const dir of ["a", "b"]) assert.ok(!fs.existsSync(path.join(w.root, `data-${dir}`, "plans", `${first.id}.json`)), `no copy of the plan in data-${dir}`);
        const plans = new Client({ connectionString: databaseUrl });
        await plans.connect();
        assert.equal((await plans.query("SELECT count(*)::int AS n FROM automation.plans WHERE preview_id = $1", [first.id])).rows[0].n, 1, "the plan is in the database");
        // Without it, the update is refused rather than run unbound to the review.
        await plans.query("DELETE FROM automation.plans WHERE preview_id = $1", [first.id]);
        await plans.end();
        // The plan is really used: swapped in the database for another preview's, the update fails on it.
        const stale = await reviewed("p2");
        const swapped = await reviewed("p3");
        const db = new Client({ connectionString: databaseUrl });
        await db.connect();
        await db.query("UPDATE automation.plans SET plan = (SELECT plan FROM automation.plans WHERE preview_id = $1) WHERE preview_id = $2", [stale.id, swapped.id]);
        await db.end();
        for (const dir of ["a", "b"]) fs.rmSync(path.join(w.root, `data-${dir}`, "plans", `${swapped.id}.json`), { force: true });
        const refused = (await applyElsewhere(swapped)).done;
        assert.equal(refused.state, "failed");
        const log = await api(url(refused.instance!), "GET", `/v1/jobs/${refused.id}/log?limit=1000`, w.tokens.viewer);
        assert.match(JSON.stringify(log.body), /violates plan/);
    });

    it("interrupts the job of a killed instance once it is silent, scans its stack, and runs the stack's next job on a live one", async () => {
        await start("victim", { AUTOMATION_CONCURRENCY: "4" });
        // Two new items whose creates hang (the first two exist from the tests before).
        w.configure("dev", { count: 4, delayMs: 0, content: "v4", hangMs: 60_000 });
        // Only the victim takes work while the update is sent, so it is the victim's.
        await Promise.all(["a", "b"].map((n) => running.get(n)!.stop()));
        const update = await submit("victim", "dev", "updates");
        // Killed mid-create: once the engine has recorded the creates it began.
        const checkpoint = backendPaths(w.backendDir, "fixture", "dev").checkpoint;
        await until("pending creates in the checkpoint", async () => (readPendingOperations(checkpoint).length > 0 ? true : undefined));
        await start("a");
        const next = await submit("a", "dev", "refreshes");
        // As when its machine dies: the service, its worker, the CLI and the provider, all at once.
        const victim = running.get("victim")!;
        const tree = [victim.pid, ...descendants(victim.pid).map((p) => p.pid)];
        const killedAt = Date.now();
        for (const pid of tree) process.kill(pid, "SIGKILL");
        running.delete("victim");
        const interrupted = await until("the killed instance's job to be interrupted", async () => {
            const j = await jobOn("a", update.id);
            return j.state === "running" ? undefined : j;
        });
        const tookMs = Date.now() - killedAt;
        assert.equal(interrupted.state, "interrupted");
        assert.match(interrupted.error!.message, /The service instance running it \(victim\) stopped answering for 4 s; the job was not retried/);
        assert.ok(tookMs >= SILENCE_MS - 500 && tookMs < SILENCE_MS + 15_000, `interrupted ${tookMs} ms after the kill`);
        // The create it hung in is a pending operation: the stack needs an admin's repair, and its next job says so.
        const after = await waitJob(url("a"), w.tokens.viewer, next.id);
        const stack = (await api(url("a"), "GET", "/v1/stacks/dev", w.tokens.viewer)).body;
        assert.equal(stack.repair?.needed, true, JSON.stringify(stack.repair));
        assert.equal(after.state, "failed");
        assert.equal(after.error?.code, "NEEDS_REPAIR");
        assert.equal(after.instance ?? "a", "a");
        // Repaired from a live instance, the stack takes work again.
        const repaired = await api(url("a"), "POST", "/v1/stacks/dev/repair", w.tokens.admin, {});
        assert.equal(repaired.status, 200, JSON.stringify(repaired.body));
        w.configure("dev", { count: 2, content: "v5" });
        const again = await waitJob(url("a"), w.tokens.viewer, (await submit("a", "dev", "updates")).id);
        assert.equal(again.state, "succeeded", JSON.stringify(again.error));
        const audit = (await api(url("a"), "GET", "/v1/audit?limit=500", w.tokens.admin)).body;
        assert.equal(audit.verification.ok, true, JSON.stringify(audit.verification));
        // Nothing of the interrupted job stays in the queue's tables as a failed job.
        const db = new Client({ connectionString: databaseUrl });
        await db.connect();
        const left = await db.query("SELECT key FROM graphile_worker.jobs WHERE key = $1", [update.id]);
        await db.end();
        assert.deepEqual(left.rows, []);
    });
});
