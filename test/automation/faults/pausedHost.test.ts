// An instance paused past the silence (SIGSTOP of its whole process tree, as a stopped VM or a
// frozen container is), its job failed over by the other, then resumed (SIGCONT): the stack
// must never get a second writer. Real processes, a real Postgres, the real CLI.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { api, descendants, prepareWorkspace, sleep, startService, waitJob, type ServiceProcess, type Workspace } from "../../../bench/lib";
import type { Job } from "../../../automation/jobs/types";
import { startPostgres, type TestPostgres } from "../../support/postgres";

const SILENCE_MS = 4000;
const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
};

describe("an instance paused past the silence, then resumed (real processes)", function () {
    this.timeout(600_000);
    let pg: TestPostgres;
    let databaseUrl: string;
    let w: Workspace;
    const instances = new Map<string, ServiceProcess>();
    const url = (name: string) => instances.get(name)!.url;
    before(async () => {
        pg = startPostgres();
        databaseUrl = await pg.newDatabase();
        w = prepareWorkspace();
        for (const name of ["a", "b"]) {
            instances.set(
                name,
                await startService(w, {
                    AUTOMATION_DATABASE_URL: databaseUrl,
                    AUTOMATION_DATA_DIR: path.join(w.root, `data-${name}`),
                    AUTOMATION_INSTANCE_ID: name,
                    AUTOMATION_HEARTBEAT_MS: "250",
                    AUTOMATION_INSTANCE_SILENCE_MS: String(SILENCE_MS),
                }),
            );
        }
    });
    after(async () => {
        for (const s of instances.values()) {
            for (const p of descendants(s.pid)) process.kill(p.pid, "SIGCONT");
            process.kill(s.pid, "SIGCONT");
        }
        await Promise.all([...instances.values()].map((s) => s.stop()));
        pg?.stop();
    });
    const sql = async <T,>(text: string, params: unknown[] = []): Promise<T[]> => {
        const c = new Client({ connectionString: databaseUrl });
        await c.connect();
        try {
            return (await c.query(text, params)).rows as T[];
        } finally {
            await c.end();
        }
    };

    let job: Job;
    // Whichever instance's worker takes the job from the shared queue is the one paused.
    let victim = "a";
    let observer = "b";
    let paused: number[] = [];
    let jobTree: number[] = [];
    let workerPid: number;

    it("fences the stack of the job it failed over: unlock and repair are refused while the paused process may resume", async () => {
        w.configure("dev", { count: 1, delayMs: 20_000 });
        job = (await api(url("a"), "POST", "/v1/stacks/dev/updates", w.tokens.operator, {})).body;
        for (let t = 0; !(await api(url("a"), "GET", `/v1/jobs/${job.id}`, w.tokens.viewer)).body.summary?.steps?.length; t++) {
            assert.ok(t < 600, "the update started creating");
            await sleep(100);
        }
        const [running] = await sql<{ worker_pid: number; instance: string }>("SELECT worker_pid, instance FROM automation.jobs WHERE id = $1", [job.id]);
        workerPid = running.worker_pid;
        victim = running.instance;
        observer = victim === "a" ? "b" : "a";
        const host = instances.get(victim)!;
        paused = [host.pid, ...descendants(host.pid).map((p) => p.pid)];
        // The job's worker, its CLI, the language host and the provider (the rest are idle workers of the pool).
        jobTree = [workerPid, ...descendants(workerPid).map((p) => p.pid)];
        assert.ok(jobTree.length >= 3, `the job's processes: ${jobTree.join(",")}`);
        for (const pid of paused) process.kill(pid, "SIGSTOP");
        const interrupted = await waitJob(url(observer), w.tokens.viewer, job.id, 60_000);
        assert.equal(interrupted.state, "interrupted");
        for (const [route, body] of [["unlock", { confirm: "dev" }], ["repair", {}]] as const) {
            const r = await api(url(observer), "POST", `/v1/stacks/dev/${route}`, w.tokens.admin, body);
            assert.deepEqual([r.status, r.body.error?.code], [409, "FENCED"], `${route}: ${JSON.stringify(r.body)}`);
            assert.match(r.body.error.message, new RegExp(`running job ${job.id} on instance ${victim} \\(host \\S+, worker pid ${workerPid}\\)`));
            assert.match(r.body.error.message, /"overrideFence": true/);
        }
    });

    it("kills its job's processes the moment it resumes, comes back under its name, and lifts the fence", async () => {
        for (const pid of paused) process.kill(pid, "SIGCONT");
        for (let t = 0; alive(workerPid); t++) {
            assert.ok(t < 50, "the old worker is gone within 5 s of the resume");
            await sleep(100);
        }
        // Every process of the old job: none left running.
        for (let t = 0; jobTree.some(alive); t++) {
            assert.ok(t < 50, `processes of the paused job still alive: ${jobTree.filter(alive).join(",")}`);
            await sleep(100);
        }
        const resumed = instances.get(victim)!;
        for (let t = 0; !resumed.lines.some((l) => l.includes("registered again; taking work")); t++) {
            assert.ok(t < 100, `${victim} registered again`);
            await sleep(100);
        }
        assert.equal((await sql<{ n: string }>("SELECT count(*) AS n FROM automation.fences WHERE stack = 'dev' AND released_at IS NULL"))[0].n, "0");
        assert.deepEqual((await sql<{ released_by: string }>("SELECT released_by FROM automation.fences WHERE job_id = $1", [job.id])).map((r) => r.released_by), [victim]);
    });

    it("lets the stack be unlocked and repaired then, and its next update runs with one writer: no two updates overlap in the stack's history", async () => {
        const unlock = await api(url(observer), "POST", "/v1/stacks/dev/unlock", w.tokens.admin, { confirm: "dev" });
        assert.ok([200, 404].includes(unlock.status), JSON.stringify(unlock.body));
        const repair = await api(url(observer), "POST", "/v1/stacks/dev/repair", w.tokens.admin, {});
        assert.equal(repair.status, 200, JSON.stringify(repair.body));
        w.configure("dev", { count: 1 });
        const next = (await api(url(victim), "POST", "/v1/stacks/dev/updates", w.tokens.operator, {})).body as Job;
        const done = await waitJob(url(victim), w.tokens.viewer, next.id, 120_000);
        assert.equal(done.state, "succeeded", JSON.stringify(done.error));
        const historyDir = path.join(w.backendDir, ".pulumi", "history", "fixture", "dev");
        const updates = fs
            .readdirSync(historyDir)
            .filter((f) => f.endsWith(".history.json"))
            .map((f) => JSON.parse(fs.readFileSync(path.join(historyDir, f), "utf8")) as { kind: string; startTime: number; endTime: number })
            .filter((u) => u.kind === "update")
            .sort((x, y) => x.startTime - y.startTime);
        for (let i = 1; i < updates.length; i++) assert.ok(updates[i].startTime >= updates[i - 1].endTime, `updates ${i - 1} and ${i} overlap`);
    });
});
