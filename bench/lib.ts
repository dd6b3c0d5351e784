import { createHash } from "node:crypto";
// Shared machinery of the service benchmarks and the reliability suite: a private copy of the
// fixture project, the real service as its own process (what `npm start` runs), HTTP and SSE
// clients, /proc sampling and the BENCHMARKS.md section writer.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { PULUMI_VERSION } from "../automation/config";
import type { Job } from "../automation/jobs/types";
import { addToken } from "../automation/security/tokens";
import { FixtureCopy, prepareFixture } from "../test/automation/harness";

export const REPO = path.resolve(__dirname, "..");
export const PULUMI_BIN = process.env.AUTOMATION_PULUMI_BIN ?? path.join(os.homedir(), ".pulumi/versions", PULUMI_VERSION, "bin");
export const PASSPHRASE = "bench-passphrase";

export interface Tokens {
    viewer: string;
    operator: string;
    approver: string;
    admin: string;
}

export interface Workspace extends FixtureCopy {
    root: string;
    backendDir: string;
    tokens: Tokens;
}

/**
 * A fresh copy of the fixture project (the integration tests' own, in test/automation/.state),
 * plus a backend directory of its own and an approver token.
 */
export function prepareWorkspace(): Workspace {
    const f = prepareFixture();
    const root = path.dirname(f.dataDir);
    return { ...f, root, backendDir: path.join(root, "state"), tokens: { ...f.tokens, approver: addToken(f.tokensFile, "bench-approver", "approver") } };
}

/** The environment a bare CLI run needs to see the same stacks as the service. */
export function cliEnv(w: Workspace): NodeJS.ProcessEnv {
    return {
        ...process.env,
        PATH: [PULUMI_BIN, path.dirname(process.execPath), process.env.PATH ?? ""].join(path.delimiter),
        PULUMI_BACKEND_URL: `file://${w.backendDir}`,
        PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
}

export function cliVersion(): string {
    return execFileSync(path.join(PULUMI_BIN, "pulumi"), ["version"], { env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } })
        .toString()
        .trim();
}

export interface ServiceProcess {
    child: ChildProcess;
    pid: number;
    url: string;
    exited: Promise<number | null>;
    /** Every stdout/stderr line the service wrote (JSON log lines). */
    lines: string[];
    /** SIGTERM and wait (graceful shutdown). */
    stop(): Promise<void>;
}

/**
 * Starts `automation/main.ts` (the `npm start` entry) on the
 * workspace and resolves once it logs its address.
 */
export async function startService(w: Workspace, env: Record<string, string> = {}): Promise<ServiceProcess> {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "--disable-warning=ExperimentalWarning", "automation/main.ts"], {
        cwd: REPO,
        env: {
            ...process.env,
            PORT: "0",
            AUTOMATION_PROJECT_DIR: w.projectDir,
            AUTOMATION_DATA_DIR: w.dataDir,
            AUTOMATION_TOKENS_FILE: w.tokensFile,
            PULUMI_BACKEND_URL: `file://${w.backendDir}`,
            PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
            AUTOMATION_PULUMI_BIN: PULUMI_BIN,
            ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
        const collect = (chunk: Buffer) => {
            for (const l of chunk.toString().split("\n")) if (l.trim()) lines.push(l);
            const m = /"url":"(http:[^"]+)"/.exec(lines.join("\n"));
            if (m) resolve(m[1]);
        };
        child.stdout!.on("data", collect);
        child.stderr!.on("data", collect);
        // "close", not "exit": by then what it wrote to stdout and stderr has been read.
        child.on("close", (code) => reject(new Error(`service exited (${code}) before listening:\n${lines.slice(-20).join("\n")}`)));
        // The address comes from the info-level "listening" line; a quieter LOG_LEVEL hides it.
        setTimeout(() => reject(new Error(`service did not log its address within 60 s:\n${lines.slice(-20).join("\n")}`)), 60_000).unref();
    });
    return {
        child,
        pid: child.pid!,
        url,
        exited,
        lines,
        async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
            await exited;
        },
    };
}

export interface Reply {
    status: number;
    body: any;
}

export async function api(base: string, method: string, url: string, token?: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...extraHeaders };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] ??= "application/json";
    const res = await fetch(base + url, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
    const text = await res.text();
    try {
        return { status: res.status, body: JSON.parse(text) };
    } catch {
        return { status: res.status, body: text };
    }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const isTerminal = (state: string) => !["queued", "running"].includes(state);

/** Polls a job until it reaches a final state (or `timeoutMs`). */
export async function waitJob(base: string, token: string, id: string, timeoutMs = 180_000, everyMs = 100): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const r = await api(base, "GET", `/v1/jobs/${id}`, token);
        if (r.status === 200 && isTerminal(r.body.state)) return r.body as Job;
        if (Date.now() > deadline) throw new Error(`job ${id} still ${r.body?.state} after ${timeoutMs} ms`);
        await sleep(everyMs);
    }
}

export interface SseRecord {
    id: number;
    event: string;
    data: any;
    /** performance.now() when the record arrived. */
    at: number;
}

/**
 * Reads a job's SSE stream to its end (the server closes it after the final state), or until
 * `onRecord` returns true.
 */
export async function readSse(base: string, token: string, jobId: string, onRecord?: (r: SseRecord) => boolean | void, lastEventId?: number): Promise<SseRecord[]> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "text/event-stream", ...(lastEventId !== undefined ? { "last-event-id": String(lastEventId) } : {}) };
    const res = await fetch(`${base}/v1/jobs/${jobId}/events`, { headers });
    if (res.status !== 200 || !res.body) throw new Error(`SSE answered ${res.status}`);
    const records: SseRecord[] = [];
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    let buffer = "";
    for (;;) {
        const { value, done } = await reader.read();
        if (done) return records;
        const at = performance.now();
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const fields = new Map<string, string>();
            for (const line of block.split("\n")) {
                if (!line || line.startsWith(":")) continue;
                const colon = line.indexOf(":");
                fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
            }
            if (!fields.has("id")) continue;
            const record = { id: Number(fields.get("id")), event: fields.get("event") ?? "message", data: JSON.parse(fields.get("data") ?? "null"), at };
            records.push(record);
            if (onRecord?.(record)) {
                // Dropping the connection is how a watcher leaves; the server cleans up on close.
                await reader.cancel().catch(() => undefined);
                return records;
            }
        }
    }
}

export interface ProcStat {
    pid: number;
    ppid: number;
    comm: string;
}

function procStat(pid: number): ProcStat | undefined {
    try {
        const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        // comm may hold spaces and parentheses: split after the last ')'
        const close = s.lastIndexOf(")");
        const rest = s.slice(close + 2).split(" ");
        return { pid, ppid: Number(rest[1]), comm: s.slice(s.indexOf("(") + 1, close) };
    } catch {
        return undefined;
    }
}

/** Processes whose parent is `pid`, transitively. */
export function descendants(pid: number): ProcStat[] {
    const all = fs
        .readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .map((d) => procStat(Number(d)))
        .filter((p): p is ProcStat => p !== undefined);
    const out: ProcStat[] = [];
    const frontier = [pid];
    while (frontier.length) {
        const parent = frontier.pop()!;
        for (const p of all) if (p.ppid === parent) (out.push(p), frontier.push(p.pid));
    }
    return out;
}

/** VmRSS and VmHWM (peak) of a process in MiB, or undefined once it is gone. */
export function memoryOf(pid: number): { rss: number; peak: number } | undefined {
    try {
        const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
        const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0);
        return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
    } catch {
        return undefined;
    }
}

/**
 * CPU time a process used and time it spent runnable but waiting for a core (Linux
 * /proc/<pid>/schedstat), in ms: the second shows how much of a latency is the machine's load.
 */
export function schedOf(pid: number): { cpuMs: number; waitMs: number } | undefined {
    try {
        const [run, wait] = fs.readFileSync(`/proc/${pid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
        return { cpuMs: run / 1e6, waitMs: wait / 1e6 };
    } catch {
        return undefined;
    }
}

export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: number[], p: number): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const fmt = (n: number, digits = 2) => n.toFixed(digits);

export function machineFacts(): string {
    return `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "unknown"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" / ")} at start (shared with other engineers' work), Node ${process.version}, Pulumi CLI ${cliVersion()}, ${new Date().toISOString()}`;
}

/**
 * Replaces the text between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->` in
 * BENCHMARKS.md (appending the section when absent), so each script refreshes its own figures
 * and leaves the hand-written analysis around them alone.
 */
export function writeSection(name: string, markdown: string, file = path.join(REPO, "BENCHMARKS.md")): void {
    const start = `<!-- bench:${name}:start -->`;
    const end = `<!-- bench:${name}:end -->`;
    const block = `${start}\n${markdown.trim()}\n${end}`;
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n";
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    const next = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
    fs.writeFileSync(file, next);
}

/** Markdown table from rows of cells. */
export function table(head: string[], rows: (string | number)[][]): string {
    const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
    return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A digest of everything a request could change: the backend's state and the stand-in cloud's files (locks aside). */
export function stateDigest(w: Workspace): string {
    const hash = createHash("sha256");
    const walk = (dir: string) => {
        if (!fs.existsSync(dir)) return;
        for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else if (!p.includes(`${path.sep}.pulumi${path.sep}locks`)) hash.update(p).update(fs.readFileSync(p));
        }
    };
    walk(w.backendDir);
    walk(path.join(w.projectDir, "out"));
    return hash.digest("hex");
}

/** One request a bench sends as it is: what it tries, and its method, path, headers and body. */
export interface BenchRequest {
    what: string;
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: string;
}

/**
 * Sends each request as it is, ten at a time (a flood, not a denial of service of the shared
 * machine), and reports each one's status: 0 when the connection failed, -1 when the client
 * itself refused to send it (undici will not send some headers), which is not the service's answer.
 */
export async function sendEach(base: string, cases: readonly BenchRequest[], onAnswer: (c: BenchRequest, status: number) => void): Promise<void> {
    for (let i = 0; i < cases.length; i += 10) {
        await Promise.all(
            cases.slice(i, i + 10).map(async (c) => {
                let status: number;
                try {
                    const res = await fetch(base + c.path, { method: c.method, headers: c.headers, body: c.body });
                    await res.arrayBuffer();
                    status = res.status;
                } catch (e) {
                    status = /fetch failed|invalid|header/i.test(String((e as Error).cause ?? e)) ? -1 : 0;
                }
                onAnswer(c, status);
            }),
        );
    }
}

export interface LoadResult {
    sent: number;
    ok: number;
    errors: number;
    /** Answers by status ("error" for a request that got none). */
    statuses: Record<string, number>;
    /** From the scheduled send time (open loop: generator lag counts against the service). */
    scheduled: number[];
    /** From the moment the request was actually written. */
    service: number[];
}

/**
 * Open-loop load: request i is due at t0 + i/rate whether or not earlier ones answered, so a
 * slow response cannot hold back the next ones (no coordinated omission).
 */
export async function openLoop(base: string, token: string, paths: string[], rate: number, seconds: number): Promise<LoadResult> {
    const url = new URL(base);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    const total = Math.round(rate * seconds);
    const result: LoadResult = { sent: 0, ok: 0, errors: 0, statuses: {}, scheduled: [], service: [] };
    const tally = (status: string) => (result.statuses[status] = (result.statuses[status] ?? 0) + 1);
    const inflight: Promise<void>[] = [];
    const fire = (i: number, due: number) =>
        new Promise<void>((resolve) => {
            const sentAt = performance.now();
            const req = http.request({ host: url.hostname, port: url.port, path: paths[i % paths.length], agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
                res.resume();
                res.on("end", () => {
                    const end = performance.now();
                    if (res.statusCode === 200) result.ok++;
                    else result.errors++;
                    tally(String(res.statusCode));
                    result.scheduled.push(end - due);
                    result.service.push(end - sentAt);
                    resolve();
                });
            });
            req.on("error", () => {
                result.errors++;
                tally("error");
                resolve();
            });
            req.end();
        });
    const t0 = performance.now() + 50;
    let i = 0;
    while (i < total) {
        const now = performance.now();
        while (i < total && t0 + (i * 1000) / rate <= now) {
            inflight.push(fire(i, t0 + (i * 1000) / rate));
            result.sent++;
            i++;
        }
        await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(inflight);
    agent.destroy();
    return result;
}
