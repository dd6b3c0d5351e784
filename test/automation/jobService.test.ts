// The job use cases with a scripted worker in place of the Pulumi CLI: guard hooks, crashes,
// forced kills and shutdown, which the real engine cannot be made to do on demand.
// What this does NOT prove: that the real worker reports these outcomes (service.test.ts does).
import * as assert from "node:assert/strict";
import { AppError, planStale } from "../../automation/errors";
import { AdmissionGuard } from "../../automation/admission/guard";
import { defaultPolicy } from "../../automation/environments/policy";
import { JobGuard, JobService, openGuard, RepairStatus } from "../../automation/jobs/service";
import { SqliteJobStore } from "../../automation/jobs/sqliteStore";
import type { Principal } from "../../automation/security/roles";
import { silentLogger } from "../../automation/logger";
import type { WorkerSpec } from "../../automation/pulumi/protocol";
import type { StartWorker, WorkerHandlers, WorkerOutcome } from "../../automation/pulumi/spawn";
import type { SourceCheckouts } from "../../automation/sources/checkouts";

interface Script {
    handlers: WorkerHandlers;
    finish(outcome: WorkerOutcome): void;
    cancelled: boolean;
    killed: boolean;
}

/** An admin's token, or a GitHub delivery for `github:` names. */
const as = (name: string): Principal => (name.startsWith("github:") ? { name, role: "operator", via: "webhook" } : { name, role: "admin", via: "token" });

function setup(opts: { guard?: JobGuard; repair?: { repairStatus(stack: string): Promise<RepairStatus> }; cancelGraceMs?: number; checkouts?: SourceCheckouts; credentials?: Record<string, string>; limits?: { logLines: number; events: number }; prTimeoutMs?: number } = {}) {
    const store = new SqliteJobStore(":memory:");
    const scripts: Script[] = [];
    const specs: WorkerSpec[] = [];
    const envs: NodeJS.ProcessEnv[] = [];
    const startWorker: StartWorker = (spec, env, handlers) => {
        specs.push(spec);
        envs.push(env);
        let finish!: (o: WorkerOutcome) => void;
        const done = new Promise<WorkerOutcome>((r) => (finish = r));
        const script: Script = { handlers, finish, cancelled: false, killed: false };
        scripts.push(script);
        return {
            pid: -1,
            done,
            cancel: () => (script.cancelled = true),
            kill: () => {
                script.killed = true;
                finish({ kind: "crashed", code: null, signal: "SIGKILL" });
            },
        };
    };
    const service = new JobService({
        store,
        logger: silentLogger(),
        startWorker,
        guard: opts.guard ?? openGuard,
        repair: opts.repair,
        credentials: opts.credentials,
        limits: opts.limits,
        plansDir: "/nowhere/plans",
        checkouts: opts.checkouts,
        pullRequestWorker: { env: { PULUMI_BACKEND_URL: "file:///state" }, timeoutMs: opts.prTimeoutMs, sandbox: (c) => ({ bwrap: "/usr/bin/bwrap", args: ["--bind", c.root, c.root, "--bind", c.configDir, c.configDir] }) },
        stacks: () => ["dev", "prod"],
        projectDir: "/nowhere",
        pulumiBin: "/nowhere",
        policyPacks: [],
        workerEnv: {},
        concurrency: 2,
        queueLimit: 5,
        cancelGraceMs: opts.cancelGraceMs ?? 50,
    });
    const settled = async (id: string) => {
        for (let i = 0; i < 200; i++) {
            const j = (await store.getJob(id))!;
            if (!["queued", "running"].includes(j.state)) return j;
            await new Promise((r) => setTimeout(r, 5));
        }
        throw new Error(`job ${id} did not settle`);
    };
    const tick = () => new Promise((r) => setImmediate(r));
    return { store, service, scripts, specs, envs, settled, tick };
}

/** Checkouts whose fetch the test finishes, recording releases. */
function scriptedCheckouts() {
    const released: string[] = [];
    let finishFetch!: () => void;
    const fetched = new Promise<void>((r) => (finishFetch = r));
    const checkouts: SourceCheckouts = {
        async prepare(jobId, source, log) {
            log(`fetching ${source.sha}`);
            await fetched;
            return { root: `/checkouts/${jobId}`, projectDir: `/checkouts/${jobId}/infra`, configDir: `/checkouts/${jobId}.config`, release: async () => void released.push(jobId) };
        },
    };
    return { checkouts, released, finishFetch };
}
const source = { repository: "acme/infra", pullRequest: 3, sha: "ab".repeat(20) };

const step = (name: string, op = "create") => ({ sequence: 1, resourcePreEvent: { metadata: { op, urn: `urn:pulumi:dev::fixture::pulumi-nodejs:dynamic:Resource::${name}`, type: "pulumi-nodejs:dynamic:Resource" } } });

/** A repair verdict and pending scan the test controls, enforced by the real admission guard with default policies. */
function scriptedRepair() {
    const broken = new Set<string>();
    let finishScan: (() => void) | undefined;
    let scan: Promise<void> | undefined;
    const gate = {
        repairStatus: async (stack: string) => ({ needed: broken.has(stack), findings: broken.has(stack) ? [{ kind: "pending-operations" as const, operations: [] }] : [] }),
        settled: async () => scan,
    };
    const guard = new AdmissionGuard({ policyOf: defaultPolicy, approvals: { checkApply: async () => undefined }, repair: gate, roleOf: () => "admin" });
    return {
        gate,
        guard,
        broken,
        startScan: () => void (scan = new Promise<void>((r) => (finishScan = r))),
        finishScan: () => finishScan?.(),
    };
}

describe("job service", () => {
    it("refuses any operation on a stack that needs repair with 409 NEEDS_REPAIR naming the repair route, storing no job", async () => {
        const repair = scriptedRepair();
        repair.broken.add("dev");
        const { service, store } = setup({ repair: repair.gate, guard: repair.guard });
        for (const op of ["preview", "update", "refresh", "destroy"] as const) {
            await assert.rejects(service.submit({ stack: "dev", op, principal: as("ada") }), (e: AppError) => e.code === "NEEDS_REPAIR" && e.status === 409 && /POST \/v1\/stacks\/dev\/repair/.test(e.message));
        }
        assert.equal((await store.listJobs()).length, 0);
        assert.equal((await service.submit({ stack: "prod", op: "preview", principal: as("ada") })).state, "queued");
    });

    it("admits no more jobs than the stack's line holds when many are submitted at once", async () => {
        const { service, store, tick } = setup();
        const replies = await Promise.allSettled(Array.from({ length: 12 }, () => service.submit({ stack: "dev", op: "update", principal: as("ada") })));
        await tick();
        const refused = replies.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => (r.reason as { code: string }).code);
        // one running, five waiting (queueLimit 5), the rest refused
        assert.equal(replies.filter((r) => r.status === "fulfilled").length, 6);
        assert.deepEqual([...new Set(refused)], ["QUEUE_FULL"]);
        assert.equal((await store.listJobs({ stack: "dev" })).length, 6);
    });

    it("shows the repair status on the stack only when a repair gate is present", async () => {
        const repair = scriptedRepair();
        repair.broken.add("dev");
        assert.deepEqual((await setup({ repair: repair.gate }).service.stackStatus("dev")).repair, { needed: true, findings: [{ kind: "pending-operations", operations: [] }] });
        assert.equal((await setup().service.stackStatus("dev")).repair, undefined);
    });

    it("starts a queued job only after the stack's scan, and fails it with NEEDS_REPAIR when the scan found the stack broken", async () => {
        const repair = scriptedRepair();
        const { service, settled, scripts, tick } = setup({ repair: repair.gate, guard: repair.guard });
        const first = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        const queued = await service.submit({ stack: "dev", op: "preview", principal: as("ada") });
        await tick();
        // the update dies mid-apply; its scan is under way when the preview's turn comes
        repair.startScan();
        scripts[0].finish({ kind: "crashed", code: null, signal: "SIGKILL" });
        await settled(first.id);
        await tick();
        assert.equal((await service.getJob(queued.id)).state, "queued", "waits for the scan");
        assert.equal(scripts.length, 1);
        repair.broken.add("dev");
        repair.finishScan();
        const done = await settled(queued.id);
        assert.deepEqual([done.state, done.error?.code, done.startedAt], ["failed", "NEEDS_REPAIR", undefined]);
        assert.equal(scripts.length, 1, "no worker was started for it");
    });

    it("runs a pull request's preview in its checkout, then releases the checkout", async () => {
        const co = scriptedCheckouts();
        const { service, scripts, specs, envs, settled, tick } = setup({ checkouts: co.checkouts });
        const job = await service.submit({ stack: "dev", op: "preview", options: { source }, principal: as("github:octo") });
        await tick();
        assert.equal((await service.getJob(job.id)).state, "running");
        assert.equal(scripts.length, 0);
        co.finishFetch();
        while (!scripts.length) await tick();
        assert.equal(specs[0].projectDir, `/checkouts/${job.id}/infra`);
        assert.deepEqual(specs[0].sandbox, { bwrap: "/usr/bin/bwrap", args: ["--bind", `/checkouts/${job.id}`, `/checkouts/${job.id}`, "--bind", `/checkouts/${job.id}.config`, `/checkouts/${job.id}.config`] }, "sandboxed in its worktree");
        assert.deepEqual(specs[0].stackConfig, { dir: `/checkouts/${job.id}.config`, keptFile: "/nowhere/stack-config/Pulumi.dev.yaml", checkoutRoot: `/checkouts/${job.id}` }, "its config copy beside the worktree, never in it");
        assert.deepEqual(envs[0], { PULUMI_BACKEND_URL: "file:///state" }, "with the pull-request environment, not the service's");
        scripts[0].finish({ kind: "succeeded" });
        await settled(job.id);
        while (!co.released.length) await tick();
        assert.deepEqual(co.released, [job.id]);
    });
    it("stops a pull request's preview that runs longer than its limit, marking it stopped-by-guard with the reason", async () => {
        const co = scriptedCheckouts();
        const { service, scripts, settled, tick } = setup({ checkouts: co.checkouts, prTimeoutMs: 30 });
        const job = await service.submit({ stack: "dev", op: "preview", options: { source }, principal: as("github:octo") });
        co.finishFetch();
        while (!scripts.length) await tick();
        // The scripted worker never ends by itself: the limit asks it to stop, and it does.
        while (!scripts[0].cancelled) await new Promise((r) => setTimeout(r, 5));
        scripts[0].finish({ kind: "failed", name: "Cancelled", message: "" });
        const done = await settled(job.id);
        assert.equal(done.state, "stopped-by-guard");
        assert.match(done.error!.message, /ran longer than 0.03 s \(AUTOMATION_PR_PREVIEW_TIMEOUT_MS\)/);
    });
    it("cancels a pull request's preview while its head is fetched, starting no worker and releasing the checkout", async () => {
        const co = scriptedCheckouts();
        const { service, scripts, settled, tick } = setup({ checkouts: co.checkouts });
        const job = await service.submit({ stack: "dev", op: "preview", options: { source }, principal: as("github:octo") });
        await tick();
        await service.cancel(job.id, "otto");
        co.finishFetch();
        const done = await settled(job.id);
        assert.equal(done.state, "cancelled");
        assert.match(done.error!.message, /Cancelled by otto while its pull request was checked out/);
        assert.equal(scripts.length, 0);
        while (!co.released.length) await tick();
    });
    it("refuses a pull-request source on anything but a plain preview, and when no checkouts are configured", async () => {
        const { service } = setup({ checkouts: scriptedCheckouts().checkouts });
        await assert.rejects(service.submit({ stack: "dev", op: "update", options: { source }, principal: as("t") }), (e: AppError) => e.status === 422 && /Only a plain preview/.test(e.message));
        await assert.rejects(service.submit({ stack: "dev", op: "preview", options: { source, mode: "plan" }, principal: as("t") }), (e: AppError) => e.status === 422);
        await assert.rejects(setup().service.submit({ stack: "dev", op: "preview", options: { source }, principal: as("t") }), /GitHub webhooks are off/);
    });
    it("answers an update with the guard's AppError at admission and stores no job", async () => {
        const { service, store } = setup({ guard: { ...openGuard, admit: () => { throw planStale("the stack changed since the preview"); } } });
        await assert.rejects(service.submit({ stack: "dev", op: "update", principal: as("ada") }), (e: AppError) => e.code === "PLAN_STALE" && e.status === 409);
        assert.equal((await store.listJobs()).length, 0);
    });

    it("fails a queued update with the guard's code when the guard refuses at start", async () => {
        const { service, settled, scripts } = setup({ guard: { ...openGuard, beforeStart: () => { throw planStale("moved while queued"); } } });
        const job = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        const done = await settled(job.id);
        assert.equal(done.state, "failed");
        assert.equal(done.error?.code, "PLAN_STALE");
        assert.equal(scripts.length, 0, "no worker was started");
    });

    it("runs an update with the refresh of the preview admission approved, from that one value: the preview is not looked up again", async () => {
        const approved = { id: "approved-preview", refresh: true, plan: false, onEvent: () => undefined };
        const { service, store, scripts, specs, settled, tick } = setup({ guard: { ...openGuard, beforeStart: () => approved } });
        const lookedUp: string[] = [];
        const getJob = store.getJob.bind(store);
        store.getJob = (id) => (lookedUp.push(id), getJob(id));
        const job = await service.submit({ stack: "dev", op: "update", options: { previewId: approved.id }, principal: as("ada") });
        while (!scripts.length) await tick();
        assert.equal(specs[0].options.refresh, true, "the update refreshes as its preview did");
        assert.equal(specs[0].planFile, undefined, "a preview that saved no plan binds the update to none");
        scripts[0].finish({ kind: "succeeded" });
        assert.equal((await settled(job.id)).state, "succeeded");
        assert.deepEqual(lookedUp.filter((id) => id === approved.id), []);
    });

    it("fails an update whose approved preview saved a plan that is gone with PLAN_MISSING, starting no worker", async () => {
        const { service, scripts, settled } = setup({ guard: { ...openGuard, beforeStart: () => ({ id: "planned-preview", refresh: false, plan: true, onEvent: () => undefined }) } });
        const job = await service.submit({ stack: "dev", op: "update", options: { previewId: "planned-preview" }, principal: as("ada") });
        const done = await settled(job.id);
        assert.equal(done.state, "failed");
        assert.equal(done.error?.code, "PLAN_MISSING");
        assert.match(done.error?.message ?? "", /preview "planned-preview" is gone/);
        assert.equal(scripts.length, 0, "no worker was started");
    });

    it("cancels an update whose start guard is still deciding, without starting its worker", async () => {
        let release!: () => void;
        const deciding = new Promise<void>((r) => (release = r));
        const { service, settled, scripts, tick } = setup({ guard: { ...openGuard, beforeStart: () => deciding } });
        const job = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        await tick();
        await service.cancel(job.id, "otto");
        release();
        const done = await settled(job.id);
        assert.equal(done.state, "cancelled");
        assert.equal(scripts.length, 0);
    });

    it("stops a job gracefully when the step guard of the preview it was admitted to apply says stop, marking it stopped-by-guard with the reason", async () => {
        const seen: string[] = [];
        const { service, settled, scripts, tick } = setup({
            guard: {
                ...openGuard,
                beforeStart: () => ({
                    id: "approved-preview",
                    refresh: false,
                    plan: false,
                    onEvent: (e) => {
                        const urn = (e.resourcePreEvent as { metadata: { urn: string } } | undefined)?.metadata.urn ?? "";
                        seen.push(urn);
                        return urn.endsWith("surprise") ? { stop: "step not in the approved preview: surprise" } : undefined;
                    },
                }),
            },
            cancelGraceMs: 10_000,
        });
        const job = await service.submit({ stack: "dev", op: "update", options: { previewId: "approved-preview" }, principal: as("ada") });
        await tick();
        scripts[0].handlers.onEvent(step("expected"));
        assert.equal(scripts[0].cancelled, false);
        scripts[0].handlers.onEvent(step("surprise"));
        assert.equal(scripts[0].cancelled, true);
        scripts[0].finish({ kind: "failed", name: "Cancelled", message: "update canceled" });
        const done = await settled(job.id);
        assert.equal(done.state, "stopped-by-guard");
        assert.equal(done.summary?.stopReason, "step not in the approved preview: surprise");
        assert.equal(done.error?.code, "STOPPED_BY_GUARD");
        assert.equal(seen.length, 2);
    });

    it("kills a cancelled job's worker after the grace period and records the forced kill", async () => {
        const { service, settled, scripts, store, tick } = setup({ cancelGraceMs: 30 });
        const job = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        await tick();
        await service.cancel(job.id, "otto");
        assert.equal(scripts[0].cancelled, true);
        const done = await settled(job.id);
        assert.equal(scripts[0].killed, true);
        assert.equal(done.state, "cancelled");
        assert.ok((await store.eventsAfter(job.id, 0)).some((e) => e.type === "forceKill"));
    });

    it("marks a job whose worker dies without a report as failed with WORKER_CRASHED, then runs the next job", async () => {
        const { service, settled, scripts, tick } = setup();
        const a = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        const b = await service.submit({ stack: "dev", op: "refresh", principal: as("ada") });
        await tick();
        scripts[0].finish({ kind: "crashed", code: null, signal: "SIGSEGV" });
        const done = await settled(a.id);
        assert.equal(done.error?.code, "WORKER_CRASHED");
        await tick();
        assert.equal(scripts.length, 2);
        scripts[1].finish({ kind: "succeeded" });
        assert.equal((await settled(b.id)).state, "succeeded");
    });

    it("on shutdown stops running jobs after the grace period, letting their in-flight steps finish, as interrupted, and leaves queued jobs queued", async () => {
        const { service, store, scripts, tick } = setup({ cancelGraceMs: 0 });
        const running = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        const queued = await service.submit({ stack: "dev", op: "preview", principal: as("ada") });
        await tick();
        const stopping = service.shutdown(20);
        // Past the grace the worker is asked to stop, not killed: it ends when its steps have.
        while (!scripts[0].cancelled) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(scripts[0].killed, false);
        scripts[0].finish({ kind: "failed", name: "Cancelled", message: "" });
        await stopping;
        assert.equal((await store.getJob(running.id))!.state, "interrupted");
        assert.equal((await store.getJob(queued.id))!.state, "queued");
        assert.equal(scripts.length, 1);
        await assert.rejects(service.submit({ stack: "prod", op: "preview", principal: as("ada") }), (e: AppError) => e.code === "SHUTTING_DOWN");
    });

    it("abandons what still runs when told again to stop: kills it now and says what each leaves behind", async () => {
        const { service, store, scripts, tick } = setup({ cancelGraceMs: 0 });
        const running = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        await tick();
        // A create of a provider's resource under way (what a kill cuts off).
        scripts[0].handlers.onEvent({ sequence: 1, resourcePreEvent: { metadata: { ...step("item-0").resourcePreEvent.metadata, new: { custom: true } } } });
        const stopping = service.shutdown(20);
        while (!scripts[0].cancelled) await new Promise((r) => setTimeout(r, 5));
        const abandoned = await service.abandon();
        await stopping;
        assert.equal(scripts[0].killed, true);
        assert.deepEqual(abandoned.map((a) => [a.jobId, a.stack, a.op, a.leavesBehind.inFlight.length]), [[running.id, "dev", "update", 1]]);
        assert.equal((await store.getJob(running.id))!.state, "interrupted");
    });

    it("records the summary from engine events and redacts the job's secrets from stored events", async () => {
        const { service, settled, scripts, store, tick } = setup();
        const job = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        await tick();
        scripts[0].handlers.onSecrets(["s3cr3t-value"]);
        scripts[0].handlers.onEvent({ sequence: 2, diagnosticEvent: { message: "password is s3cr3t-value", severity: "info" } });
        scripts[0].handlers.onEvent(step("item-0"));
        scripts[0].handlers.onEvent({ sequence: 3, summaryEvent: { resourceChanges: { create: 2 } } });
        scripts[0].finish({ kind: "succeeded", outputs: { url: "x", token: "[secret]" } });
        const done = await settled(job.id);
        assert.deepEqual(done.summary?.counts, { create: 2 });
        assert.deepEqual(done.summary?.steps.map((s) => s.op), ["create"]);
        assert.deepEqual(done.summary?.outputs, { url: "x", token: "[secret]" });
        assert.doesNotMatch(JSON.stringify(await store.eventsAfter(job.id, 0)), /s3cr3t-value/);
    });
    it("shows a running job's latest steps within 250 ms of its last event, even when no event follows", async () => {
        const { service, scripts, store, tick, settled } = setup();
        const job = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        await tick();
        for (const name of ["item-0", "item-1", "item-2"]) scripts[0].handlers.onEvent(step(name));
        await tick();
        // the first event is written at once; the two in the same 250 ms wait for the trailing write
        assert.equal((await store.getJob(job.id))!.summary?.steps.length, 1);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal((await store.getJob(job.id))!.state, "running");
        assert.deepEqual((await store.getJob(job.id))!.summary?.steps.map((s) => s.urn.split("::").pop()), ["item-0", "item-1", "item-2"]);
        scripts[0].finish({ kind: "succeeded" });
        await settled(job.id);
    });

    it("redacts a job's secret values and the service's credentials from everything it stores", async () => {
        const { service, settled, scripts, store, tick } = setup({ credentials: { PULUMI_CONFIG_PASSPHRASE: "env-pass-phrase" } });
        const job = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        await tick();
        scripts[0].handlers.onSecrets(["hunter2-secret", JSON.stringify({ db: { password: "leaf-secret-1" }, port: 54329 })]);
        scripts[0].handlers.onOutput("token=hunter2-secret pass=env-pass-phrase");
        // a secret set with --secret --path arrives as one JSON value; the program prints one leaf
        scripts[0].handlers.onOutput("db password leaf-secret-1 on port 54329");
        scripts[0].handlers.onEvent({ sequence: 2, diagnosticEvent: { message: "saw hunter2-secret", severity: "info" } });
        scripts[0].finish({ kind: "failed", name: "CommandError", message: "hunter2-secret leaked" });
        const done = await settled(job.id);
        const everything = JSON.stringify([done, await store.eventsAfter(job.id, 0), await store.logPage(job.id, 0)]);
        assert.doesNotMatch(everything, /hunter2-secret|env-pass-phrase|leaf-secret-1|54329/);
        assert.deepEqual((await store.logPage(job.id, 0)).lines.slice(0, 2).map((l) => l.text), ["token=[secret] pass=[secret]", "db password [secret] on port [secret]"]);
    });

    it("tells lifecycle followers of each job's queued, started and finished moments, and a watcher of its events only", async () => {
        const { service, settled, scripts, tick } = setup();
        const moments: string[] = [];
        for (const m of ["queued", "started", "finished"] as const) service.on(m, (job) => void moments.push(`${m}:${job.op}`));
        // a follower that throws disturbs neither the job nor the others
        service.on("started", () => {
            throw new Error("broken follower");
        });
        const a = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        const b = await service.submit({ stack: "prod", op: "preview", principal: as("ada") });
        await tick();
        const seen: string[] = [];
        const off = service.watch(a.id, (e) => void seen.push(e?.type ?? "(elsewhere)"));
        scripts[0].handlers.onEvent(step("item-0"));
        scripts[1].handlers.onEvent(step("other-job"));
        // a watcher hears of an event once it is stored
        await tick();
        off();
        scripts[0].handlers.onEvent(step("item-1"));
        scripts[0].finish({ kind: "succeeded" });
        scripts[1].finish({ kind: "succeeded" });
        await settled(a.id);
        await settled(b.id);
        assert.deepEqual(seen, ["resourcePreEvent"]);
        assert.deepEqual(moments.sort(), ["finished:preview", "finished:update", "queued:preview", "queued:update", "started:preview", "started:update"]);
    });

    it("keeps a job's log and engine events within their limits, each ending with a marker, and cuts an overlong line", async () => {
        const { service, settled, scripts, store, tick } = setup({ limits: { logLines: 5, events: 4 } });
        const job = await service.submit({ stack: "dev", op: "update", principal: as("ada") });
        await tick();
        scripts[0].handlers.onOutput("x".repeat(20_000));
        for (let i = 0; i < 300; i++) scripts[0].handlers.onOutput(`line ${i}`);
        for (let i = 0; i < 300; i++) scripts[0].handlers.onEvent(step(`item-${i}`));
        scripts[0].finish({ kind: "succeeded" });
        const done = await settled(job.id);
        const lines = (await store.logPage(job.id, 0, 1000)).lines.map((l) => l.text);
        assert.equal(lines.length, 6);
        assert.equal(lines[0], `${"x".repeat(8192)}…[line cut: ${20_000 - 8192} more characters]`);
        assert.equal(lines[5], "[log truncated: the job printed more than 5 lines; the rest is not kept]");
        const types = (await store.eventsAfter(job.id, 0, 1000)).map((e) => e.type);
        assert.deepEqual(types, ["state", "state", "resourcePreEvent", "resourcePreEvent", "resourcePreEvent", "resourcePreEvent", "truncated", "state"]);
        assert.equal(done.summary?.steps.length, 300, "the summary still counts every step");
    });
});
