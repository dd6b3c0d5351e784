// Hostile traffic against the real service (`npm start`, real CLI, file backend), for the
// figures of BENCHMARKS.md "hostile":
//   fuzz     10,000 requests mixing malformed paths, headers, methods and bodies (fast-check):
//            only 4xx, the process alive, no job, state unchanged, the audit chain verifies and
//            grows by a bounded amount
//   readers  memory of the service with 8 event-stream readers that never read, on a job whose
//            program prints 300,000 lines; /healthz latency meanwhile
//   flood    memory of the service while 30 addresses each POST a 25 MB body with a forged
//            signature to the webhook route at once
//
//   npm run bench:hostile           (BENCH_PARTS=fuzz,readers,flood BENCH_FUZZ=10000 BENCH_LINES=300000)
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import fc from "fast-check";
import { api, fmt, machineFacts, median, memoryOf, prepareWorkspace, sendEach, startService, stateDigest, table, waitJob, writeSection, type BenchRequest, type ServiceProcess, type Workspace } from "./lib";

const ALL_PARTS = ["fuzz", "readers", "flood"];
const PARTS = new Set((process.env.BENCH_PARTS ?? ALL_PARTS.join(",")).split(","));
const FUZZ = Number(process.env.BENCH_FUZZ ?? 10_000);
const LINES = Number(process.env.BENCH_LINES ?? 300_000);
const SEED = 20261202;
type Row = (string | number)[];
const verdict = (ok: boolean) => (ok ? "met" : "MISSED");


/** Requests wrong in one or more ways at once: paths, methods, headers and bodies an attacker sends. */
function hostileRequests(w: Workspace): fc.Arbitrary<BenchRequest> {
    const token = fc.constantFrom(w.tokens.viewer, w.tokens.operator, w.tokens.admin, "not-a-token", "");
    const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD");
    const route = fc.constantFrom("/v1/stacks/{s}/previews", "/v1/stacks/{s}/updates", "/v1/stacks/{s}/destroys", "/v1/stacks/{s}/repair", "/v1/stacks/{s}/unlock", "/v1/jobs/{s}", "/v1/jobs/{s}/cancel", "/v1/jobs/{s}/approvals", "/v1/jobs/{s}/log", "/v1/audit", "/v1/webhooks/github", "/v1/{s}");
    const segment = fc.oneof(
        fc.constantFrom("%ZZ", "%", "%E0%A4%A", "%00", "..%2F..%2Fetc%2Fpasswd", "dev%0d%0aSet-Cookie:x", "prod;rm -rf", "a".repeat(14_000), "%C0%AE%C0%AE", "dev%2F..%2Fprod", "%uFFFF"),
        fc.string({ maxLength: 60 }).map((s) => encodeURIComponent(s)),
        fc.string({ minLength: 1, maxLength: 20 }).filter((s) => /^[\x21-\x7e]+$/.test(s) && !/[#?]/.test(s)),
    );
    const query = fc.oneof(fc.constant(""), fc.constantFrom("?limit=-1", "?limit=1e309", "?after=%ZZ", "?state=__proto__", "?cursor=NaN&limit=99999", `?x=${"y".repeat(5000)}`));
    const contentType = fc.constantFrom("application/json", "application/json; charset=utf-16", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=klingon", "");
    const body = fc.oneof(
        fc.constant(undefined),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.string({ maxLength: 200 }),
        fc.constantFrom('{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', "{".repeat(5000), '{"confirm":"dev","previewId":"../../etc"}', "\u0000\u0001\u0002", '{"mode":"plan","noQueue":"yes"}'),
        fc.integer({ min: 70_000, max: 300_000 }).map((n) => JSON.stringify({ message: "x".repeat(n) })),
    );
    const extra = fc.dictionary(fc.constantFrom("x-github-event", "x-github-delivery", "x-hub-signature-256", "last-event-id", "x-forwarded-for", "accept-encoding", "content-encoding"), fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s)), { maxKeys: 3 });
    return fc.record({ method, route, segment, query, token, contentType, body, extra }).map((r) => {
        const headers: Record<string, string> = { ...r.extra };
        if (r.token) headers.authorization = `Bearer ${r.token}`;
        if (r.contentType) headers["content-type"] = r.contentType;
        const hasBody = r.body !== undefined && !["GET", "HEAD"].includes(r.method);
        return { what: r.route, method: r.method, path: r.route.replace("{s}", r.segment) + r.query, headers, ...(hasBody ? { body: r.body } : {}) };
    });
}

const auditBytes = (w: Workspace) => fs.readdirSync(w.dataDir).filter((f) => f.startsWith("audit.jsonl") && !f.endsWith(".head")).reduce((n, f) => n + fs.statSync(path.join(w.dataDir, f)).size, 0);

async function fuzz(svc: ServiceProcess, w: Workspace): Promise<Row[]> {
    const jobsBefore = (await api(svc.url, "GET", "/v1/jobs?limit=500", w.tokens.viewer)).body.jobs.length as number;
    const digestBefore = stateDigest(w);
    const auditBefore = auditBytes(w);
    const cases = fc.sample(hostileRequests(w), { numRuns: FUZZ, seed: SEED });
    const statuses: Record<string, number> = {};
    const bad: string[] = [];
    const t0 = Date.now();
    await sendEach(svc.url, cases, (c, status) => {
        statuses[status] = (statuses[status] ?? 0) + 1;
        // 2xx is right for a few well-formed reads a fuzzer can stumble on (GET /v1/audit with a token)
        if (status === 0 || status >= 500 || (status >= 200 && status < 400 && c.method !== "GET" && c.method !== "HEAD" && c.method !== "OPTIONS")) bad.push(`${c.method} ${c.path.slice(0, 60)} → ${status}`);
    });
    const seconds = (Date.now() - t0) / 1000;
    const alive = (await fetch(`${svc.url}/healthz`).then((r) => r.status).catch(() => 0)) === 200 && svc.child.exitCode === null;
    const jobsAfter = (await api(svc.url, "GET", "/v1/jobs?limit=500", w.tokens.viewer)).body.jobs.length as number;
    const unchanged = stateDigest(w) === digestBefore;
    const audit = await api(svc.url, "GET", "/v1/audit?limit=1", w.tokens.admin);
    const grown = auditBytes(w) - auditBefore;
    console.log(`fuzz: ${JSON.stringify(statuses)} in ${fmt(seconds, 1)} s; bad ${bad.length}; jobs ${jobsBefore} → ${jobsAfter}; unchanged ${unchanged}; audit +${grown} B`);
    return [
        [`${cases.length} hostile requests (fast-check, seed ${SEED}), ${fmt(seconds, 0)} s`, Object.entries(statuses).map(([k, v]) => `${k === "-1" ? "refused by the client" : k}: ${v}`).join(", "), "only 4xx (2xx for reads)", verdict(bad.length === 0)],
        ...bad.slice(0, 5).map((b): Row => ["  not as expected", b, "", ""]),
        ["  service process", alive ? "alive, /healthz 200" : "DOWN", "alive", verdict(alive)],
        ["  jobs created", String(jobsAfter - jobsBefore), "0", verdict(jobsAfter === jobsBefore)],
        ["  backend state and stand-in cloud files", unchanged ? "unchanged (same SHA-256)" : "changed", "unchanged", verdict(unchanged)],
        ["  audit log growth", `${fmt(grown / 1024, 1)} KiB`, "bounded (sampled refusals, strings ≤ 1 KiB)", ""],
        ["  audit chain", audit.body.verification?.ok ? `verifies (${audit.body.verification.entries} entries)` : "BROKEN", "verifies", verdict(audit.body.verification?.ok === true)],
    ];
}

/** An SSE request on a raw socket that is never read: the stalled reader of the finding. */
function stalledReader(url: string, token: string, jobId: string): net.Socket {
    const { hostname, port } = new URL(url);
    const socket = net.connect(Number(port), hostname, () => {
        socket.write(`GET /v1/jobs/${jobId}/events HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
        socket.pause();
    });
    socket.on("error", () => undefined);
    return socket;
}

async function readers(svc: ServiceProcess, w: Workspace): Promise<Row[]> {
    // memoryOf reports MiB
    const rssBefore = memoryOf(svc.pid)!.rss;
    w.configure("prod", { count: 2, printLines: LINES });
    const r = await api(svc.url, "POST", "/v1/stacks/prod/previews", w.tokens.operator, {});
    const jobId = r.body.id as string;
    const sockets = Array.from({ length: 8 }, () => stalledReader(svc.url, w.tokens.viewer, jobId));
    let peak = rssBefore;
    const health: number[] = [];
    const sampler = setInterval(async () => {
        peak = Math.max(peak, memoryOf(svc.pid)?.rss ?? 0);
        const t = performance.now();
        await fetch(`${svc.url}/healthz`).then((x) => x.arrayBuffer()).catch(() => undefined);
        health.push(performance.now() - t);
    }, 250);
    const job = await waitJob(svc.url, w.tokens.viewer, jobId, 900_000, 500);
    await new Promise((res) => setTimeout(res, 2000));
    clearInterval(sampler);
    peak = Math.max(peak, memoryOf(svc.pid)?.rss ?? 0);
    for (const s of sockets) s.destroy();
    const log = await api(svc.url, "GET", `/v1/jobs/${jobId}/log?cursor=19990&limit=50`, w.tokens.viewer);
    const lastLine = log.body.lines?.at(-1)?.text ?? "";
    const dbBytes = ["jobs.sqlite", "jobs.sqlite-wal"].map((f) => path.join(w.dataDir, f)).filter(fs.existsSync).reduce((n, f) => n + fs.statSync(f).size, 0);
    const mib = (b: number) => `${fmt(b / 1024 / 1024, 0)} MiB`;
    const rssMib = (m: number) => `${fmt(m, 0)} MiB`;
    console.log(`readers: job ${job.state}; rss ${rssMib(rssBefore)} → peak ${rssMib(peak)}; healthz median ${fmt(median(health), 1)} ms max ${fmt(Math.max(...health), 1)} ms; store ${mib(dbBytes)}; last log line: ${lastLine}`);
    return [
        [`Service memory, 8 stalled readers, a job printing ${LINES.toLocaleString("en")} lines`, `${rssMib(rssBefore)} before, ${rssMib(peak)} peak`, "bounded (was 558 MB → 3.6 GB)", verdict(peak < rssBefore + 300)],
        ["  /healthz meanwhile (sampled every 250 ms)", `median ${fmt(median(health), 1)} ms, max ${fmt(Math.max(...health), 0)} ms`, "answers (was 29 s)", verdict(Math.max(...health) < 2000)],
        ["  job store on disk", mib(dbBytes), "bounded (was 342 MB)", verdict(dbBytes < 100 * 1024 * 1024)],
        ["  the log's end", lastLine.slice(0, 80), "truncation marker", verdict(/log truncated/.test(lastLine))],
        ["  the job", job.state, "succeeded", verdict(job.state === "succeeded")],
    ];
}

/** One stranger's POST of `bytes` to the webhook route from `localAddress`, sent whole; resolves with the status (0: the connection was cut). */
function floodOne(url: string, localAddress: string, bytes: number): Promise<number> {
    const { port } = new URL(url);
    return new Promise((resolve) => {
        const req = http.request(
            { host: "127.0.0.1", port: Number(port), localAddress, method: "POST", path: "/v1/webhooks/github", headers: { "content-type": "application/json", "content-length": String(bytes), "x-hub-signature-256": `sha256=${"ab".repeat(32)}`, "x-github-event": "push", "x-github-delivery": randomUUID() } },
            (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
            },
        );
        req.on("error", () => resolve(0));
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const write = () => {
            while (sent < bytes) {
                const n = Math.min(chunk.length, bytes - sent);
                sent += n;
                if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once("drain", write);
            }
            req.end();
        };
        write();
    });
}

async function flood(svc: ServiceProcess): Promise<Row[]> {
    const SENDERS = 30;
    const BYTES = 25 * 1024 * 1024;
    await new Promise((r) => setTimeout(r, 2000));
    const rssBefore = memoryOf(svc.pid)!.rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, memoryOf(svc.pid)?.rss ?? 0)), 50);
    const t0 = Date.now();
    const statuses = await Promise.all(Array.from({ length: SENDERS }, (_, i) => floodOne(svc.url, `127.0.0.${i + 2}`, BYTES)));
    const seconds = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(sampler);
    peak = Math.max(peak, memoryOf(svc.pid)?.rss ?? 0);
    const counts: Record<string, number> = {};
    for (const st of statuses) counts[st] = (counts[st] ?? 0) + 1;
    const alive = (await fetch(`${svc.url}/healthz`).then((r) => r.status).catch(() => 0)) === 200;
    console.log(`flood: ${JSON.stringify(counts)} in ${fmt(seconds, 1)} s; rss ${fmt(rssBefore, 0)} → peak ${fmt(peak, 0)} MiB`);
    return [
        [`${SENDERS} addresses each POST 25 MB with a forged signature to /v1/webhooks/github at once, ${fmt(seconds, 1)} s`, Object.entries(counts).map(([k, v]) => `${k === "0" ? "cut off" : k}: ${v}`).join(", "), "401 for those read, 503 for the rest", ""],
        ["  service memory", `${fmt(rssBefore, 0)} MiB before, ${fmt(peak, 0)} MiB peak (+${fmt(peak - rssBefore, 0)})`, "bounded by the 50 MiB read budget (was 186 → 1,193 MiB)", verdict(peak - rssBefore < 200)],
        ["  service process", alive ? "alive, /healthz 200" : "DOWN", "alive", verdict(alive)],
    ];
}

async function main(): Promise<void> {
    const facts = machineFacts();
    console.log(`machine: ${facts}`);
    const w = prepareWorkspace();
    w.configure("dev", { count: 2 });
    w.configure("prod", { count: 2 });
    // The flood limits are measured by the tests; the fuzz is about what the handlers do.
    const svc = await startService(w, { AUTOMATION_REFUSAL_RATE_LIMIT_PER_MINUTE: "100000", AUTOMATION_RATE_LIMIT_PER_MINUTE: "100000", AUTOMATION_GITHUB_WEBHOOK_SECRET: `bench-${randomUUID()}`, AUTOMATION_GITHUB_REPOSITORIES: "acme/infra" });
    const rows: Row[] = [];
    try {
        for (const stack of ["dev", "prod"]) {
            const r = await api(svc.url, "POST", `/v1/stacks/${stack}/updates`, w.tokens.operator, {});
            const job = await waitJob(svc.url, w.tokens.viewer, r.body.id, 300_000);
            if (job.state !== "succeeded") throw new Error(`initial update of ${stack}: ${job.state}`);
        }
        if (PARTS.has("fuzz")) rows.push(...(await fuzz(svc, w)));
        if (PARTS.has("readers")) rows.push(...(await readers(svc, w)));
        if (PARTS.has("flood")) rows.push(...(await flood(svc)));
    } finally {
        await svc.stop();
    }
    const md = table(["Measure", "Figure", "Target", ""], rows);
    console.log(`\n${md}\n`);
    writeSection(ALL_PARTS.every((p) => PARTS.has(p)) ? "hostile" : `hostile-${[...PARTS].join("-")}`, `Run of \`npm run bench:hostile\` (parts: ${[...PARTS].join(", ")}): ${facts}.\n\n${md}`);
}

main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
});
