// Benchmarks of several service instances on one Postgres (AUTOMATION_DATABASE_URL), each
// instance its own process as `npm start` runs it, on a throwaway Postgres (scripts/postgres.sh),
// the real CLI and the fixture project with a shared file:// backend:
//   1. throughput: jobs per minute, 1 vs 3 instances, 6 stacks whose stand-in cloud takes 2 s per operation
//   2. failover: SIGKILL of an instance's whole process tree mid-job → its job interrupted → the
//      stack's next job taken by a live instance
//   3. kills mid-update (BENCH_KILLS, default 10): lost jobs, stacks usable after repair, audit chain
//   4. 100 concurrent mixed requests over 3 instances: ConcurrentUpdateError anywhere
//   5. read latency (p50/p99) at 200 req/s on one instance while two jobs run, Postgres vs SQLite
//   6. lag: the lag of an SSE stream on one instance following a job on another
// Prints tables and refreshes each part's `scale-<part>` section of BENCHMARKS.md.
//
//   npm run bench:scale     (BENCH_PARTS=throughput,failover,kills,burst,reads,lag  BENCH_KILLS=10  BENCH_CLOUD_MS=2000,10000)
import * as path from "node:path";
import { startPostgres, type TestPostgres } from "../test/support/postgres";
import type { Job } from "../automation/jobs/types";
import { backendPaths, readPendingOperations } from "../automation/recovery/scan";
import {
    api,
    descendants,
    fmt,
    machineFacts,
    median,
    openLoop,
    percentile,
    prepareWorkspace,
    readSse,
    type ServiceProcess,
    sleep,
    startService,
    table,
    waitJob,
    type Workspace,
    writeSection,
} from "./lib";

const PARTS = new Set((process.env.BENCH_PARTS ?? "throughput,failover,kills,burst,reads,lag").split(","));
const KILLS = Number(process.env.BENCH_KILLS ?? 10);
const STACKS = Array.from({ length: 6 }, (_, i) => `s${i + 1}`);
const SILENCE_MS = 30_000;
/** The stand-in cloud's time per operation in the throughput runs. */
const CLOUD_MS = (process.env.BENCH_CLOUD_MS ?? "2000,10000").split(",").map(Number);

interface Cluster {
    w: Workspace;
    databaseUrl: string;
    instances: Map<string, ServiceProcess>;
    start(name: string, env?: Record<string, string>): Promise<ServiceProcess>;
    kill(name: string): void;
    stop(): Promise<void>;
}

async function cluster(pg: TestPostgres, env: Record<string, string> = {}): Promise<Cluster> {
    const w = prepareWorkspace();
    const databaseUrl = await pg.newDatabase();
    const instances = new Map<string, ServiceProcess>();
    const c: Cluster = {
        w,
        databaseUrl,
        instances,
        async start(name, extra = {}) {
            const s = await startService(w, { AUTOMATION_DATABASE_URL: databaseUrl, AUTOMATION_DATA_DIR: path.join(w.root, `data-${name}`), AUTOMATION_INSTANCE_ID: name, LOG_LEVEL: "info", ...env, ...extra });
            instances.set(name, s);
            return s;
        },
        kill(name) {
            // As when the instance's machine dies: the service and every process it started.
            const s = instances.get(name)!;
            for (const pid of [s.pid, ...descendants(s.pid).map((p) => p.pid)]) {
                try {
                    process.kill(pid, "SIGKILL");
                } catch {
                    /* gone meanwhile */
                }
            }
            instances.delete(name);
        },
        async stop() {
            await Promise.all([...instances.values()].map((s) => s.stop()));
            instances.clear();
        },
    };
    return c;
}

const until = async <T>(check: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await check();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error("timed out");
        await sleep(100);
    }
};
const jobOf = async (url: string, token: string, id: string) => (await api(url, "GET", `/v1/jobs/${id}`, token)).body as Job;

/** 1. Every job is one 2-s cloud operation (an update creating one item, then a destroy removing it). */
async function throughput(pg: TestPostgres, n: number, cloudMs: number): Promise<{ jobs: number; seconds: number; perMinute: number; failed: number }> {
    const c = await cluster(pg);
    try {
        for (const s of STACKS) c.w.configure(s, { count: 1, delayMs: cloudMs, content: "v1" });
        const names = Array.from({ length: n }, (_, i) => `i${i + 1}`);
        for (const name of names) await c.start(name);
        const urls = names.map((name) => c.instances.get(name)!.url);
        const sent: string[] = [];
        const t0 = performance.now();
        for (let round = 0; round < 2; round++) {
            for (const [i, s] of STACKS.entries()) {
                const url = urls[(round * STACKS.length + i) % urls.length];
                sent.push((await api(url, "POST", `/v1/stacks/${s}/updates`, c.w.tokens.operator, {})).body.id);
                sent.push((await api(url, "POST", `/v1/stacks/${s}/destroys`, c.w.tokens.admin, { confirm: s })).body.id);
            }
        }
        const done = await Promise.all(sent.map((id) => waitJob(urls[0], c.w.tokens.viewer, id, 900_000, 250)));
        const seconds = (performance.now() - t0) / 1000;
        return { jobs: done.length, seconds, perMinute: (done.length / seconds) * 60, failed: done.filter((j) => j.state !== "succeeded").length };
    } finally {
        await c.stop();
    }
}

/** 2. A preview (no state written) killed mid-run: its job interrupted, the stack's next job picked up elsewhere. */
async function failover(pg: TestPostgres): Promise<{ interruptedS: number; nextStartedS: number; nextState: string; nextOn: string }> {
    const c = await cluster(pg);
    try {
        c.w.configure("s1", { count: 2, programMs: 60_000 });
        const victim = await c.start("victim");
        const preview = (await api(victim.url, "POST", "/v1/stacks/s1/previews", c.w.tokens.operator, {})).body as Job;
        await until(async () => ((await jobOf(victim.url, c.w.tokens.viewer, preview.id)).state === "running" ? true : undefined));
        const live = await c.start("live");
        const next = (await api(live.url, "POST", "/v1/stacks/s1/refreshes", c.w.tokens.operator, {})).body as Job;
        // The next job must not meet the slow program.
        c.w.configure("s1", { count: 2 });
        const t0 = Date.now();
        c.kill("victim");
        const interrupted = await until(async () => {
            const j = await jobOf(live.url, c.w.tokens.viewer, preview.id);
            return j.state === "running" ? undefined : j;
        });
        const t1 = Date.now();
        const picked = await until(async () => {
            const j = await jobOf(live.url, c.w.tokens.viewer, next.id);
            return j.state === "queued" ? undefined : j;
        });
        const t2 = Date.now();
        if (interrupted.state !== "interrupted") throw new Error(`the killed job ended ${interrupted.state}`);
        const final = await waitJob(live.url, c.w.tokens.viewer, next.id);
        return { interruptedS: (t1 - t0) / 1000, nextStartedS: (t2 - t0) / 1000, nextState: final.state, nextOn: picked.instance ?? "?" };
    } finally {
        await c.stop();
    }
}

/** 3. Instances killed mid-update, one after another; each time the stack is repaired and updated again. */
async function kills(pg: TestPostgres, count: number): Promise<{ kills: number; submitted: number; settled: number; lost: number; usable: number; auditOk: boolean; entries: number }> {
    const c = await cluster(pg, { AUTOMATION_HEARTBEAT_MS: "500", AUTOMATION_INSTANCE_SILENCE_MS: "4000" });
    const submitted: string[] = [];
    let usable = 0;
    try {
        const live = await c.start("live", { AUTOMATION_CONCURRENCY: "1" });
        const checkpoint = backendPaths(c.w.backendDir, "fixture", "s1").checkpoint;
        for (let k = 0; k < count; k++) {
            // Only the victim takes the update: the live instance (concurrency 1) is busy on s2.
            console.log(`kill ${k + 1}/${count}`);
            // A preview whose program is slow: cancelling it leaves nothing to repair on s2.
            c.w.configure("s2", { count: 1, programMs: 120_000 });
            const busy = (await api(live.url, "POST", "/v1/stacks/s2/previews", c.w.tokens.operator, {})).body.id as string;
            submitted.push(busy);
            await until(async () => ((await jobOf(live.url, c.w.tokens.viewer, busy)).state === "running" ? true : undefined));
            const victim = await c.start(`victim${k}`);
            c.w.configure("s1", { count: 2 + k, content: "v", hangMs: 120_000 });
            const update = (await api(victim.url, "POST", "/v1/stacks/s1/updates", c.w.tokens.operator, {})).body.id as string;
            submitted.push(update);
            await until(async () => (readPendingOperations(checkpoint).length > 0 ? true : undefined));
            c.kill(`victim${k}`);
            await api(live.url, "POST", `/v1/jobs/${busy}/cancel`, c.w.tokens.operator, {});
            await until(async () => (["running", "queued", "cancelling"].includes((await jobOf(live.url, c.w.tokens.viewer, update)).state) ? undefined : true));
            await until(async () => (["running", "queued", "cancelling"].includes((await jobOf(live.url, c.w.tokens.viewer, busy)).state) ? undefined : true));
            const repair = await api(live.url, "POST", "/v1/stacks/s1/repair", c.w.tokens.admin, {});
            c.w.configure("s1", { count: 2 + k, content: "v" });
            const again = (await api(live.url, "POST", "/v1/stacks/s1/updates", c.w.tokens.operator, {})).body.id as string;
            submitted.push(again);
            if (repair.status === 200 && (await waitJob(live.url, c.w.tokens.viewer, again)).state === "succeeded") usable++;
        }
        const all = await Promise.all(submitted.map((id) => jobOf(live.url, c.w.tokens.viewer, id)));
        const settled = all.filter((j) => j && !["queued", "running", "cancelling"].includes(j.state)).length;
        const audit = (await api(live.url, "GET", "/v1/audit?limit=1", c.w.tokens.admin)).body;
        return { kills: count, submitted: submitted.length, settled, lost: submitted.length - settled, usable, auditOk: audit.verification.ok, entries: audit.verification.entries };
    } finally {
        await c.stop();
    }
}

/** 4. 100 requests at once, spread over 3 instances and 6 stacks. */
async function burst(pg: TestPostgres): Promise<{ requests: number; accepted: number; refused: Record<string, number>; states: Record<string, number>; concurrentUpdateErrors: number; seconds: number }> {
    const c = await cluster(pg, { AUTOMATION_QUEUE_LIMIT: "30" });
    try {
        for (const s of STACKS) c.w.configure(s, { count: 2, delayMs: 200 });
        for (const name of ["i1", "i2", "i3"]) await c.start(name);
        const urls = [...c.instances.values()].map((s) => s.url);
        const ops = ["previews", "updates", "refreshes", "updates"] as const;
        const t0 = performance.now();
        const replies = await Promise.all(
            Array.from({ length: 100 }, (_, i) => api(urls[i % 3], "POST", `/v1/stacks/${STACKS[i % STACKS.length]}/${ops[i % ops.length]}`, c.w.tokens.operator, {})),
        );
        const refused: Record<string, number> = {};
        for (const r of replies) if (r.status !== 202) refused[`${r.status} ${r.body?.error?.code}`] = (refused[`${r.status} ${r.body?.error?.code}`] ?? 0) + 1;
        const accepted = replies.filter((r) => r.status === 202).map((r) => r.body.id as string);
        const done = await Promise.all(accepted.map((id) => waitJob(urls[0], c.w.tokens.viewer, id, 1_800_000, 500)));
        const states: Record<string, number> = {};
        for (const j of done) states[j.state] = (states[j.state] ?? 0) + 1;
        let concurrent = 0;
        for (const j of done) {
            const log = await api(urls[0], "GET", `/v1/jobs/${j.id}/log?limit=2000`, c.w.tokens.viewer);
            if (/ConcurrentUpdateError|currently locked/i.test(JSON.stringify(log.body)) || j.error?.code === "STACK_LOCKED") concurrent++;
        }
        return { requests: replies.length, accepted: accepted.length, refused, states, concurrentUpdateErrors: concurrent, seconds: (performance.now() - t0) / 1000 };
    } finally {
        await c.stop();
    }
}

/**
 * 6. Stream lag across instances: a job runs on one instance, a stream on the other; each event's
 * lag is its arrival minus the time the running instance stored it (one host, one clock).
 */
async function lag(pg: TestPostgres): Promise<{ events: number; p50: number; p99: number; max: number }> {
    const c = await cluster(pg);
    try {
        c.w.configure("s1", { count: 8, delayMs: 300, content: "l1" });
        const a = await c.start("a");
        const job = (await api(a.url, "POST", "/v1/stacks/s1/updates", c.w.tokens.operator, {})).body as Job;
        await until(async () => ((await jobOf(a.url, c.w.tokens.viewer, job.id)).state === "running" ? true : undefined));
        const b = await c.start("b");
        const t0 = performance.now();
        const origin = Date.now() - t0;
        const records = await readSse(b.url, c.w.tokens.viewer, job.id);
        // Only events stored after the stream opened: the backlog before it is not lag, however late it arrives.
        const live = records.filter((r) => Date.parse(r.data.at) >= origin + t0);
        const lags = live.map((r) => origin + r.at - Date.parse(r.data.at));
        return { events: lags.length, p50: percentile(lags, 50), p99: percentile(lags, 99), max: Math.max(...lags) };
    } finally {
        await c.stop();
    }
}

/** 5. Reads at 200 req/s on one instance while two 12-s updates run, on Postgres or on SQLite. */
async function reads(pg: TestPostgres | undefined): Promise<{ p50: number; p99: number; ok: number; sent: number }> {
    const w = prepareWorkspace();
    const env: Record<string, string> = pg ? { AUTOMATION_DATABASE_URL: await pg.newDatabase(), AUTOMATION_INSTANCE_ID: "solo" } : {};
    const s = await startService(w, env);
    try {
        w.configure("dev", { count: 3, delayMs: 4000, content: "r1" });
        w.configure("prod", { count: 3, delayMs: 4000, content: "r1" });
        // some history to read
        for (const stack of ["dev", "prod"]) await waitJob(s.url, w.tokens.viewer, (await api(s.url, "POST", `/v1/stacks/${stack}/previews`, w.tokens.operator, {})).body.id);
        w.configure("dev", { count: 3, delayMs: 4000, content: "r2" });
        w.configure("prod", { count: 3, delayMs: 4000, content: "r2" });
        const ids = [
            (await api(s.url, "POST", "/v1/stacks/dev/updates", w.tokens.operator, {})).body.id,
            (await api(s.url, "POST", "/v1/stacks/prod/updates", w.tokens.operator, {})).body.id,
        ];
        await until(async () => ((await Promise.all(ids.map((id) => jobOf(s.url, w.tokens.viewer, id)))).every((j) => j.state === "running") ? true : undefined));
        const load = await openLoop(s.url, w.tokens.viewer, ["/v1/jobs?limit=20", "/v1/stacks", `/v1/jobs/${ids[0]}`, `/v1/jobs/${ids[1]}/log?limit=50`], 200, 10);
        for (const id of ids) await waitJob(s.url, w.tokens.viewer, id);
        if (load.ok < load.sent) console.log("reads answered", load.statuses);
        return { p50: percentile(load.scheduled, 50), p99: percentile(load.scheduled, 99), ok: load.ok, sent: load.sent };
    } finally {
        await s.stop();
    }
}

async function main(): Promise<void> {
    const pg = startPostgres();
    // Each part has a section of its own, so running one part (BENCH_PARTS) refreshes only its figures.
    const measured = (part: string) =>
        `Measured ${new Date().toISOString().slice(0, 10)} with \`BENCH_PARTS=${part} npm run bench:scale\`; ${machineFacts()}. Each instance is its own process (\`automation/main.ts\`), all on one throwaway Postgres 15 (scripts/postgres.sh) and one file:// backend, on this one machine.`;
    const write = (part: string, text: string) => writeSection(`scale-${part}`, `${text}\n\n${measured(part)}`);
    try {
        if (PARTS.has("throughput")) {
            const rows: (string | number)[][] = [];
            const ratios: string[] = [];
            for (const cloudMs of CLOUD_MS) {
                const one = await throughput(pg, 1, cloudMs);
                const three = await throughput(pg, 3, cloudMs);
                console.log("throughput", cloudMs, one, three);
                rows.push([`${cloudMs / 1000} s`, 1, one.jobs, one.failed, fmt(one.seconds, 1), fmt(one.perMinute, 1)]);
                rows.push([`${cloudMs / 1000} s`, 3, three.jobs, three.failed, fmt(three.seconds, 1), fmt(three.perMinute, 1)]);
                ratios.push(`${cloudMs / 1000}-s operations: **${fmt(three.perMinute / one.perMinute, 2)}×**`);
            }
            write(
                "throughput",
                "### Throughput (6 stacks, 24 jobs, each one cloud operation of the stand-in, AUTOMATION_CONCURRENCY 2 per instance)\n\n" +
                    table(["cloud operation", "instances", "jobs", "failed", "wall time (s)", "jobs/min"], rows) +
                    `\n\n3 instances vs 1: ${ratios.join("; ")}. All instances share this machine's cores, so the CLI's own CPU time per job (seconds of it, measured in the service section) limits what the third instance adds here; on machines of their own, the instances add their cores too.`,
            );
        }
        if (PARTS.has("failover")) {
            const runs = [];
            for (let i = 0; i < 3; i++) runs.push(await failover(pg));
            console.log("failover", runs);
            write(
                "failover",
                `### Failover (AUTOMATION_INSTANCE_SILENCE_MS ${SILENCE_MS}, heartbeat 5 s; an instance's process tree SIGKILLed mid-preview, 3 runs)\n\n` +
                    table(["run", "kill → job interrupted (s)", "kill → stack's next job taken (s)", "next job", "taken by"], runs.map((r, i) => [i + 1, fmt(r.interruptedS, 1), fmt(r.nextStartedS, 1), r.nextState, r.nextOn])) +
                    `\n\nMedian kill → next job taken: **${fmt(median(runs.map((r) => r.nextStartedS)), 1)} s**.`,
            );
        }
        if (PARTS.has("kills")) {
            const k = await kills(pg, KILLS);
            console.log("kills", k);
            write(
                "kills",
                `### ${k.kills} instances killed mid-update (silence 4 s, heartbeat 0.5 s)\n\n` +
                    table(["kills", "jobs submitted", "settled", "lost", "stack usable after repair", "audit chain"], [[k.kills, k.submitted, k.settled, k.lost, `${k.usable}/${k.kills}`, `${k.auditOk ? "verifies" : "BROKEN"} (${k.entries} entries)`]]),
            );
        }
        if (PARTS.has("burst")) {
            const b = await burst(pg);
            console.log("burst", b);
            write(
                "burst",
                "### 100 concurrent mixed requests over 3 instances and 6 stacks\n\n" +
                    table(["requests", "accepted", "refused", "job states", "ConcurrentUpdateError", "until all settled (s)"], [
                        [b.requests, b.accepted, JSON.stringify(b.refused), JSON.stringify(b.states), b.concurrentUpdateErrors, fmt(b.seconds, 1)],
                    ]),
            );
        }
        if (PARTS.has("reads")) {
            const onPg = await reads(pg);
            const onSqlite = await reads(undefined);
            console.log("reads", onPg, onSqlite);
            write(
                "reads",
                "### Reads at 200 req/s on one instance, two updates running (open loop, 10 s; latency from the scheduled send)\n\n" +
                    table(["store", "p50 (ms)", "p99 (ms)", "answered"], [
                        ["SQLite (embedded)", fmt(onSqlite.p50, 1), fmt(onSqlite.p99, 1), `${onSqlite.ok}/${onSqlite.sent}`],
                        ["Postgres", fmt(onPg.p50, 1), fmt(onPg.p99, 1), `${onPg.ok}/${onPg.sent}`],
                    ]),
            );
        }
        if (PARTS.has("lag")) {
            const l = await lag(pg);
            console.log("lag", l);
            write("lag", `### Stream lag across instances (an update with 8 items on one instance, its SSE stream read from another)\n\n` +
                table(["live events", "p50 (ms)", "p99 (ms)", "max (ms)"], [[l.events, fmt(l.p50, 0), fmt(l.p99, 0), fmt(l.max, 0)]]));
        }
    } finally {
        pg.stop();
    }
}

void main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
});
