// Reruns the fault scenarios of test/automation/faults (issue 22's items 1–8, loopback only:
// real processes, a real Postgres, real SQLite files, a real tmpfs, libfaketime) and prints
// one row per fault: what was done, what is expected, what was observed (each scenario's own
// assertions, which fail on loss or duplication), and how long it took.
//   npm run bench:faults
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fmt, machineFacts, table, writeSection } from "./lib";

const REPO = path.resolve(__dirname, "..");

/** Each fault scenario: its file, what is done to the service, and what must follow. */
const FAULTS: { file: string; fault: string; expected: string }[] = [
    { file: "secondStart.test.ts", fault: "a second `npm start` on a data dir in use (same port, another port), an update running", expected: "refused before any recovery, naming the holder; the update succeeds; the audit chain verifies" },
    { file: "postgresOutage.test.ts", fault: "Postgres stopped 15 s while two instances each run an update", expected: "no instance exits; both updates recorded succeeded; /readyz 503 meanwhile" },
    { file: "pausedHost.test.ts", fault: "an instance's process tree SIGSTOPped past the silence, its job failed over, then SIGCONT", expected: "unlock/repair refused while fenced; its job's processes killed on resume; it registers again; no overlapping updates" },
    { file: "clockSkew.test.ts", fault: "an instance's clock 2 h ahead (libfaketime) beside a correct one, a 60-minute TTL destroy", expected: "no destroy runs early; the skewed instance decides nothing and says so" },
    { file: "damagedStore.test.ts", fault: "the job store emptied, truncated, garbled; the data dir's disk filled", expected: "refused at start naming the file; 503 + Retry-After while full, nothing stored; works once freed" },
    { file: "retries.test.ts", fault: "POSTs retried with one Idempotency-Key: again, with another body, twice at once, after a refusal, after a restart", expected: "one job per key and body; 409 for another body; a refused request keeps nothing" },
    { file: "shutdown.test.ts", fault: "SIGTERM during a 20-s create; a second SIGTERM during a 60-s one", expected: "the create finishes, no repair needed; the second signal names what it abandons" },
    { file: "connections.test.ts", fault: "Postgres out of connections (max_connections reached by other clients)", expected: "503 STORE_UNAVAILABLE + Retry-After, never 500; 200 once free" },
];

function main(): void {
    const facts = machineFacts();
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-faults-")), "report.json");
    const files = FAULTS.map((f) => path.join("test", "automation", "faults", f.file));
    const started = Date.now();
    const run = spawnSync(process.execPath, [require.resolve("mocha/bin/mocha.js"), "--no-config", "-r", "ts-node/register/transpile-only", "--extension", "ts", "--timeout", "600000", "--exit", "--reporter", "json", "--reporter-option", `output=${out}`, ...files], {
        cwd: REPO,
        stdio: ["ignore", "inherit", "inherit"],
    });
    const report = JSON.parse(fs.readFileSync(out, "utf8")) as { tests: { file: string; title: string; duration?: number; err?: { message?: string } }[] };
    const rows = FAULTS.map((f) => {
        const tests = report.tests.filter((t) => t.file.endsWith(f.file));
        const failed = tests.filter((t) => t.err && Object.keys(t.err).length);
        const seconds = tests.reduce((n, t) => n + (t.duration ?? 0), 0) / 1000;
        const observed = failed.length ? `FAILED: ${failed.map((t) => `${t.title}: ${(t.err?.message ?? "").split("\n")[0]}`).join("; ")}` : `as expected (${tests.length} ${tests.length === 1 ? "check" : "checks"}, ${fmt(seconds, 0)} s)`;
        return [f.fault, f.expected, observed, failed.length ? "see the failure" : "0 lost, 0 duplicated"];
    });
    const md = table(["Fault", "Expected", "Observed", "Lost / duplicated"], rows);
    console.log(`\n${md}\n`);
    writeSection("faults", `Run of \`npm run bench:faults\` (test/automation/faults, ${fmt((Date.now() - started) / 1000, 0)} s): ${facts}.\n\n${md}`);
    process.exit(run.status ?? 1);
}

main();
