// Processes a test starts outside the service's workers (a CLI it kills on purpose, for one)
// leave children the kill does not reach: the CLI starts its language host and providers in
// process groups of their own. Tagging their environment finds them wherever they end up.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { FixtureCopy } from "./harness";

/** An environment variable to give every process a test starts, and the way to end them all. */
export function processTag(): { env: Record<string, string>; running(): number[]; killAll(): void } {
    const value = randomUUID();
    const needle = Buffer.from(`TEST_PROCESS_TAG=${value}\0`);
    const running = () =>
        fs.readdirSync("/proc").flatMap((p) => {
            if (!/^\d+$/.test(p) || Number(p) === process.pid) return [];
            try {
                return fs.readFileSync(`/proc/${p}/environ`).includes(needle) ? [Number(p)] : [];
            } catch {
                return [];
            }
        });
    return {
        env: { TEST_PROCESS_TAG: value },
        running,
        killAll() {
            for (const pid of running()) {
                try {
                    process.kill(pid, "SIGKILL");
                } catch {
                    /* gone meanwhile */
                }
            }
        },
    };
}

const REPO = path.resolve(__dirname, "../..");

export interface ServiceProcess {
    child: ChildProcess;
    url: string;
    exited: Promise<number | null>;
    /** Everything it printed so far (JSON log lines on stdout, messages on stderr). */
    output(): string;
}

/**
 * Starts the service as `npm start` runs it (automation/main.ts) on a fixture copy, and
 * resolves once it logs the address it listens on; rejects with its output if it exits first.
 */
export async function startServiceProcess(f: Pick<FixtureCopy, "projectDir" | "dataDir">, env: Record<string, string> = {}): Promise<ServiceProcess> {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "--disable-warning=ExperimentalWarning", "automation/main.ts"], {
        cwd: REPO,
        env: { ...process.env, PORT: "0", AUTOMATION_PROJECT_DIR: f.projectDir, AUTOMATION_DATA_DIR: f.dataDir, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let buffer = "";
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.stdout!.on("data", (chunk: Buffer) => (buffer += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (buffer += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
        const look = () => {
            // a JSON log line, or a pretty one (AUTOMATION_LOG_FORMAT=pretty)
            const m = /"url":"(http:[^"]+)"|^\s+url: "(http:[^"]+)"$/m.exec(buffer);
            if (m) resolve(m[1] ?? m[2]);
        };
        child.stdout!.on("data", look);
        child.on("exit", (code) => reject(Object.assign(new Error(`service exited (${code}) before listening: ${buffer}`), { code, output: buffer })));
    });
    return { child, url, exited, output: () => buffer };
}
