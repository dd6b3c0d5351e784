// The rules of schedules and dependencies, without the CLI: what a policy may declare, when a
// schedule is due, which outputs changed and who follows them, what the service may start on
// its own, and that a scheduled moment runs once however many instances tick (real SQLite and
// a real Postgres).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AdmissionGuard, checkServiceTrigger } from "../../automation/admission/guard";
import { defaultPolicy, loadPolicies, parsePolicy, PolicyError, PolicySet, type EnvironmentPolicy } from "../../automation/environments/policy";
import { changedOutputs, dependentsOf, referenceWarnings, stackReferencesOf } from "../../automation/dependencies/changes";
import type { Job } from "../../automation/jobs/types";
import type { Role } from "../../automation/security/roles";
import { silentLogger } from "../../automation/logger";
import { cronProblem, lastSlot, nextRun } from "../../automation/schedules/cron";
import { ScheduleRuns } from "../../automation/schedules/runs";
import { destroyDue, ScheduleService } from "../../automation/schedules/service";
import { openPool, postgresDb, sqliteDb } from "../../automation/storage/db";
import { openSqlite } from "../../automation/storage/sqlite";
import { startPostgres, type TestPostgres } from "../support/postgres";
import { policyEditor } from "./approvals/editPolicy";

const problemsOf = (f: () => unknown): string[] => {
    try {
        f();
    } catch (e) {
        if (e instanceof PolicyError) return e.problems;
        throw e;
    }
    assert.fail("expected a PolicyError");
};

describe("schedules and dependencies in a stack's policy", () => {
    it("reads a drift check, a TTL destroy and dependencies in both forms, with their defaults", () => {
        const p = parsePolicy(
            "dev",
            'schedules:\n  driftCheck: { cron: "0 6 * * 1-5" }\n  destroy: { ttlMinutes: 480 }\ndependsOn:\n  - delivery\n  - { stack: shared, outputs: [vpcId], run: update }\n',
        );
        assert.deepEqual(p.schedules, { driftCheck: { cron: "0 6 * * 1-5", remediate: false }, destroy: { ttlMinutes: 480, remindMinutesBefore: 60 } });
        assert.deepEqual(p.dependsOn, [
            { stack: "delivery", run: "preview" },
            { stack: "shared", outputs: ["vpcId"], run: "update" },
        ]);
        assert.deepEqual([defaultPolicy("x").schedules, defaultPolicy("x").dependsOn], [{}, []]);
    });

    it("refuses a cron that is not five fields or does not parse, naming the key", () => {
        assert.deepEqual(problemsOf(() => parsePolicy("dev", 'schedules:\n  driftCheck: { cron: "*/5 * * * * *" }\n')), [
            'schedules.driftCheck.cron: "*/5 * * * * *" must have five fields (minute hour day-of-month month day-of-week, UTC), e.g. "0 6 * * *"',
        ]);
        assert.match(problemsOf(() => parsePolicy("dev", 'schedules:\n  driftCheck: { cron: "61 * * * *" }\n'))[0], /^schedules\.driftCheck\.cron: "61 \* \* \* \*" is not a cron expression/);
        assert.equal(cronProblem("0 6 * * *"), undefined);
    });

    it("refuses a scheduled destroy on a stack whose destroys need approval, and a reminder not before the TTL", () => {
        assert.deepEqual(problemsOf(() => parsePolicy("prod", "operations:\n  destroy: { approvals: 1 }\nschedules:\n  destroy: { ttlMinutes: 120 }\n")), [
            "schedules.destroy: cannot run while operations.destroy.approvals > 0 (nobody is there to approve); set it to 0 for this ephemeral stack or drop the schedule",
        ]);
        assert.deepEqual(problemsOf(() => parsePolicy("pr", "schedules:\n  destroy: { ttlMinutes: 60, remindMinutesBefore: 60 }\n")), ["schedules.destroy: remindMinutesBefore must be less than ttlMinutes"]);
    });

    it("refuses a stack depending on itself, twice on one stack, and a cycle, naming its path", () => {
        assert.deepEqual(problemsOf(() => parsePolicy("dev", "dependsOn: [dev, delivery, delivery]\n")), [
            'dependsOn.0: "dev" cannot depend on itself',
            'dependsOn.2: "delivery" is listed twice',
        ]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deps-"));
        try {
            fs.writeFileSync(path.join(dir, "dev.yaml"), "dependsOn: [prod]\n");
            fs.writeFileSync(path.join(dir, "prod.yaml"), "dependsOn: [delivery]\n");
            fs.writeFileSync(path.join(dir, "delivery.yaml"), "dependsOn: [dev]\n");
            assert.deepEqual(problemsOf(() => loadPolicies(dir, ["delivery", "dev", "prod"])), [
                "dependsOn: the stacks depend on each other in a cycle (delivery → dev → prod → delivery); a change would trigger them forever, so remove one of these dependencies",
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses an edit that closes a cycle while the service runs, keeping every stack on what it had", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deps-"));
        const edit = policyEditor(() => dir);
        try {
            edit("dev.yaml", "dependsOn: [delivery]\n");
            const invalid: PolicyError[] = [];
            const set = new PolicySet(dir, () => ["delivery", "dev"], { onInvalid: (e) => invalid.push(e) });
            edit("delivery.yaml", "dependsOn: [dev]\n");
            assert.deepEqual(set.get("delivery").dependsOn, []);
            assert.deepEqual(set.get("dev").dependsOn, [{ stack: "delivery", run: "preview" }]);
            assert.equal(invalid.length, 1);
            assert.match(invalid[0].problems.join("\n"), /cycle \(delivery → dev → delivery\)/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("makes this repository's dev and prod follow delivery, dev by an update and prod by a preview, and checks prod for drift every morning", () => {
        const { policies } = loadPolicies(path.resolve(__dirname, "../../environments"), ["delivery", "dev", "prod"]);
        assert.deepEqual(policies.get("dev")!.dependsOn, [{ stack: "delivery", run: "update" }]);
        assert.deepEqual(policies.get("prod")!.dependsOn, [{ stack: "delivery", run: "preview" }]);
        assert.deepEqual(policies.get("prod")!.schedules, { driftCheck: { cron: "0 6 * * *", remediate: false } });
    });
});

describe("when a schedule is due", () => {
    it("names a cron's last moment at or before now and its next one after, in UTC", () => {
        assert.equal(lastSlot("0 6 * * *", new Date("2026-12-03T06:00:00Z")).toISOString(), "2026-12-03T06:00:00.000Z");
        assert.equal(lastSlot("0 6 * * *", new Date("2026-12-03T05:59:59Z")).toISOString(), "2026-12-02T06:00:00.000Z");
        assert.equal(nextRun("0 6 * * 1-5", new Date("2026-12-04T07:00:00Z")).toISOString(), "2026-12-07T06:00:00.000Z", "Friday's next is Monday");
    });

    it("dues a TTL destroy from the last update, and nothing once the stack was destroyed after it or never updated", () => {
        const job = (op: Job["op"], at: string) => ({ op, createdAt: at, finishedAt: at }) as Job;
        assert.equal(destroyDue(90, job("update", "2026-12-03T10:00:00.000Z"), undefined)?.toISOString(), "2026-12-03T11:30:00.000Z");
        assert.equal(destroyDue(90, job("update", "2026-12-03T10:00:00.000Z"), job("destroy", "2026-12-03T10:30:00.000Z")), undefined);
        assert.equal(destroyDue(90, job("update", "2026-12-03T10:00:00.000Z"), job("destroy", "2026-12-03T09:00:00.000Z"))?.toISOString(), "2026-12-03T11:30:00.000Z");
        assert.equal(destroyDue(90, undefined, undefined), undefined);
    });
});

describe("which dependents a change of outputs triggers", () => {
    const follows = (stack: string, dependsOn: EnvironmentPolicy["dependsOn"]) => ({ stack, dependsOn });

    it("names the outputs whose values differ, including added and removed ones", () => {
        assert.deepEqual(changedOutputs({ a: 1, b: [1, 2], c: "x" }, { a: 1, b: [1, 3], d: true }), ["b", "c", "d"]);
        assert.deepEqual(changedOutputs({ a: { x: 1 } }, { a: { x: 1 } }), []);
    });

    it("triggers a dependent only for a changed output it reads, with its own run", () => {
        const policies = [follows("dev", [{ stack: "delivery", run: "update" }]), follows("prod", [{ stack: "delivery", outputs: ["roleArn"], run: "preview" }]), follows("other", [])];
        assert.deepEqual(dependentsOf(policies, "delivery", ["bucket"]), [{ stack: "dev", run: "update", outputs: ["bucket"] }]);
        assert.deepEqual(dependentsOf(policies, "delivery", ["bucket", "roleArn"]), [
            { stack: "dev", run: "update", outputs: ["bucket", "roleArn"] },
            { stack: "prod", run: "preview", outputs: ["roleArn"] },
        ]);
        assert.deepEqual(dependentsOf(policies, "delivery", []), []);
        assert.deepEqual(dependentsOf(policies, "dev", ["x"]), []);
    });

    it("reads the stacks a program referenced from its StackReference steps, and words each disagreement with dependsOn", () => {
        const steps = [
            { urn: "urn:pulumi:prod::p::pulumi:pulumi:StackReference::organization/p/delivery", type: "pulumi:pulumi:StackReference", op: "read" },
            { urn: "urn:pulumi:prod::p::pulumi:pulumi:StackReference::shared", type: "pulumi:pulumi:StackReference", op: "same" },
            { urn: "urn:pulumi:prod::p::aws:s3/bucket:Bucket::b", type: "aws:s3/bucket:Bucket", op: "create" },
        ];
        assert.deepEqual(stackReferencesOf({ summary: { counts: {}, steps, policyViolations: [] } }), ["delivery", "shared"]);
        assert.deepEqual(referenceWarnings("prod", ["delivery", "dev"], ["delivery", "shared"]), [
            "prod's program reads shared through a StackReference, but its policy does not list shared in dependsOn: a change of shared triggers nothing here",
            "prod's policy lists dev in dependsOn, but its program makes no StackReference to dev",
        ]);
        assert.deepEqual(referenceWarnings("prod", ["delivery"], ["delivery"]), []);
    });
});

describe("what the service may start on its own", () => {
    const policy = parsePolicy("dev", 'schedules:\n  driftCheck: { cron: "0 6 * * *" }\ndependsOn: [delivery]\n');
    const job = (op: Job["op"], triggeredBy: string, options: Job["options"] = {}) => ({ stack: "dev", op, triggeredBy, options });

    it("starts what the policy declares: a preview-mode drift check, and a preview for an upstream stack it follows", () => {
        assert.doesNotThrow(() => checkServiceTrigger(policy, job("refresh", "schedule:drift-check", { mode: "preview" })));
        assert.doesNotThrow(() => checkServiceTrigger(policy, job("preview", "dependency:delivery")));
    });

    it("refuses what it does not: an applying refresh, a remediation without remediate, a destroy without a TTL, an update for a preview-only dependency, an undeclared upstream", () => {
        for (const j of [
            job("refresh", "schedule:drift-check", { mode: "apply" }),
            job("update", "schedule:remediation"),
            job("destroy", "schedule:destroy"),
            job("update", "dependency:delivery"),
            job("preview", "dependency:prod"),
            job("update", "schedule:anything"),
        ]) {
            assert.throws(() => checkServiceTrigger(policy, j), (e: unknown) => (e as { status: number }).status === 403 && /does not let the service start/.test((e as Error).message), `${j.op} ${j.triggeredBy}`);
        }
    });
});

describe("the authority a job started because of another one carries", () => {
    // dev: updates are for admins; it follows staging by an update; GitHub may not update it.
    const dev = parsePolicy("dev", "operations:\n  update: { role: admin }\ndependsOn:\n  - { stack: staging, run: update }\n");
    const open = parsePolicy("dev", "dependsOn:\n  - { stack: staging, run: update }\n");
    const roles = new Map<string, Role>([["otto", "operator"], ["ada", "admin"]]);
    const guard = (policy: EnvironmentPolicy) =>
        new AdmissionGuard({
            policyOf: () => policy,
            approvals: { checkApply: async () => undefined },
            repair: { repairStatus: async () => ({ needed: false, findings: [] }), settled: async () => undefined },
            roleOf: (name) => roles.get(name),
        });
    const job = (op: Job["op"], onBehalfOf?: Job["options"]["onBehalfOf"]): Job => ({
        id: "",
        stack: "dev",
        op,
        state: "queued",
        triggeredBy: "dependency:staging",
        triggeredVia: "system",
        createdAt: new Date().toISOString(),
        options: onBehalfOf ? { onBehalfOf } : {},
    });
    const system = { name: "dependency:staging", role: "operator" as const, via: "system" as const };
    const refusal = (p: Promise<unknown>) =>
        p.then(
            () => "admitted",
            (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
        );

    it("refuses an update on behalf of an operator where updates need an admin, and names who and why", async () => {
        assert.match(await refusal(guard(dev).admit(job("update", { name: "otto", via: "token" }), system)), /^FORBIDDEN: An update of "dev" started because staging changed runs on behalf of otto, who may not do it directly \(it needs role admin; otto has operator\)/);
    });
    it("admits it on behalf of an admin, and a preview on behalf of the operator", async () => {
        assert.equal(await refusal(guard(dev).admit(job("update", { name: "ada", via: "token" }), system)), "admitted");
        assert.equal(await refusal(guard(dev).admit(job("preview", { name: "otto", via: "token" }), system)), "admitted");
    });
    it("refuses on behalf of someone whose token was revoked since, at the job's start too", async () => {
        assert.match(await refusal(guard(dev).beforeStart(job("preview", { name: "gone", via: "token" }))), /runs on behalf of gone, who no longer holds a token/);
    });
    it("lets a GitHub delivery's chain update only a stack whose policy lets GitHub update it, and a schedule's chain do no more than an operator", async () => {
        assert.match(await refusal(guard(open).admit(job("update", { name: "github:octo", via: "webhook" }), system)), /does not let GitHub deliveries update it/);
        assert.equal(await refusal(guard(open).admit(job("preview", { name: "github:octo", via: "webhook" }), system)), "admitted");
        assert.equal(await refusal(guard(open).admit(job("update", { name: "schedule:remediation", via: "system" }), system)), "admitted");
        assert.match(await refusal(guard(dev).admit(job("update", { name: "schedule:remediation", via: "system" }), system)), /acts with an operator's rights at most \(it needs role admin\)/);
        assert.match(await refusal(guard(dev).admit(job("update"), system)), /acts with an operator's rights at most/, "a job from before the authority was recorded counts as the service's");
    });
});

describe("a scheduled moment runs once however many instances tick", function () {
    this.timeout(120_000);
    let pg: TestPostgres;
    before(() => (pg = startPostgres()));
    after(() => pg?.stop());

    /** `n` instances, each with its own connection to one database, ticking at once at 06:00:10. */
    async function race(runsOf: () => Promise<ScheduleRuns>, n: number): Promise<Array<{ stack: string; by: string }>> {
        const policy = parsePolicy("dev", 'schedules:\n  driftCheck: { cron: "0 6 * * *" }\n');
        const started: Array<{ stack: string; by: string }> = [];
        const services = await Promise.all(
            Array.from({ length: n }, async (_, i) =>
                new ScheduleService({
                    stacks: () => ["dev"],
                    policyOf: () => policy,
                    runs: await runsOf(),
                    jobs: { lastJob: async () => undefined, findJob: async () => undefined },
                    submit: async (input) => {
                        started.push({ stack: input.stack, by: `i${i}` });
                        return { id: `job-${i}` } as Job;
                    },
                    notify: () => undefined,
                    instance: `i${i}`,
                    logger: silentLogger(),
                    now: () => new Date("2026-12-03T06:00:10Z"),
                    tickMs: 1000,
                }),
            ),
        );
        for (let round = 0; round < 3; round++) await Promise.all(services.map((s) => s.tick()));
        return started;
    }

    it("on Postgres: five instances ticking together start one drift check", async () => {
        const url = await pg.newDatabase();
        const pools: ReturnType<typeof openPool>[] = [];
        const schema = await ScheduleRuns.open(postgresDb((pools[pools.length] = openPool(url))));
        try {
            const started = await race(async () => ScheduleRuns.open(postgresDb((pools[pools.length] = openPool(url)))), 5);
            assert.equal(started.length, 1, JSON.stringify(started));
            const last = await schema.last("dev", "drift-check");
            assert.deepEqual([last?.slot, last?.claimedBy, last?.jobId], ["2026-12-03T06:00:00.000Z", started[0].by, `job-${started[0].by.slice(1)}`]);
        } finally {
            await Promise.all(pools.map((p) => p.end()));
        }
    });

    it("on the embedded SQLite file: two connections ticking together start one drift check", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runs-"));
        const dbs: ReturnType<typeof openSqlite>[] = [];
        try {
            const started = await race(async () => ScheduleRuns.open(sqliteDb((dbs[dbs.length] = openSqlite(path.join(dir, "safety.sqlite"), { durable: true })))), 2);
            assert.equal(started.length, 1, JSON.stringify(started));
        } finally {
            for (const d of dbs) d.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
