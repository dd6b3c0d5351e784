// The stacks' schedules and dependencies with the real service, CLI and fixture, on a clock the
// test moves: a drift check comes due, finds a file changed behind Pulumi's back and remediates
// it; an ephemeral stack is reminded of, then destroyed; a stack reading another's output
// through a StackReference is previewed when that output changes, and only then.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Job } from "../../automation/jobs/types";
import { addToken } from "../../automation/security/tokens";
import { startHarness, until, type Harness } from "./harness";
import { receiver } from "./receivers";

describe("schedules and stack dependencies, on a clock the test moves", function () {
    this.timeout(600_000);
    let h: Harness;
    let hook: Awaited<ReturnType<typeof receiver>>;
    // From today's UTC midnight, whatever the hour the suite runs: the crons below (06:00 for
    // dev, 07:00 for prod) come due that same day, so the clock stays within a day of the time
    // the jobs record (finishedAt is the wall clock). Started at the hour it ran, a run between
    // 06:00 and 07:00 UTC moved the clock to tomorrow 07:00, more than the approvals' 24 h
    // past the remediation preview's finish, and its approval was refused as expired.
    const midnight = new Date();
    midnight.setUTCHours(0, 0, 0, 0);
    let clock = midnight.getTime();
    const events = () => hook.got.map((g) => JSON.parse(g.body) as Record<string, any>);
    const jobsOf = async (stack: string): Promise<Job[]> => (await h.call("GET", `/v1/jobs?stack=${stack}&limit=100`, { token: h.tokens.viewer })).body.jobs;
    const stackView = async (stack: string) => (await h.call("GET", `/v1/stacks/${stack}`, { token: h.tokens.viewer })).body;
    const update = async (stack: string) => h.waitFor((await h.call("POST", `/v1/stacks/${stack}/updates`, { token: h.tokens.operator, body: {} })).body.id);
    /** Lets the scheduler tick (every 200 ms) a few times at the clock as it is. */
    const ticks = () => new Promise((r) => setTimeout(r, 1000));

    before(async () => {
        hook = await receiver([200]);
        h = await startHarness({
            env: { AUTOMATION_SCHEDULE_TICK_MS: "200", AUTOMATION_NOTIFY_WEBHOOK_URL: hook.url },
            overrides: { now: () => new Date(clock) },
            policies: {
                "dev.yaml": 'schedules:\n  driftCheck: { cron: "0 6 * * *", remediate: true }\n',
                "eph.yaml": "schedules:\n  destroy: { ttlMinutes: 10, remindMinutesBefore: 5 }\n",
                "prod.yaml": 'operations:\n  update: { approvals: 1, approverRole: approver }\nschedules:\n  driftCheck: { cron: "0 7 * * *", remediate: true }\n',
                "downstream.yaml": "dependsOn:\n  - stack: upstream\n    outputs: [count]\n",
                "guarded.yaml": "operations:\n  update: { role: admin }\ndependsOn:\n  - { stack: staging, run: update }\n",
            },
            prepare: (copy) => {
                copy.configure("eph", { count: 1 });
                copy.configure("upstream", { count: 1, content: "u1" });
                copy.configure("downstream", { count: 1, readsStack: "organization/fixture/upstream" });
                copy.configure("staging", { count: 1 });
                copy.configure("guarded", { count: 1, readsStack: "organization/fixture/staging" });
            },
        });
    });
    after(async () => {
        await h?.stop();
        hook?.close();
    });

    it("runs a stack's drift check once when its cron comes due, shows the drifted property, and remediates it with an update", async () => {
        h.configure("dev", { count: 2, content: "v1" });
        assert.equal((await update("dev")).state, "succeeded");
        const file = path.join(h.projectDir, "out", "dev", "item-0.txt");
        fs.writeFileSync(file, "changed by hand");
        const before = await stackView("dev");
        const due = Date.parse(before.schedules.driftCheck.nextRun);
        assert.equal(new Date(due).getUTCHours(), 6);
        assert.equal(before.schedules.driftCheck.last, undefined);
        clock = due + 30_000;
        const check = await until(async () => (await jobsOf("dev")).find((j) => j.triggeredBy === "schedule:drift-check"), "the drift check");
        assert.deepEqual([check.op, check.triggeredVia, check.options.mode], ["refresh", "system", "preview"]);
        assert.equal((await h.waitFor(check.id)).state, "succeeded");
        const fix = await until(async () => (await jobsOf("dev")).find((j) => j.triggeredBy === "schedule:remediation"), "the remediation");
        assert.deepEqual([fix.op, fix.options.message], ["update", `remediation of the drift found by ${check.id}`]);
        assert.equal((await h.waitFor(fix.id)).state, "succeeded");
        assert.equal(fs.readFileSync(file, "utf8"), "v1");
        await ticks();
        const after = await stackView("dev");
        const last = after.schedules.driftCheck.last;
        assert.deepEqual([last.at, last.jobId, last.state], [new Date(due).toISOString(), check.id, "succeeded"]);
        assert.deepEqual(last.drifted.map((d: { urn: string; properties: string[] }) => [d.urn.split("::").pop(), d.properties]), [["item-0", ["content"]]]);
        assert.equal(Date.parse(after.schedules.driftCheck.nextRun), due + 24 * 3600_000);
        assert.equal((await jobsOf("dev")).filter((j) => j.triggeredBy === "schedule:drift-check").length, 1, "one run for one due moment");
        const drift = await until(async () => events().find((e) => e.event === "drift.detected" && e.job.id === check.id), "drift.detected");
        assert.deepEqual(drift.resources.map((r: { properties: string[] }) => r.properties), [["content"]]);
    });

    it("starts no remediation for a refresh by a token someone named like the scheduler", async () => {
        // `npm run token` refuses such a name; an admin editing the tokens file by hand can still write one.
        assert.throws(() => addToken(h.tokensFile, "schedule:drift-check", "operator"), /`name` must be 1 to 64 letters/);
        const impostor = addToken(h.tokensFile, "impostor", "operator");
        fs.writeFileSync(h.tokensFile, fs.readFileSync(h.tokensFile, "utf8").replace('"name": "impostor"', '"name": "schedule:drift-check"'));
        fs.writeFileSync(path.join(h.projectDir, "out", "dev", "item-1.txt"), "changed by hand");
        const r = await h.call("POST", "/v1/stacks/dev/refreshes", { token: impostor, body: {} });
        const done = await h.waitFor(r.body.id);
        assert.deepEqual([done.state, done.triggeredBy, done.triggeredVia], ["succeeded", "schedule:drift-check", "token"]);
        assert.equal((await stackView("dev")).drift.drifted, 1);
        await ticks();
        assert.equal((await jobsOf("dev")).filter((j) => j.triggeredBy === "schedule:remediation").length, 1, "still only the scheduler's own remediation");
    });

    it("remediates drift on a stack whose updates need approval with a refreshing plan preview, which puts it right once approved and applied", async () => {
        h.configure("prod", { count: 1, content: "p1" });
        const approver = addToken(h.tokensFile, "ann-approver", "approver");
        // The update that creates prod applies an approved preview, as every prod update does.
        const first = await h.waitFor((await h.call("POST", "/v1/stacks/prod/previews", { token: h.tokens.operator, body: {} })).body.id);
        assert.equal((await h.call("POST", `/v1/jobs/${first.id}/approvals`, { token: approver, body: { decision: "approve" } })).status, 201);
        assert.equal((await h.waitFor((await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: { previewId: first.id } })).body.id)).state, "succeeded");
        const file = path.join(h.projectDir, "out", "prod", "item-0.txt");
        fs.writeFileSync(file, "changed by hand");
        clock = Date.parse((await stackView("prod")).schedules.driftCheck.nextRun) + 30_000;
        const plan = await until(async () => (await jobsOf("prod")).find((j) => j.triggeredBy === "schedule:remediation"), "the remediation's plan preview");
        assert.deepEqual([plan.op, plan.options.mode, plan.options.refresh], ["preview", "plan", true]);
        const planned = await h.waitFor(plan.id);
        assert.equal(planned.state, "succeeded");
        // The plan puts the hand-edited file back: its refresh's finding (the drift, with its diff) and the update planned.
        assert.deepEqual(planned.summary!.steps.map((st) => [st.urn.split("::").pop(), st.op, st.drift ?? false]), [["item-0", "update", true], ["item-0", "update", false]]);
        assert.deepEqual(planned.summary!.steps[0].diffs, [{ path: "content", kind: "update", old: "p1", new: "changed by hand" }]);
        await until(async () => events().find((e) => e.event === "approval.requested" && e.job.id === plan.id), "the approvers to be asked");
        // Nothing is applied before a person approves and applies it.
        assert.equal(fs.readFileSync(file, "utf8"), "changed by hand");
        assert.equal((await jobsOf("prod")).filter((j) => j.op === "update").length, 1);
        const approval = await h.call("POST", `/v1/jobs/${plan.id}/approvals`, { token: approver, body: { decision: "approve" } });
        assert.equal(approval.status, 201, JSON.stringify(approval.body));
        const applied = await h.waitFor((await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: { previewId: plan.id } })).body.id);
        assert.equal(applied.state, "succeeded", JSON.stringify(applied.error));
        assert.equal(fs.readFileSync(file, "utf8"), "p1");
    });

    it("reminds of an ephemeral stack's destroy before its TTL, then destroys it once", async () => {
        clock = Date.now();
        const up = await update("eph");
        const finished = Date.parse(up.finishedAt!);
        const destroyAt = new Date(finished + 10 * 60_000).toISOString();
        assert.equal((await stackView("eph")).schedules.destroy.nextRun, destroyAt);
        clock = finished + 4 * 60_000;
        await ticks();
        assert.equal(events().filter((e) => e.event === "destroy.upcoming").length, 0, "no reminder before its time");
        clock = finished + 6 * 60_000;
        const reminder = await until(async () => events().find((e) => e.event === "destroy.upcoming" && e.stack === "eph"), "the reminder");
        assert.equal(reminder.destroyAt, destroyAt);
        assert.equal((await jobsOf("eph")).filter((j) => j.op === "destroy").length, 0);
        clock = finished + 11 * 60_000;
        const destroy = await until(async () => (await jobsOf("eph")).find((j) => j.op === "destroy"), "the destroy");
        assert.deepEqual([destroy.triggeredBy, (await h.waitFor(destroy.id)).state], ["schedule:destroy", "succeeded"]);
        assert.equal(fs.existsSync(path.join(h.projectDir, "out", "eph", "item-0.txt")), false);
        await ticks();
        assert.equal((await jobsOf("eph")).filter((j) => j.op === "destroy").length, 1);
        assert.equal(events().filter((e) => e.event === "destroy.upcoming").length, 1);
        assert.equal((await stackView("eph")).schedules.destroy.nextRun, undefined, "destroyed: nothing more is due");
    });

    it("previews a dependent stack when an output it reads changes, not when only others change, and once for a burst of updates", async () => {
        const triggered = async () => (await jobsOf("downstream")).filter((j) => j.triggeredBy === "dependency:upstream");
        const first = await update("upstream");
        const one = await until(async () => ((await triggered()).length === 1 ? (await triggered())[0] : undefined), "the dependent's preview");
        assert.deepEqual([one.op, one.triggeredVia, one.options.message], ["preview", "system", `upstream changed count (job ${first.id})`]);
        assert.equal((await h.waitFor(one.id)).state, "succeeded");
        const dependency = await until(async () => events().find((e) => e.event === "dependency.triggered"), "dependency.triggered");
        assert.deepEqual([dependency.stack, dependency.upstream, dependency.outputs], ["downstream", "upstream", ["count"]]);
        // The program's StackReference agrees with dependsOn: no warning.
        assert.deepEqual((await stackView("downstream")).dependencies, { dependsOn: [{ stack: "upstream", outputs: ["count"], run: "preview" }], references: ["upstream"], warnings: [] });

        // Only `files` would change (no: same names) and content, which downstream does not read.
        h.configure("upstream", { count: 1, content: "u2" });
        assert.equal((await update("upstream")).state, "succeeded");
        await ticks();
        assert.equal((await triggered()).length, 1, "an unchanged output triggers nothing");

        // Three updates in a row, the first changing count: one preview after the last.
        h.configure("upstream", { count: 2, content: "u2" });
        const burst = [];
        for (let i = 0; i < 3; i++) burst.push((await h.call("POST", "/v1/stacks/upstream/updates", { token: h.tokens.operator, body: {} })).body.id as string);
        for (const id of burst) assert.equal((await h.waitFor(id)).state, "succeeded");
        const second = await until(async () => ((await triggered()).length >= 2 ? (await triggered())[0] : undefined), "the burst's preview");
        assert.equal(second.options.message, `upstream changed count (job ${burst[2]})`);
        await h.waitFor(second.id);
        await ticks();
        assert.equal((await triggered()).length, 2, "one preview for the burst");
    });

    it("updates a dependent whose updates are for admins only on behalf of an admin; on behalf of an operator it only previews, saying why", async () => {
        const admin = addToken(h.tokensFile, "ada-admin-2", "admin");
        const triggered = async () => (await jobsOf("guarded")).filter((j) => j.triggeredBy === "dependency:staging");
        // guarded reads staging's outputs, so staging must exist first: an admin's update, which guarded follows with an update.
        const byAdmin = await h.waitFor((await h.call("POST", "/v1/stacks/staging/updates", { token: admin, body: {} })).body.id);
        assert.equal(byAdmin.state, "succeeded");
        const first = await until(async () => ((await triggered()).length === 1 ? (await triggered())[0] : undefined), "guarded's job");
        assert.deepEqual([first.op, first.options.onBehalfOf], ["update", { name: "ada-admin-2", via: "token" }]);
        assert.equal((await h.waitFor(first.id)).state, "succeeded");
        h.configure("staging", { count: 2 });
        const byOperator = await update("staging");
        assert.equal(byOperator.state, "succeeded");
        const second = await until(async () => ((await triggered()).length === 2 ? (await triggered())[0] : undefined), "guarded's second job");
        assert.deepEqual([second.op, second.options.onBehalfOf], ["preview", { name: "otto-operator", via: "token" }]);
        assert.match(second.options.message!, /^staging changed .*; not updated: An update of "guarded" started because staging changed runs on behalf of otto-operator, who may not do it directly \(it needs role admin; otto-operator has operator\)/);
        assert.equal((await h.waitFor(second.id)).state, "succeeded");
        assert.ok(!(await jobsOf("guarded")).some((j) => j.op === "update" && j.options.onBehalfOf?.name === "otto-operator"), "no update ran on the operator's behalf");
    });

    it("warns where a program reads a stack through a StackReference that its policy does not list", async () => {
        h.configure("dev", { count: 2, content: "v1", readsStack: "organization/fixture/upstream" });
        await h.waitFor((await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} })).body.id);
        const view = await until(async () => ((await stackView("dev")).dependencies?.references?.length ? (await stackView("dev")).dependencies : undefined), "dev's references");
        assert.deepEqual(view.references, ["upstream"]);
        assert.deepEqual(view.warnings, ["dev's program reads upstream through a StackReference, but its policy does not list upstream in dependsOn: a change of upstream triggers nothing here"]);
    });
});
