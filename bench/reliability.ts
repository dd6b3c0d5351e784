// Reliability suite of the automation service (SPEC §8), run against the real service process,
// the real Pulumi CLI and a real file:// backend on a copy of the fixture project:
//   kill        SIGKILL a job's worker mid-update (BENCH_KILLS times, default 10); after each,
//               the stack must take an update again (on its own or through the repair route)
//               and the audit log must name the killed job and any recovery
//   restart     SIGKILL the service with jobs queued, restart it: every job still there and final
//   concurrent  100 concurrent mixed requests over dev and prod: every job final, no
//               ConcurrentUpdateError in any answer, job error, log line or event
//   malformed   1,000 malformed requests generated with fast-check: only 4xx, no job, no state change
// Prints a table and refreshes the `reliability` section of BENCHMARKS.md.
//
//   npm run bench:reliability        (BENCH_PARTS=kill,restart,concurrent,malformed BENCH_KILLS=10)
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import type { Job } from "../automation/jobs/types";
import { api, descendants, isTerminal, machineFacts, prepareWorkspace, readSse, sendEach, ServiceProcess, sleep, startService, stateDigest, table, waitJob, Workspace, writeSection, type BenchRequest } from "./lib";

const PARTS = new Set((process.env.BENCH_PARTS ?? "kill,restart,concurrent,malformed").split(","));
const KILLS = Number(process.env.BENCH_KILLS ?? 10);
const MALFORMED = Number(process.env.BENCH_MALFORMED ?? 1000);
const SEED = Number(process.env.BENCH_SEED ?? 20261125);
/**
 * The default of 120 mutating requests per caller per minute would answer most of a 1,000-request
 * burst with 429 before validation ever ran; raised so the suite exercises validation.
 */
// The limits on mutating and refused requests per caller are the hostile bench's business; here one caller sends everything.
const SERVICE_ENV = { AUTOMATION_RATE_LIMIT_PER_MINUTE: "100000", AUTOMATION_REFUSAL_RATE_LIMIT_PER_MINUTE: "100000", AUTOMATION_CANCEL_GRACE_MS: "5000", AUTOMATION_SHUTDOWN_GRACE_MS: "2000" };
const CONCURRENT_MARKERS = /ConcurrentUpdateError|CONCURRENT_UPDATE|currently locked by/i;

type Row = [string, string, string, string];

const verdict = (ok: boolean) => (ok ? "met" : "**missed**");

/** Audit entries after `afterSeq` (admin route); `undefined` when the route is not there. */
async function auditAfter(svc: ServiceProcess, w: Workspace, afterSeq: number): Promise<{ entries: any[]; verification?: any } | undefined> {
    const entries: any[] = [];
    let after = afterSeq;
    let verification: unknown;
    for (;;) {
        const r = await api(svc.url, "GET", `/v1/audit?after=${after}&limit=500`, w.tokens.admin);
        if (r.status !== 200) return undefined;
        entries.push(...r.body.entries);
        verification = r.body.verification;
        if (r.body.next === undefined) break;
        after = r.body.next;
    }
    return { entries, verification };
}

async function lastAuditSeq(svc: ServiceProcess, w: Workspace): Promise<number> {
    const page = await auditAfter(svc, w, 0);
    return page?.entries.at(-1)?.seq ?? 0;
}

/** Resolves once the job's engine has started a step on one of the fixture's items. */
async function itemStepBegun(svc: ServiceProcess, w: Workspace, jobId: string): Promise<void> {
    await readSse(svc.url, w.tokens.viewer, jobId, (r) => r.event === "resourcePreEvent" && /::item-\d+$/.test(String(r.data?.data?.resourcePreEvent?.metadata?.urn ?? "")));
}

/** The worker running a job: the service's child whose tree holds the `pulumi` CLI. */
function jobWorker(servicePid: number): { pid: number; tree: number[] } | undefined {
    for (const child of descendants(servicePid).filter((p) => p.ppid === servicePid)) {
        const tree = descendants(child.pid);
        if (tree.some((p) => p.comm === "pulumi")) return { pid: child.pid, tree: tree.map((p) => p.pid) };
    }
    return undefined;
}

const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
};

async function post(svc: ServiceProcess, w: Workspace, stack: string, kind: string, body: unknown = {}, token = w.tokens.operator) {
    return api(svc.url, "POST", `/v1/stacks/${stack}/${kind}`, token, body);
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 180_000, everyMs = 200): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await check();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`still waiting for ${what} after ${timeoutMs} ms`);
        await sleep(everyMs);
    }
}

/**
 * Part 1. Odd rounds SIGKILL only the worker process (its CLI lives on, orphaned); even rounds
 * SIGKILL the worker's whole tree (the CLI dies mid-update and leaves a lock and pending
 * operations behind, which the repair route exists for).
 */
async function killWorkers(svc: ServiceProcess, w: Workspace): Promise<Row[]> {
    const stack = "dev";
    let usable = 0;
    let repairedByRoute = 0;
    let recoveredAlone = 0;
    let auditedKill = 0;
    let auditedRecovery = 0;
    let needed = 0;
    let orphans = 0;
    const notes: string[] = [];
    for (let i = 1; i <= KILLS; i++) {
        const wholeTree = i % 2 === 0;
        const seqBefore = await lastAuditSeq(svc, w);
        w.configure(stack, { count: 3, delayMs: 8000, content: `kill-${i}` });
        const posted = await post(svc, w, stack, "updates");
        if (posted.status !== 202) throw new Error(`update refused: ${posted.status} ${JSON.stringify(posted.body)}`);
        const id = posted.body.id as string;
        // Mid-update: the engine has begun changing an item (live event stream; the stored
        // summary is only refreshed by a later event).
        await itemStepBegun(svc, w, id);
        const worker = jobWorker(svc.pid);
        if (!worker) throw new Error(`round ${i}: no worker with a pulumi CLI under the service`);
        const descendantsAtKill = descendants(worker.pid);
        for (const pid of wholeTree ? [worker.pid, ...worker.tree] : [worker.pid]) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                /* already gone */
            }
        }
        const killed = await waitJob(svc.url, w.tokens.viewer, id, 120_000);
        // An orphaned CLI keeps the lock until it ends; the stack is not usable before that by design.
        const cli = descendantsAtKill.filter((p) => p.comm === "pulumi").map((p) => p.pid);
        await until("the orphaned CLI to end", async () => (cli.some(alive) ? undefined : true), 120_000);
        // What nobody reaps: language hosts and dynamic providers left running after the CLI.
        await sleep(2000);
        const leftovers = worker.tree.filter(alive);
        if (leftovers.length) {
            orphans += leftovers.length;
            for (const pid of leftovers) process.kill(pid, "SIGKILL");
        }
        // Let the post-job scan record its findings.
        await sleep(1000);
        let ok = false;
        let repaired = false;
        for (let attempt = 0; attempt < 3 && !ok; attempt++) {
            const health = await api(svc.url, "GET", `/v1/stacks/${stack}/repair`, w.tokens.viewer);
            if (health.status === 200 && health.body.state === "needs-repair") {
                needed++;
                const r = await post(svc, w, stack, "repair", { method: "strip" }, w.tokens.admin);
                if (r.status === 200) repaired = true;
                else notes.push(`round ${i}: repair answered ${r.status} ${r.body?.error?.code}`);
            }
            w.configure(stack, { count: 3, content: `after-kill-${i}` });
            const again = await post(svc, w, stack, "updates");
            const job = again.status === 202 ? await waitJob(svc.url, w.tokens.viewer, again.body.id, 180_000) : undefined;
            ok = job?.state === "succeeded";
            if (!ok) {
                notes.push(`round ${i} attempt ${attempt + 1}: update after the kill ${job ? `ended ${job.state} (${job.error?.code})` : `answered ${again.status}`}`);
                // A failure may itself have triggered the scan that marks needs-repair.
                await sleep(1000);
                // Without the repair route (not landed) nothing else can clear a stale lock here.
                if (health.status !== 200 && attempt === 0) {
                    const r = await post(svc, w, stack, "repair", { method: "strip" }, w.tokens.admin);
                    if (r.status === 200) repaired = true;
                }
            }
        }
        if (ok) usable++;
        if (ok && repaired) repairedByRoute++;
        if (ok && !repaired) recoveredAlone++;
        const audit = await auditAfter(svc, w, seqBefore);
        if (audit?.entries.some((e) => e.jobId === id && e.action === `job.update` && e.result === killed.state)) auditedKill++;
        if (audit?.entries.some((e) => /^recovery\.|^stack\.repair$/.test(e.action))) auditedRecovery++;
        console.log(`kill ${i}/${KILLS} (${wholeTree ? "worker tree" : "worker only"}): job ${killed.state} (${killed.error?.code}), usable again: ${ok}${repaired ? " after repair" : ""}`);
    }
    return [
        [`Worker SIGKILLed mid-update (odd rounds worker only, even rounds worker + CLI tree)`, `${KILLS} kills`, "", ""],
        ["  stack usable again (next update succeeded)", `${usable}/${KILLS} (${recoveredAlone} on its own, ${repairedByRoute} after POST /repair; ${needed} scans said needs-repair)`, `${KILLS}/${KILLS}`, verdict(usable === KILLS)],
        ["  audit names the killed job with its final state", `${auditedKill}/${KILLS}`, `${KILLS}/${KILLS}`, verdict(auditedKill === KILLS)],
        ["  audit holds a recovery entry (scan, lock cleared, repair)", `${auditedRecovery}/${KILLS}`, "", ""],
        ["  processes of a killed job still running 2 s after its CLI ended (language host, dynamic provider; killed by the suite)", String(orphans), "", ""],
        ...notes.slice(0, 8).map((n): Row => [`  note`, n, "", ""]),
    ];
}

/** Part 2. The service is SIGKILLed while jobs run and wait; a new process takes over the same data. */
async function killService(w: Workspace, start: () => Promise<ServiceProcess>, svc: ServiceProcess): Promise<{ rows: Row[]; svc: ServiceProcess }> {
    const rounds = Number(process.env.BENCH_SERVICE_KILLS ?? 3);
    let posted = 0;
    let found = 0;
    let final = 0;
    const states: Record<string, number> = {};
    for (let round = 1; round <= rounds; round++) {
        w.configure("dev", { count: 1, delayMs: 8000, content: `svc-${round}` });
        w.configure("prod", { count: 1, delayMs: 8000, content: `svc-${round}` });
        const ids: string[] = [];
        for (const [stack, kind] of [["dev", "updates"], ["prod", "updates"], ["dev", "refreshes"], ["prod", "previews"], ["dev", "previews"], ["prod", "refreshes"]] as const) {
            const r = await post(svc, w, stack, kind);
            if (r.status === 202) ids.push(r.body.id);
        }
        posted += ids.length;
        await itemStepBegun(svc, w, ids[0]);
        svc.child.kill("SIGKILL");
        await svc.exited;
        svc = await start();
        for (const id of ids) {
            const r = await api(svc.url, "GET", `/v1/jobs/${id}`, w.tokens.viewer);
            if (r.status !== 200) continue;
            found++;
            const job = await waitJob(svc.url, w.tokens.viewer, id, 300_000);
            if (isTerminal(job.state)) final++;
            states[job.state] = (states[job.state] ?? 0) + 1;
        }
        console.log(`service kill ${round}/${rounds}: ${ids.length} jobs posted, states after restart ${JSON.stringify(states)}`);
    }
    const lost = posted - found;
    return {
        svc,
        rows: [
            [`Service SIGKILLed with jobs running and queued, ${rounds} times`, `${posted} jobs posted`, "", ""],
            ["  jobs found after restart / reached a final state", `${found}/${posted} / ${final}/${posted}`, `${posted}/${posted}`, verdict(lost === 0 && final === posted)],
            ["  final states", Object.entries(states).map(([k, v]) => `${k} ${v}`).join(", "), "", ""],
            ["  jobs lost", String(lost), "0", verdict(lost === 0)],
        ],
    };
}

/** Every place a ConcurrentUpdateError could reach a client: the answer, the job, its log and events. */
async function surfacesConcurrentError(svc: ServiceProcess, w: Workspace, job: Job): Promise<boolean> {
    if (CONCURRENT_MARKERS.test(JSON.stringify(job))) return true;
    let cursor = 0;
    for (;;) {
        const page = await api(svc.url, "GET", `/v1/jobs/${job.id}/log?cursor=${cursor}&limit=1000`, w.tokens.viewer);
        if (CONCURRENT_MARKERS.test(JSON.stringify(page.body))) return true;
        const lines = page.body.lines ?? [];
        if (lines.length < 1000) break;
        cursor = page.body.nextCursor;
    }
    const events = await fetch(`${svc.url}/v1/jobs/${job.id}/events`, { headers: { authorization: `Bearer ${w.tokens.viewer}` } });
    return CONCURRENT_MARKERS.test(await events.text());
}

/** Part 3. */
async function concurrent(svc: ServiceProcess, w: Workspace): Promise<Row[]> {
    w.configure("dev", { count: 2, content: "mixed" });
    w.configure("prod", { count: 2, content: "mixed" });
    const kinds = ["previews", "previews", "previews", "refreshes", "refreshes", "updates", "updates", "read-stack", "read-stacks", "read-jobs"] as const;
    const requests = Array.from({ length: 100 }, (_, i) => ({ stack: i % 2 ? "prod" : "dev", kind: kinds[(i * 7) % kinds.length] }));
    const answers = await Promise.all(
        requests.map(async (r) => {
            if (r.kind === "read-stack") return api(svc.url, "GET", `/v1/stacks/${r.stack}`, w.tokens.viewer);
            if (r.kind === "read-stacks") return api(svc.url, "GET", "/v1/stacks", w.tokens.viewer);
            if (r.kind === "read-jobs") return api(svc.url, "GET", `/v1/jobs?stack=${r.stack}`, w.tokens.viewer);
            return post(svc, w, r.stack, r.kind);
        }),
    );
    const statuses: Record<string, number> = {};
    for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    const ids = answers.filter((a) => a.status === 202).map((a) => a.body.id as string);
    const jobs = await Promise.all(ids.map((id) => waitJob(svc.url, w.tokens.viewer, id, 900_000, 500)));
    const states: Record<string, number> = {};
    for (const j of jobs) states[j.state] = (states[j.state] ?? 0) + 1;
    let surfaced = answers.filter((a) => CONCURRENT_MARKERS.test(JSON.stringify(a.body))).length;
    for (const j of jobs) if (await surfacesConcurrentError(svc, w, j)) surfaced++;
    const refused = answers.filter((a) => a.status >= 400).map((a) => a.body?.error?.code);
    const failed = jobs.filter((j) => j.state === "failed").map((j) => j.error?.code);
    console.log(`concurrent: answers ${JSON.stringify(statuses)}, job states ${JSON.stringify(states)}, ConcurrentUpdateError surfaced ${surfaced}`);
    return [
        ["100 concurrent mixed requests over dev and prod (previews, refreshes, updates, reads)", Object.entries(statuses).map(([k, v]) => `${k}: ${v}`).join(", ") + (refused.length ? ` (refusals: ${[...new Set(refused)].join(", ")})` : ""), "", ""],
        ["  jobs created / final", `${jobs.length} / ${jobs.filter((j) => isTerminal(j.state)).length} (${Object.entries(states).map(([k, v]) => `${k} ${v}`).join(", ")})`, "all final", verdict(jobs.every((j) => isTerminal(j.state)))],
        ["  failed jobs' codes", failed.length ? failed.join(", ") : "none", "", ""],
        ["  ConcurrentUpdateError in an answer, job, log or event stream", String(surfaced), "0", verdict(surfaced === 0)],
    ];
}


/** fast-check arbitraries of requests that are wrong in exactly one way the API must refuse. */
function malformedRequests(w: Workspace): fc.Arbitrary<BenchRequest> {
    const stacks = fc.constantFrom("dev", "prod");
    const kinds = fc.constantFrom("previews", "updates", "refreshes", "destroys");
    const json = { "content-type": "application/json" };
    const op = (token: string) => ({ authorization: `Bearer ${token}`, ...json });
    const badStackName = fc.oneof(
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(s) && !/[/?#%\\]/.test(s) && s.trim() === s && s !== "." && s !== ".."),
        fc.stringMatching(/^[a-z]{1,12}$/).filter((s) => s !== "dev" && s !== "prod"),
        fc.constantFrom("..%2F..%2Fetc%2Fpasswd", "%00", "dev%20;rm%20-rf", "a".repeat(101), "-dev", "dev$(id)"),
    );
    const allowed = new Set(["noQueue", "message", "previewId", "mode", "confirm"]);
    const unknownKey = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !allowed.has(k) && k !== "__proto__");
    return fc.oneof(
        // unknown stack or a name Pulumi would not allow
        fc.record({ stack: badStackName, kind: kinds }).map(({ stack, kind }) => ({ what: "bad stack", method: "POST", path: `/v1/stacks/${encodeURIComponent(stack).replace(/%25/g, "%")}/${kind}`, headers: op(w.tokens.admin), body: "{}" })),
        // a key the schema does not know
        fc.record({ stack: stacks, kind: kinds, key: unknownKey, value: fc.jsonValue() }).map(({ stack, kind, key, value }) => ({ what: "unknown field", method: "POST", path: `/v1/stacks/${stack}/${kind}`, headers: op(w.tokens.admin), body: JSON.stringify({ [key]: value, ...(kind === "destroys" ? { confirm: stack } : {}) }) })),
        // a known key of the wrong type
        fc.record({ stack: stacks, kind: fc.constantFrom("previews", "updates", "refreshes"), noQueue: fc.jsonValue().filter((v) => typeof v !== "boolean" && v !== null) }).map(({ stack, kind, noQueue }) => ({ what: "noQueue not boolean", method: "POST", path: `/v1/stacks/${stack}/${kind}`, headers: op(w.tokens.admin), body: JSON.stringify({ noQueue }) })),
        fc.record({ stack: stacks, message: fc.string({ minLength: 501, maxLength: 700 }) }).map(({ stack, message }) => ({ what: "message too long", method: "POST", path: `/v1/stacks/${stack}/previews`, headers: op(w.tokens.operator), body: JSON.stringify({ message }) })),
        fc.record({ stack: stacks, previewId: fc.string({ maxLength: 40 }) }).map(({ stack, previewId }) => ({ what: "previewId not a uuid", method: "POST", path: `/v1/stacks/${stack}/updates`, headers: op(w.tokens.operator), body: JSON.stringify({ previewId }) })),
        fc.record({ stack: stacks, mode: fc.string({ maxLength: 10 }).filter((m) => m !== "preview" && m !== "apply") }).map(({ stack, mode }) => ({ what: "refresh mode unknown", method: "POST", path: `/v1/stacks/${stack}/refreshes`, headers: op(w.tokens.operator), body: JSON.stringify({ mode }) })),
        // destroy without the stack's name typed back
        fc.record({ stack: stacks, confirm: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }) }).filter(({ stack, confirm }) => confirm !== stack).map(({ stack, confirm }) => ({ what: "destroy unconfirmed", method: "POST", path: `/v1/stacks/${stack}/destroys`, headers: op(w.tokens.admin), body: JSON.stringify(confirm === undefined ? {} : { confirm }) })),
        // not JSON, or JSON that is not an object
        fc.record({ stack: stacks, kind: kinds, raw: fc.string({ minLength: 1, maxLength: 60 }) }).filter(({ raw }) => {
            try {
                const v = JSON.parse(raw);
                return v === null || typeof v !== "object" || Array.isArray(v);
            } catch {
                return true;
            }
        }).map(({ stack, kind, raw }) => ({ what: "body not a JSON object", method: "POST", path: `/v1/stacks/${stack}/${kind}`, headers: op(w.tokens.admin), body: raw })),
        // too large
        fc.record({ stack: stacks, size: fc.integer({ min: 70_000, max: 200_000 }) }).map(({ stack, size }) => ({ what: "body too large", method: "POST", path: `/v1/stacks/${stack}/previews`, headers: op(w.tokens.operator), body: JSON.stringify({ message: "x".repeat(size) }) })),
        // no token, a wrong token, or a role too low
        fc.record({ stack: stacks, kind: kinds, auth: fc.constantFrom<[string, Record<string, string>]>(["no token", json], ["bad token", { authorization: "Bearer not-a-token", ...json }], ["basic auth", { authorization: "Basic YTpi", ...json }]) }).map(({ stack, kind, auth }) => ({ what: auth[0], method: "POST", path: `/v1/stacks/${stack}/${kind}`, headers: auth[1], body: "{}" })),
        fc.record({ stack: stacks, kind: kinds }).map(({ stack, kind }) => ({ what: "viewer mutating", method: "POST", path: `/v1/stacks/${stack}/${kind}`, headers: op(w.tokens.viewer), body: kind === "destroys" ? JSON.stringify({ confirm: stack }) : "{}" })),
        fc.record({ stack: stacks }).map(({ stack }) => ({ what: "operator destroying", method: "POST", path: `/v1/stacks/${stack}/destroys`, headers: op(w.tokens.operator), body: JSON.stringify({ confirm: stack }) })),
        // job routes with ids that are not ids, or unknown ones; cancel of unknown jobs; repair with a bad method
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[/?#%\\]/.test(s) && s !== "." && s !== "..").map((s) => ({ what: "job id not a uuid", method: "GET", path: `/v1/jobs/${encodeURIComponent(s)}`, headers: op(w.tokens.viewer) })),
        fc.constant(0).map(() => ({ what: "cancel unknown job", method: "POST", path: `/v1/jobs/${randomUUID()}/cancel`, headers: op(w.tokens.admin), body: "{}" })),
        fc.record({ state: fc.string({ maxLength: 12 }).filter((s) => !["queued", "running", "succeeded", "failed", "cancelled", "interrupted", "stopped-by-guard", "superseded", ""].includes(s)) }).map(({ state }) => ({ what: "jobs filter unknown", method: "GET", path: `/v1/jobs?state=${encodeURIComponent(state)}`, headers: op(w.tokens.viewer) })),
        fc.record({ stack: stacks, method: fc.string({ maxLength: 10 }).filter((m) => m !== "strip" && m !== "refresh") }).map(({ stack, method }) => ({ what: "repair method unknown", method: "POST", path: `/v1/stacks/${stack}/repair`, headers: op(w.tokens.admin), body: JSON.stringify({ method }) })),
    );
}

/** Part 4. */
async function malformed(svc: ServiceProcess, w: Workspace): Promise<Row[]> {
    const jobsBefore = (await api(svc.url, "GET", "/v1/jobs?limit=500", w.tokens.viewer)).body.jobs.length as number;
    const digestBefore = stateDigest(w);
    const cases = fc.sample(malformedRequests(w), { numRuns: MALFORMED, seed: SEED });
    const statuses: Record<string, number> = {};
    const non4xx: string[] = [];
    const byKind: Record<string, Set<number>> = {};
    await sendEach(svc.url, cases, (c, status) => {
        statuses[status] = (statuses[status] ?? 0) + 1;
        (byKind[c.what] ??= new Set()).add(status);
        if (status < 400 || status >= 500) non4xx.push(`${c.what} ${c.method} ${c.path.slice(0, 60)} → ${status}`);
    });
    const jobsAfter = (await api(svc.url, "GET", "/v1/jobs?limit=500", w.tokens.viewer)).body.jobs.length as number;
    const unchanged = stateDigest(w) === digestBefore;
    console.log(`malformed: ${JSON.stringify(statuses)}; non-4xx: ${non4xx.length}; jobs ${jobsBefore} → ${jobsAfter}; state unchanged: ${unchanged}`);
    return [
        [`${cases.length} malformed requests (fast-check, seed ${SEED})`, Object.entries(statuses).map(([k, v]) => `${k}: ${v}`).join(", "), "only 4xx", verdict(non4xx.length === 0)],
        ["  status per kind of malformation", Object.entries(byKind).map(([k, v]) => `${k} ${[...v].join("/")}`).join("; "), "", ""],
        ...non4xx.slice(0, 5).map((n): Row => ["  not 4xx", n, "", ""]),
        ["  jobs created", String(jobsAfter - jobsBefore), "0", verdict(jobsAfter === jobsBefore)],
        ["  backend state and stand-in cloud files", unchanged ? "unchanged (same SHA-256)" : "changed", "unchanged", verdict(unchanged)],
    ];
}

async function main(): Promise<void> {
    const facts = machineFacts();
    console.log(`machine: ${facts}`);
    const w = prepareWorkspace();
    w.configure("dev", { count: 2 });
    w.configure("prod", { count: 2 });
    const start = () => startService(w, SERVICE_ENV);
    let svc = await start();
    const rows: Row[] = [];
    const skipped: string[] = [];
    try {
        // Both stacks exist with resources before anything is broken.
        for (const stack of ["dev", "prod"]) {
            const r = await post(svc, w, stack, "updates");
            const job = await waitJob(svc.url, w.tokens.viewer, r.body.id, 300_000);
            if (job.state !== "succeeded") throw new Error(`initial update of ${stack}: ${job.state} ${JSON.stringify(job.error)}`);
        }
        const run = async (name: string, part: () => Promise<Row[]>) => {
            if (!PARTS.has(name)) return;
            const t0 = Date.now();
            try {
                rows.push(...(await part()));
            } catch (e) {
                skipped.push(`${name}: ${(e as Error).message}`);
                console.error(`${name} failed:`, e);
            }
            console.log(`${name} took ${Math.round((Date.now() - t0) / 1000)} s`);
        };
        await run("malformed", () => malformed(svc, w));
        await run("kill", () => killWorkers(svc, w));
        await run("restart", async () => {
            const out = await killService(w, start, svc);
            svc = out.svc;
            return out.rows;
        });
        await run("concurrent", () => concurrent(svc, w));
        const audit = await auditAfter(svc, w, 0);
        if (audit) rows.push(["Audit chain after the suite", `${audit.verification?.ok ? "verifies" : `BROKEN: ${JSON.stringify(audit.verification?.firstBad)}`} (${audit.verification?.entries} entries)`, "verifies", verdict(audit.verification?.ok === true)]);
    } finally {
        await svc.stop();
    }
    const md = table(["Measure", "Figure", "Target", ""], rows);
    const notRun = skipped.length ? `\n\nParts that could not complete: ${skipped.map((s) => `\`${s.replace(/\n[\s\S]*/, "")}\``).join("; ")}.` : "";
    console.log(`\n${md}${notRun}\n`);
    const all = ["kill", "restart", "concurrent", "malformed"].every((p) => PARTS.has(p));
    writeSection(all ? "reliability" : `reliability-${[...PARTS].join("-")}`, `Run of \`npm run bench:reliability\` (parts: ${[...PARTS].join(", ")}): ${facts}.\n\n${md}${notRun}`);
}

main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
});
