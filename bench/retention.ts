// The store's size after 1,000 jobs a day, with retention `1h` against none, on the real
// SQLite job store: each job as the fixture's measured ones are (24.6 KB: 21.8 KB of engine
// events, about 2.8 KB of log and summary), spread over the last 24 hours.
//   npm run bench:retention          (BENCH_JOBS=1000)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SqliteJobStore } from "../automation/jobs/sqliteStore";
import { fmt, machineFacts, table, writeSection } from "./lib";

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const EVENTS = 40;
const EVENT = { resourcePreEvent: { metadata: { op: "update", urn: "urn:pulumi:dev::todobackend::aws:ecs/service:Service::app", type: "aws:ecs/service:Service", old: { inputs: { desiredCount: 2, taskDefinition: "x".repeat(120) } }, new: { inputs: { desiredCount: 2, taskDefinition: "y".repeat(120) } } } } };

const fileBytes = (file: string) => ["", "-wal"].reduce((n, ext) => n + (fs.existsSync(file + ext) ? fs.statSync(file + ext).size : 0), 0);

async function fill(file: string): Promise<SqliteJobStore> {
    const store = new SqliteJobStore(file);
    const now = Date.now();
    for (let i = 0; i < JOBS; i++) {
        const finished = new Date(now - ((JOBS - i) / JOBS) * 24 * 3_600_000);
        const job = await store.createJob({ stack: ["dev", "prod", "delivery"][i % 3], op: "update", triggeredBy: "ci", triggeredVia: "token", now: new Date(finished.getTime() - 60_000) });
        await store.markRunning(job.id, "bench", new Date(finished.getTime() - 59_000));
        for (let e = 0; e < EVENTS; e++) await store.appendEvent(job.id, "resourcePreEvent", { sequence: e, ...EVENT });
        for (let l = 0; l < 30; l++) await store.appendLog(job.id, `  ~ aws:ecs/service:Service app updating [diff: ~taskDefinition] line ${l}`);
        await store.finish(job.id, "succeeded", { summary: { counts: { update: 1, same: 40 }, steps: [], policyViolations: [] } }, finished);
    }
    return store;
}

function checkpoint(file: string): void {
    const db = new DatabaseSync(file);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
}

async function main(): Promise<void> {
    const facts = machineFacts();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-retention-"));
    try {
        const kept = path.join(dir, "kept.sqlite");
        const pruned = path.join(dir, "pruned.sqlite");
        await (await fill(kept)).close();
        checkpoint(kept);
        const store = await fill(pruned);
        const t0 = performance.now();
        const result = await store.prune(new Date(Date.now() - 3_600_000));
        const ms = performance.now() - t0;
        await store.close();
        checkpoint(pruned);
        const without = fileBytes(kept);
        const withRetention = fileBytes(pruned);
        console.log(`without retention ${fmt(without / 1024 / 1024, 1)} MiB; with 1h ${fmt(withRetention / 1024 / 1024, 1)} MiB; pruned ${result.jobs} jobs in ${fmt(ms, 0)} ms`);
        const md = table(
            ["Measure", "Figure"],
            [
                [`${JOBS} jobs over 24 h, no retention`, `${fmt(without / 1024 / 1024, 1)} MiB (${fmt(without / JOBS / 1024, 1)} KiB a job)`],
                [`the same with AUTOMATION_JOB_RETENTION=1h (one pass, then incremental vacuum)`, `${fmt(withRetention / 1024 / 1024, 1)} MiB (${fmt(without / withRetention, 1)}× smaller)`],
                ["  jobs pruned, events and log lines deleted", `${result.jobs} jobs, ${result.events} events, ${result.logLines} lines, in ${fmt(ms, 0)} ms`],
            ],
        );
        console.log(`\n${md}\n`);
        writeSection("retention", `Run of \`npm run bench:retention\`: ${facts}. The real SQLite job store (\`automation/jobs/sqliteStore.ts\`), jobs of the fixture's measured size.\n\n${md}`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
});
