// Benchmarks of the automation service against SPEC §8, measured on the real service process,
// the real Pulumi CLI and a real file:// backend, on loopback, with the fixture project:
//   1. service-triggered preview vs bare `pulumi preview` (median of BENCH_RUNS, default 5)
//   2. POST → first SSE event
//   3. dev + prod updates in parallel vs one after the other
//   4. read-endpoint latency at 200 req/s (open loop) while two updates run
//   5. service and worker memory
// Prints a table and refreshes the `service` section of BENCHMARKS.md.
//
//   npm run bench:service            (BENCH_RUNS=5 BENCH_RATE=200 BENCH_SECONDS=10)
import { spawn } from "node:child_process";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import {
    api,
    cliEnv,
    descendants,
    fmt,
    machineFacts,
    median,
    memoryOf,
    PULUMI_BIN,
    percentile,
    prepareWorkspace,
    readSse,
    schedOf,
    ServiceProcess,
    sleep,
    startService,
    table,
    waitJob,
    Workspace,
    writeSection,
    openLoop,
} from "./lib";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Per-resource delay of the stand-in cloud in the parallel/serial comparison. */
const UPDATE_DELAY_MS = Number(process.env.BENCH_UPDATE_DELAY_MS ?? 2000);
/**
 * Experiment: give the job process trees a lower CPU priority (nice 10) than the service, to
 * show how much of the read latency is the workers' competition for the cores.
 */
const NICE_WORKERS = process.env.BENCH_NICE_WORKERS === "1";
/** Which measurements to run; a partial run writes its own BENCHMARKS.md section. */
const PARTS = new Set((process.env.BENCH_PARTS ?? "preview,parallel,load").split(","));

interface PreviewRun {
    totalMs: number;
    firstRecordMs: number;
    runningMs: number;
    firstEngineEventMs: number;
    state: string;
}

/** POST a preview and read its SSE stream to the end; times are from just before the POST. */
async function servicePreview(svc: ServiceProcess, w: Workspace, stack: string): Promise<PreviewRun> {
    const t0 = performance.now();
    const posted = await api(svc.url, "POST", `/v1/stacks/${stack}/previews`, w.tokens.operator, {});
    if (posted.status !== 202) throw new Error(`preview refused: ${posted.status} ${JSON.stringify(posted.body)}`);
    const records = await readSse(svc.url, w.tokens.viewer, posted.body.id);
    const last = records[records.length - 1];
    const running = records.find((r) => r.event === "state" && r.data.data.state === "running");
    const engine = records.find((r) => r.event !== "state");
    return {
        totalMs: last.at - t0,
        firstRecordMs: records[0].at - t0,
        runningMs: (running?.at ?? NaN) - t0,
        firstEngineEventMs: (engine?.at ?? NaN) - t0,
        state: last.data.data.state,
    };
}

/** `pulumi preview` straight from a shell, on the same project, stack and backend. */
async function barePreview(w: Workspace, stack: string): Promise<number> {
    const t0 = performance.now();
    const code = await new Promise<number | null>((resolve) => {
        const child = spawn(path.join(PULUMI_BIN, "pulumi"), ["preview", "--stack", stack, "--non-interactive"], { cwd: w.projectDir, env: cliEnv(w), stdio: "ignore" });
        child.on("exit", resolve);
    });
    if (code !== 0) throw new Error(`bare pulumi preview exited ${code}`);
    return performance.now() - t0;
}

async function update(svc: ServiceProcess, w: Workspace, stack: string): Promise<string> {
    const r = await api(svc.url, "POST", `/v1/stacks/${stack}/updates`, w.tokens.operator, {});
    if (r.status !== 202) throw new Error(`update of ${stack} refused: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id;
}

async function updateAndWait(svc: ServiceProcess, w: Workspace, stack: string): Promise<void> {
    const job = await waitJob(svc.url, w.tokens.viewer, await update(svc, w, stack), 300_000, 50);
    if (job.state !== "succeeded") throw new Error(`update of ${stack} ended ${job.state}: ${JSON.stringify(job.error)}`);
}

/** Samples the service's and its workers' memory until stopped; workers are its direct children. */
function memorySampler(servicePid: number) {
    let servicePeak = 0;
    let workerPeak = 0;
    let treePeak = 0;
    let running = true;
    const loop = (async () => {
        while (running) {
            const s = memoryOf(servicePid);
            if (s) servicePeak = Math.max(servicePeak, s.peak);
            const kids = descendants(servicePid);
            for (const worker of kids.filter((k) => k.comm === "node" || k.comm.startsWith("node"))) {
                const wm = memoryOf(worker.pid);
                if (!wm) continue;
                // Only direct children are workers; the rest of the tree is the CLI, the language host, the program, providers.
                if (worker.ppid === servicePid) {
                    workerPeak = Math.max(workerPeak, wm.peak);
                    const tree = [worker, ...descendants(worker.pid)].reduce((sum, p) => sum + (memoryOf(p.pid)?.rss ?? 0), 0);
                    treePeak = Math.max(treePeak, tree);
                }
            }
            await sleep(250);
        }
    })();
    return {
        async stop() {
            running = false;
            await loop;
            return { servicePeak, workerPeak, treePeak };
        },
    };
}

/** Keeps every process under the service at nice 10 until stopped (children inherit it). */
function reniceWorkers(servicePid: number) {
    let running = true;
    const loop = (async () => {
        while (running) {
            for (const p of descendants(servicePid)) {
                try {
                    if (os.getPriority(p.pid) < 10) os.setPriority(p.pid, 10);
                } catch {
                    /* gone */
                }
            }
            await sleep(200);
        }
    })();
    return {
        async stop() {
            running = false;
            await loop;
        },
    };
}

/** The service's own view of a window: event-loop delay (prom-client resets it per scrape) and GC time. */
async function scrapeMetrics(base: string): Promise<{ lagMaxMs: number; lagP99Ms: number; gcMs: number; gcCount: number }> {
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (re: RegExp) => [...text.matchAll(re)].reduce((sum, m) => sum + Number(m[1]), 0);
    return {
        lagMaxMs: value(/^automation_nodejs_eventloop_lag_max_seconds (\S+)$/gm) * 1000,
        lagP99Ms: value(/^automation_nodejs_eventloop_lag_p99_seconds (\S+)$/gm) * 1000,
        gcMs: value(/^automation_nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm) * 1000,
        gcCount: value(/^automation_nodejs_gc_duration_seconds_count\{[^}]*\} (\S+)$/gm),
    };
}


async function main(): Promise<void> {
    const facts = machineFacts();
    console.log(`machine: ${facts}`);
    const w = prepareWorkspace();
    w.configure("dev", { count: 2 });
    w.configure("prod", { count: 3 });
    const svc = await startService(w, { AUTOMATION_CONCURRENCY: "2" });
    const idle = memoryOf(svc.pid)!;
    const sampler = memorySampler(svc.pid);
    try {
        // The stacks exist and hold resources before anything is timed.
        await Promise.all([updateAndWait(svc, w, "dev"), updateAndWait(svc, w, "prod")]);
        // One untimed run of each warms the page cache and the CLI's plugin lookups.
        if (PARTS.has("preview")) {
            await servicePreview(svc, w, "dev");
            await barePreview(w, "dev");
        }

        // 1 + 2. Interleaved so that the machine's (shared) load hits both sides alike.
        const svcRuns: PreviewRun[] = [];
        const cliRuns: number[] = [];
        for (let i = 0; PARTS.has("preview") && i < RUNS; i++) {
            svcRuns.push(await servicePreview(svc, w, "dev"));
            cliRuns.push(await barePreview(w, "dev"));
            console.log(`preview ${i + 1}/${RUNS}: service ${fmt(svcRuns[i].totalMs / 1000)} s, bare CLI ${fmt(cliRuns[i] / 1000)} s, first engine event ${fmt(svcRuns[i].firstEngineEventMs / 1000)} s`);
        }
        const failedPreviews = svcRuns.filter((r) => r.state !== "succeeded").length;

        // 3. Updates that change every item (content flips) with a stand-in cloud that takes UPDATE_DELAY_MS per call.
        const serial: number[] = [];
        const parallel: number[] = [];
        let version = 1;
        const flip = () => {
            version++;
            w.configure("dev", { count: 2, delayMs: UPDATE_DELAY_MS, content: `v${version}` });
            w.configure("prod", { count: 3, delayMs: UPDATE_DELAY_MS, content: `v${version}` });
        };
        for (let i = 0; PARTS.has("parallel") && i < Math.max(3, Math.ceil(RUNS / 2)); i++) {
            flip();
            let t0 = performance.now();
            await updateAndWait(svc, w, "dev");
            await updateAndWait(svc, w, "prod");
            serial.push(performance.now() - t0);
            flip();
            t0 = performance.now();
            await Promise.all([updateAndWait(svc, w, "dev"), updateAndWait(svc, w, "prod")]);
            parallel.push(performance.now() - t0);
            console.log(`updates ${i + 1}: serial ${fmt(serial[i] / 1000)} s, parallel ${fmt(parallel[i] / 1000)} s`);
        }

        // 4. Baseline: the same load with no job running, then two long updates run under it.
        const idleLoad = await openLoop(svc.url, w.tokens.viewer, ["/v1/stacks", `/v1/jobs/${(await api(svc.url, "GET", "/v1/jobs?limit=1", w.tokens.viewer)).body.jobs[0].id}`], RATE, Math.min(SECONDS, 5));
        version++;
        const longDelay = (SECONDS + 30) * 1000;
        w.configure("dev", { count: 2, delayMs: longDelay, content: `v${version}` });
        w.configure("prod", { count: 3, delayMs: longDelay, content: `v${version}` });
        const jobs = [await update(svc, w, "dev"), await update(svc, w, "prod")];
        // Mid-update: the engine has begun a resource step (seen on the event stream, which is
        // live; the job's stored summary is only refreshed when a later event arrives).
        await Promise.all(jobs.map((id) => readSse(svc.url, w.tokens.viewer, id, (r) => r.event === "resourcePreEvent")));
        const paths = ["/v1/stacks", `/v1/jobs/${jobs[0]}`, `/v1/jobs/${jobs[1]}`];
        const renicer = NICE_WORKERS ? reniceWorkers(svc.pid) : undefined;
        const metricsBefore = await scrapeMetrics(svc.url);
        const schedBefore = schedOf(svc.pid)!;
        const loadAvg = os.loadavg()[0];
        const load = await openLoop(svc.url, w.tokens.viewer, paths, RATE, SECONDS);
        const schedAfter = schedOf(svc.pid)!;
        const metricsAfter = await scrapeMetrics(svc.url);
        await renicer?.stop();
        const cpuShare = (schedAfter.cpuMs - schedBefore.cpuMs) / (SECONDS * 1000);
        const waitShare = (schedAfter.waitMs - schedBefore.waitMs) / (SECONDS * 1000);
        const during = await Promise.all(jobs.map(async (id) => (await api(svc.url, "GET", `/v1/jobs/${id}`, w.tokens.viewer)).body.state));
        for (const id of jobs) await waitJob(svc.url, w.tokens.viewer, id, 300_000);
        const mem = await sampler.stop();

        // Figures.
        const svcMedian = median(svcRuns.map((r) => r.totalMs));
        const cliMedian = median(cliRuns);
        const ratio = svcMedian / cliMedian;
        const firstEngine = svcRuns.map((r) => r.firstEngineEventMs);
        const firstRecord = svcRuns.map((r) => r.firstRecordMs);
        const serialMedian = median(serial);
        const parallelMedian = median(parallel);
        const p = (xs: number[], q: number) => fmt(percentile(xs, q), 1);
        const verdict = (ok: boolean) => (ok ? "met" : "**missed**");
        const part = (name: string, n: number) => (PARTS.has(name) ? n : 0);
        const rows: (string | number)[][] = [
            [`Service preview (POST → final SSE event), median of ${RUNS}`, `${fmt(svcMedian / 1000)} s (runs: ${svcRuns.map((r) => fmt(r.totalMs / 1000)).join(", ")})`, "", ""],
            [`Bare \`pulumi preview\`, median of ${RUNS}`, `${fmt(cliMedian / 1000)} s (runs: ${cliRuns.map((r) => fmt(r / 1000)).join(", ")})`, "", ""],
            ["Preview ratio service / bare", `${fmt(ratio)}×`, "≤ 1.10×", verdict(ratio <= 1.1)],
            ["POST → first SSE event (stored `queued` state), median / max", `${fmt(median(firstRecord), 0)} / ${fmt(Math.max(...firstRecord), 0)} ms`, "", ""],
            ["POST → first engine event over SSE, median / max", `${fmt(median(firstEngine), 0)} / ${fmt(Math.max(...firstEngine), 0)} ms`, "≤ 1.5 s", verdict(Math.max(...firstEngine) <= 1500)],
            [`dev + prod updates, serial (median of ${serial.length}; ${UPDATE_DELAY_MS} ms per cloud call)`, `${fmt(serialMedian / 1000)} s`, "", ""],
            [`dev + prod updates, parallel (median of ${parallel.length})`, `${fmt(parallelMedian / 1000)} s`, "", ""],
            ["Parallel / serial", `${fmt(parallelMedian / serialMedian)}×`, "≤ 0.65×", verdict(parallelMedian / serialMedian <= 0.65)],
            [
                `Read latency, ${RATE} req/s open loop for ${SECONDS} s, 2 updates running (jobs were ${during.join("/")} at the end)${NICE_WORKERS ? ", job processes at nice 10" : ""}`,
                `p50 ${p(load.scheduled, 50)} ms, p99 ${p(load.scheduled, 99)} ms, max ${p(load.scheduled, 100)} ms (${load.ok}/${load.sent} 200, ${load.errors} errors)`,
                "p99 ≤ 20 ms",
                verdict(percentile(load.scheduled, 99) <= 20 && load.errors === 0),
            ],
            ["  same, from the actual send (without generator lag)", `p50 ${p(load.service, 50)} ms, p99 ${p(load.service, 99)} ms`, "", ""],
            [
                "  service process during the load: CPU used / runnable but waiting for a core (per second of load)",
                `${fmt(cpuShare * 1000, 0)} ms / ${fmt(waitShare * 1000, 0)} ms (1-min load average ${fmt(loadAvg, 1)} on ${os.cpus().length} cores)`,
                "",
                "",
            ],
            [
                "  service event loop during the load: delay p99 / max; GC time (collections)",
                `${fmt(metricsAfter.lagP99Ms, 1)} / ${fmt(metricsAfter.lagMaxMs, 1)} ms; ${fmt(metricsAfter.gcMs - metricsBefore.gcMs, 0)} ms (${metricsAfter.gcCount - metricsBefore.gcCount})`,
                "",
                "",
            ],
            [`  same load with no job running (${Math.min(SECONDS, 5)} s)`, `p50 ${p(idleLoad.scheduled, 50)} ms, p99 ${p(idleLoad.scheduled, 99)} ms (${idleLoad.ok}/${idleLoad.sent} 200)`, "", ""],
            ["Service RSS idle / peak (VmHWM)", `${fmt(idle.rss, 0)} / ${fmt(mem.servicePeak, 0)} MiB`, "", ""],
            ["Worker process RSS peak (VmHWM)", `${fmt(mem.workerPeak, 0)} MiB`, "", ""],
            ["Worker tree RSS peak (worker + CLI + language host + program + providers)", `${fmt(mem.treePeak, 0)} MiB`, "", ""],
        ];
        const [previewRows, parallelRows, loadRows] = [rows.slice(0, 5), rows.slice(5, 8), rows.slice(8)];
        rows.length = 0;
        rows.push(...previewRows.slice(0, part("preview", 5)), ...parallelRows.slice(0, part("parallel", 3)), ...loadRows.slice(0, part("load", loadRows.length)));
        if (failedPreviews) rows.push(["Service previews not succeeded", String(failedPreviews), "0", "**missed**"]);
        const md = table(["Measure", "Figure", "Target", ""], rows);
        console.log(`\n${md}\n`);
        const all = PARTS.has("preview") && PARTS.has("parallel") && PARTS.has("load");
        writeSection(all ? "service" : `service-${[...PARTS].join("-")}${NICE_WORKERS ? "-nice" : ""}`, `Run of \`${all ? "" : `BENCH_PARTS=${[...PARTS].join(",")} `}${NICE_WORKERS ? "BENCH_NICE_WORKERS=1 " : ""}npm run bench:service\`: ${facts}.\n\n${md}`);
    } finally {
        await sampler.stop();
        await svc.stop();
    }
}

main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
});
