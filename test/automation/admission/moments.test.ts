// The one admission path, attacked at both of its moments for every operation: the real
// admission guard, policy files, approvals, token list and job service, with a scripted worker
// standing in for the Pulumi CLI (no refusal here may ever reach it). Each case makes the
// operation refusable either before it is submitted (the answer is the error; no job is stored)
// or while it waits in the queue behind a running job (the job fails with the error's code when
// it leaves the queue, and no worker starts for it).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AdmissionGuard } from "../../../automation/admission/guard";
import { parsePolicy, PolicySet } from "../../../automation/environments/policy";
import { ApprovalService } from "../../../automation/approvals/service";
import { ApprovalStore } from "../../../automation/approvals/store";
import { AuditLog } from "../../../automation/audit/fileLog";
import { AppError } from "../../../automation/errors";
import { JobReader } from "../../../automation/jobs/reader";
import { JobService } from "../../../automation/jobs/service";
import { SqliteJobStore } from "../../../automation/jobs/sqliteStore";
import { Job, OPS, Op } from "../../../automation/jobs/types";
import { silentLogger } from "../../../automation/logger";
import type { StartWorker, WorkerOutcome } from "../../../automation/pulumi/spawn";
import type { Principal, Role } from "../../../automation/security/roles";
import { createRedactor } from "../../../automation/security/redact";
import { generateToken } from "../../../automation/security/tokens";
import { sqliteDb } from "../../../automation/storage/db";
import { openSqlite } from "../../../automation/storage/sqlite";
import { policyEditor } from "../approvals/editPolicy";

/** Everything a refusal case can change: the policy files, the tokens, the repair verdict. */
interface World {
    dir: string;
    edit: (file: string, text: string) => void;
    roles: Map<string, Role>;
    broken: Set<string>;
    service: JobService;
    store: SqliteJobStore;
    approvals: ApprovalService;
    workers: { op: Op; finish(o: WorkerOutcome): void }[];
    close(): void;
}

/** A policy letting an operator do everything on dev, destroy included, with no approvals. */
const OPEN = "operations:\n  destroy: { role: operator }\n";

async function world(): Promise<World> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "admission-"));
    const envDir = path.join(dir, "environments");
    fs.mkdirSync(envDir);
    const edit = policyEditor(() => envDir);
    edit("dev.yaml", OPEN);
    const roles = new Map<string, Role>([
        ["otto", "operator"],
        ["ada", "admin"],
        ["ann", "approver"],
        ["bob", "approver"],
    ]);
    const broken = new Set<string>();
    const store = new SqliteJobStore(":memory:");
    const db = openSqlite(":memory:");
    const audit = new AuditLog(path.join(dir, "audit.jsonl"));
    const policies = new PolicySet(envDir, () => ["dev", "prod"]);
    const approvals = new ApprovalService({
        store: await ApprovalStore.open(sqliteDb(db)),
        jobs: new JobReader(store),
        audit,
        policyOf: (s) => policies.get(s),
        // the stack never changes under these tests: a constant fingerprint
        fingerprint: async () => ({ state: { version: 1, hash: "s" }, program: { hash: "p" }, config: { hash: "c" } }),
        roleOf: (name) => roles.get(name),
        redact: createRedactor().redact,
    });
    const repair = { repairStatus: async (s: string) => ({ needed: broken.has(s), findings: broken.has(s) ? [{ kind: "pending-operations" as const, operations: [] }] : [] }), settled: async () => undefined };
    const guard = new AdmissionGuard({ policyOf: (s) => policies.get(s), approvals, repair, roleOf: (name) => roles.get(name) });
    const workers: World["workers"] = [];
    const startWorker: StartWorker = (spec) => {
        let finish!: (o: WorkerOutcome) => void;
        const done = new Promise<WorkerOutcome>((r) => (finish = r));
        workers.push({ op: spec.op, finish });
        return { pid: -1, done, cancel: () => finish({ kind: "failed", name: "Cancelled", message: "" }), kill: () => finish({ kind: "crashed", code: null, signal: "SIGKILL" }) };
    };
    const service = new JobService({
        store,
        logger: silentLogger(),
        startWorker,
        guard,
        repair,
        stacks: () => ["dev", "prod"],
        projectDir: "/nowhere",
        pulumiBin: "/nowhere",
        policyPacks: [],
        workerEnv: {},
        plansDir: path.join(dir, "plans"),
        concurrency: 2,
        queueLimit: 5,
        cancelGraceMs: 50,
    });
    service.on("started", (job) => approvals.previewStarted(job));
    return {
        dir,
        edit,
        roles,
        broken,
        service,
        store,
        approvals,
        workers,
        close() {
            audit.close();
            db.close();
            store.close();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

const token = (name: string, role: Role): Principal => ({ name, role, via: "token" });

async function settled(w: World, id: string): Promise<Job> {
    for (let i = 0; i < 400; i++) {
        const j = (await w.store.getJob(id))!;
        if (!["queued", "running"].includes(j.state)) return j;
        await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`job ${id} did not settle`);
}

/** A refusal: how to bring it about, the code it must produce, and the operations it applies to. */
interface Refusal {
    name: string;
    code: string;
    ops: readonly Op[];
    make(w: World, op: Op): void;
}

const REFUSALS: Refusal[] = [
    {
        name: "the policy's role for the operation is above the caller's",
        code: "FORBIDDEN",
        ops: OPS,
        make: (w, op) => w.edit("dev.yaml", op === "destroy" ? "operations:\n  destroy: { role: admin }\n" : `${OPEN}  ${op}: { role: admin }\n`),
    },
    {
        name: "the caller's token lost its role",
        code: "FORBIDDEN",
        ops: OPS,
        make: (w) => {
            w.roles.set("otto", "viewer");
            w.roles.set("ada", "viewer");
        },
    },
    {
        name: "a freeze window covers the operation",
        code: "FROZEN",
        ops: OPS,
        make: (w, op) => w.edit("dev.yaml", `${OPEN}freezeWindows:\n  - { start: '2000-01-01T00:00:00Z', end: '2999-01-01T00:00:00Z', operations: [${op}], reason: change freeze }\n`),
    },
    {
        name: "the stack needs repair",
        code: "NEEDS_REPAIR",
        ops: OPS,
        make: (w) => w.broken.add("dev"),
    },
    {
        name: "the stack's policy file does not validate",
        code: "POLICY_INVALID",
        ops: OPS,
        // prod has never had a file: a broken first version shuts the stack
        make: (w) => w.edit("prod.yaml", "operations: { update: { approvals: lots } }\n"),
    },
    {
        name: "the policy now needs an approved preview",
        code: "APPROVAL_REQUIRED",
        ops: ["update", "destroy"],
        make: (w, op) => w.edit("dev.yaml", `operations:\n  destroy: { role: operator${op === "destroy" ? ", approvals: 1" : ""} }\n${op === "update" ? "  update: { approvals: 1 }\n" : ""}`),
    },
];

/** The stack a case runs on: the policy-invalid case breaks prod's file, the others act on dev. */
const stackOf = (r: Refusal) => (r.code === "POLICY_INVALID" ? "prod" : "dev");
/**
 * Who submits, as the token list says at that moment (as the HTTP layer authenticates): otto on
 * dev's open policy; ada on prod's default one, where destroys need an admin.
 */
const callerOf = (w: World, r: Refusal) => {
    const name = r.code === "POLICY_INVALID" ? "ada" : "otto";
    return token(name, w.roles.get(name)!);
};

/** Waits until `n` workers have been started. */
async function workers(w: World, n: number): Promise<void> {
    for (let i = 0; i < 400 && w.workers.length < n; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(w.workers.length >= n, `${n} worker(s) started`);
}

describe("one admission path for every operation, at submit and when the job leaves the queue", () => {
    let w: World;
    beforeEach(async () => (w = await world()));
    afterEach(() => w.close());

    for (const refusal of REFUSALS) {
        for (const op of refusal.ops) {
            it(`refuses a ${op} at submit when ${refusal.name} (${refusal.code}), storing no job`, async () => {
                const stack = stackOf(refusal);
                refusal.make(w, op);
                await assert.rejects(w.service.submit({ stack, op, principal: callerOf(w, refusal) }), (e: AppError) => e.code === refusal.code);
                assert.equal((await w.store.listJobs({})).length, 0);
                assert.equal(w.workers.length, 0);
            });
            it(`fails a ${op} queued before ${refusal.name} with ${refusal.code} when it leaves the queue, starting no worker for it`, async () => {
                const stack = stackOf(refusal);
                // a preview by someone else holds the stack, so the job waits in the queue
                const blocker = await w.service.submit({ stack, op: "preview", principal: token("bob", "approver") });
                const queued = await w.service.submit({ stack, op, principal: callerOf(w, refusal) });
                assert.equal((await w.store.getJob(queued.id))!.state, "queued");
                refusal.make(w, op);
                await workers(w, 1);
                w.workers[0].finish({ kind: "succeeded" });
                await settled(w, blocker.id);
                const done = await settled(w, queued.id);
                assert.deepEqual([done.state, done.error?.code, done.startedAt], ["failed", refusal.code, undefined], JSON.stringify(done.error));
                assert.equal(w.workers.length, 1, "only the blocker ever reached a worker");
            });
        }
    }

    it("fails a queued update when its token is revoked meanwhile (TOKEN_REVOKED): nothing runs on a revoked token's behalf", async () => {
        const blocker = await w.service.submit({ stack: "dev", op: "preview", principal: token("bob", "approver") });
        const queued = await w.service.submit({ stack: "dev", op: "update", principal: token("otto", "operator") });
        w.roles.delete("otto");
        await workers(w, 1);
        w.workers[0].finish({ kind: "succeeded" });
        await settled(w, blocker.id);
        const done = await settled(w, queued.id);
        assert.deepEqual([done.state, done.error?.code], ["failed", "TOKEN_REVOKED"]);
    });

    it("admits a queued job whose conditions still hold, so the refusals above are the cases' doing", async () => {
        for (const op of OPS) {
            const job = await w.service.submit({ stack: "dev", op, principal: token("otto", "operator") });
            await workers(w, 1);
            w.workers.shift()!.finish({ kind: "succeeded" });
            assert.equal((await settled(w, job.id)).state, "succeeded", op);
        }
    });

    describe("approvals counted against the tokens and the policy as they are when the update starts", () => {
        /** A succeeded, fingerprinted preview of dev by otto, approved by ann; prod-like policy on dev. */
        async function approvedPreview(): Promise<Job> {
            w.edit("dev.yaml", "operations:\n  update: { approvals: 1, approverRole: approver }\n");
            const preview = await w.service.submit({ stack: "dev", op: "preview", principal: token("otto", "operator") });
            await workers(w, 1);
            w.workers.shift()!.finish({ kind: "succeeded" });
            await settled(w, preview.id);
            await w.approvals.decide(preview.id, token("ann", "approver"), { decision: "approve", operation: "update" }, "test");
            return (await w.store.getJob(preview.id))!;
        }
        it("admits the update while the approver's token and the policy's approvers still allow the approval", async () => {
            const preview = await approvedPreview();
            const job = await w.service.submit({ stack: "dev", op: "update", options: { previewId: preview.id }, principal: token("otto", "operator") });
            while (!w.workers.some((x) => x.op === "update")) await new Promise((r) => setTimeout(r, 5));
            w.workers.forEach((x) => x.finish({ kind: "succeeded" }));
            assert.equal((await settled(w, job.id)).state, "succeeded");
        });
        it("stores and serves an approval's comment redacted: a token pasted into it never reaches viewers", async () => {
            const preview = await approvedPreview();
            const pasted = generateToken();
            await w.approvals.decide(preview.id, token("bob", "approver"), { decision: "approve", operation: "update", comment: `lgtm, use ${pasted} and AKIAABCDEFGHIJKLMNOP` }, "test");
            const served = JSON.stringify(await w.approvals.list(preview.id));
            assert.ok(!served.includes(pasted) && !served.includes("AKIAABCDEFGHIJKLMNOP"), served);
            assert.ok(served.includes("lgtm, use [secret] and [secret]"));
        });
        it("refuses the update at submit once the approver's token is revoked (NOT_APPROVED, naming why)", async () => {
            const preview = await approvedPreview();
            w.roles.delete("ann");
            await assert.rejects(w.service.submit({ stack: "dev", op: "update", options: { previewId: preview.id }, principal: token("otto", "operator") }), (e: AppError) => {
                assert.equal(e.code, "NOT_APPROVED");
                assert.match(e.message, /ann's no longer counts: the approver's token no longer exists/);
                return true;
            });
        });
        it("refuses the update at submit once the policy names other approvers", async () => {
            const preview = await approvedPreview();
            w.edit("dev.yaml", "operations:\n  update: { approvals: 1, approverRole: approver, approvers: [bob] }\n");
            await assert.rejects(w.service.submit({ stack: "dev", op: "update", options: { previewId: preview.id }, principal: token("otto", "operator") }), (e: AppError) => e.code === "NOT_APPROVED");
        });
        it("refuses the update at submit once the approver's role is below the policy's approverRole", async () => {
            const preview = await approvedPreview();
            w.edit("dev.yaml", "operations:\n  update: { approvals: 1, approverRole: admin }\n");
            await assert.rejects(w.service.submit({ stack: "dev", op: "update", options: { previewId: preview.id }, principal: token("otto", "operator") }), (e: AppError) => e.code === "NOT_APPROVED");
        });
        it("fails the update when it leaves the queue if the approver's token was revoked while it waited", async () => {
            const preview = await approvedPreview();
            // dev is held by a refresh so the update waits
            const holder = await w.service.submit({ stack: "dev", op: "refresh", principal: token("otto", "operator") });
            const update = await w.service.submit({ stack: "dev", op: "update", options: { previewId: preview.id }, principal: token("otto", "operator") });
            w.roles.delete("ann");
            await workers(w, 1);
            w.workers.forEach((x) => x.finish({ kind: "succeeded" }));
            await settled(w, holder.id);
            const done = await settled(w, update.id);
            assert.deepEqual([done.state, done.error?.code], ["failed", "NOT_APPROVED"]);
        });
    });

    it("refuses a policy file that says a refresh needs approvals, which nothing could enforce", () => {
        assert.throws(() => parsePolicy("prod", "operations:\n  refresh: { approvals: 1 }\n"), /operations\.refresh\.approvals: a refresh cannot be bound to an approved preview/);
    });
});
