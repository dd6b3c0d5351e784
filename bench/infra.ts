// `npm run bench:infra [-- --runs 5] [--suite]`
//
// How long an offline evaluation of each stack takes (a fresh process under Pulumi's mocks: what
// every infra test file's `before`, `plan:offline` and `policy:offline` pay), median of N runs.
// With --suite, also the wall time of the infra unit suite once. Prints a Markdown table for
// docs/infra.md with the machine's load, since the figures mean little without it.
import { execFileSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { evaluateStackFull, ROOT } from "../scripts/offline/evaluate";

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const seconds = (ms: number) => (ms / 1000).toFixed(2);

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    const runsAt = argv.indexOf("--runs");
    const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 5;
    if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs needs a positive integer");

    const rows: string[] = [];
    const load = os.loadavg()[0].toFixed(1);
    for (const stack of ["dev", "prod", "delivery"]) {
        const times: number[] = [];
        const cpu: number[] = [];
        let resources = 0;
        for (let i = 0; i < runs; i++) {
            const start = process.hrtime.bigint();
            const e = await evaluateStackFull(stack, { cache: false });
            times.push(Number(process.hrtime.bigint() - start) / 1e6);
            resources = e.resources.length;
            cpu.push(e.cpuMs ?? NaN);
        }
        rows.push(`| evaluate \`${stack}\` (${resources} resources and components) | ${seconds(median(times))} s | ` +
            `${seconds(Math.min(...times))}–${seconds(Math.max(...times))} s | ${seconds(median(cpu))} s | ${runs} |`);
        console.error(`${stack}: ${times.map(seconds).join(" ")} s`);
    }
    if (argv.includes("--suite")) {
        const start = process.hrtime.bigint();
        execFileSync(path.join(ROOT, "node_modules", ".bin", "mocha"), ["--no-config", "-r", "ts-node/register/transpile-only", "--extension", "ts",
            "--timeout", "240000", "--exit", "test/infra/**/*.test.ts"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
        rows.push(`| infra unit suite (\`test/infra\`, once) | ${seconds(Number(process.hrtime.bigint() - start) / 1e6)} s | | | 1 |`);
    }
    console.log([
        `Measured ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} CPU(s), 1-minute load average ${load} at the start, Node ${process.version}.`,
        "",
        "| what | median wall time | range | median CPU time of the evaluating process | runs |",
        "|---|---|---|---|---|",
        ...rows,
    ].join("\n"));
}

main().catch((e: unknown) => {
    console.error(`bench:infra failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
});
