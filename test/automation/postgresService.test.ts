// The switch to a shared database: with AUTOMATION_DATABASE_URL the service keeps its jobs,
// approvals, findings and audit chain in Postgres (a real one, scripts/postgres.sh), runs the
// reviewed-update flow with the real CLI on the fixture, and keeps nothing in the data dir's
// SQLite or audit files; a restart on the same database finds everything again.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { loadConfig } from "../../automation/config";
import { startPostgres, type TestPostgres } from "../support/postgres";
import { startHarness, type Harness } from "./harness";

describe("the service on a shared Postgres (AUTOMATION_DATABASE_URL)", function () {
    this.timeout(300_000);
    let pg: TestPostgres;
    let h: Harness;
    let approver: string;
    const count = async (sql: string): Promise<number> => {
        const c = new Client({ connectionString: pg.url });
        await c.connect();
        try {
            return Number((await c.query(sql)).rows[0].n);
        } finally {
            await c.end();
        }
    };

    before(async () => {
        pg = startPostgres();
        h = await startHarness({
            env: { AUTOMATION_DATABASE_URL: pg.url },
            policies: { "dev.yaml": "operations:\n  update: { approvals: 1, approverRole: approver }\n" },
        });
        // Through the API: on a shared database the tokens live there, not in the file.
        approver = await h.addToken("ann-approver", "approver");
    });
    after(async () => {
        await h?.stop();
        pg?.stop();
    });

    let previewId: string;
    let updateId: string;
    it("runs a preview, its approval and the approved update, keeping jobs and approvals in Postgres", async () => {
        const p = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        assert.equal(p.status, 202, JSON.stringify(p.body));
        previewId = p.body.id;
        assert.equal((await h.waitFor(previewId)).state, "succeeded");
        const a = await h.call("POST", `/v1/jobs/${previewId}/approvals`, { token: approver, body: { decision: "approve" } });
        assert.equal(a.status, 201, JSON.stringify(a.body));
        const u = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: { previewId } });
        assert.equal(u.status, 202, JSON.stringify(u.body));
        updateId = u.body.id;
        const done = await h.waitFor(updateId);
        assert.equal(done.state, "succeeded", JSON.stringify(done.error));
        assert.equal(await count("SELECT count(*) AS n FROM automation.jobs"), 2);
        assert.equal(await count(`SELECT count(*) AS n FROM approvals WHERE preview_id = '${previewId}'`), 1);
        assert.ok((await count(`SELECT count(*) AS n FROM automation.job_events WHERE job_id = '${updateId}'`)) > 3);
        assert.ok((await count(`SELECT count(*) AS n FROM automation.job_log WHERE job_id = '${updateId}'`)) > 0);
        assert.equal(await count("SELECT count(*) AS n FROM stack_findings"), 2, "the start-up scan's findings of dev and prod");
    });

    it("keeps the audit chain in Postgres, verifying, with the approval and the update in it", async () => {
        const r = await h.call("GET", "/v1/audit?limit=500", { token: h.tokens.admin });
        assert.equal(r.status, 200);
        assert.deepEqual(r.body.verification, { ok: true, entries: r.body.entries.length });
        const actions = r.body.entries.map((e: { action: string }) => e.action);
        assert.ok(actions.includes("approval.approve") && actions.includes("job.update"), actions.join(", "));
        assert.equal(await count("SELECT count(*) AS n FROM automation.audit"), r.body.entries.length);
    });

    it("writes no SQLite file and no audit file into the data dir", () => {
        const files = fs.readdirSync(h.dataDir);
        assert.deepEqual(files.filter((f) => /\.sqlite|audit\.jsonl/.test(f)), [], files.join(", "));
    });

    it("says in /readyz that the store is the database", async () => {
        const ready = await h.call("GET", "/readyz");
        assert.equal(ready.status, 200);
        assert.match(ready.body.checks.store.detail, /^postgres 127\.0\.0\.1:\d+ answers$/);
    });

    it("finds every job, its log and the stack's last update again after a restart on the same database", async () => {
        await h.restart();
        const jobs = (await h.call("GET", "/v1/jobs", { token: h.tokens.viewer })).body.jobs.map((j: { id: string }) => j.id);
        assert.deepEqual(jobs, [updateId, previewId]);
        const log = await h.call("GET", `/v1/jobs/${updateId}/log`, { token: h.tokens.viewer });
        assert.ok(log.body.lines.length > 0);
        const stack = (await h.call("GET", "/v1/stacks/dev", { token: h.tokens.viewer })).body;
        assert.equal(stack.lastJob.id, updateId);
        const approvals = (await h.call("GET", `/v1/jobs/${previewId}/approvals`, { token: h.tokens.viewer })).body;
        assert.equal(approvals.approvals.length, 1);
        assert.equal(approvals.appliedBy.jobId, updateId);
    });

    it("refuses a database URL that is not a Postgres URL, naming the variable", () => {
        assert.throws(
            () => loadConfig({ AUTOMATION_PROJECT_DIR: h.projectDir, AUTOMATION_DATABASE_URL: "mysql://db/automation" }),
            /AUTOMATION_DATABASE_URL: must be a Postgres URL such as postgres:\/\/automation@db\.internal:5432\/automation/,
        );
    });

    it("fails to start, saying why, when the database does not answer", async () => {
        const { startService } = await import("../../automation/assembly");
        const config = loadConfig({ ...process.env, PORT: "0", AUTOMATION_PROJECT_DIR: h.projectDir, AUTOMATION_DATA_DIR: path.join(h.dataDir, "other"), PULUMI_CONFIG_PASSPHRASE: "x", AUTOMATION_DATABASE_URL: "postgres://automation@127.0.0.1:1/automation" });
        await assert.rejects(startService(config), /^Error: AUTOMATION_DATABASE_URL: the database 127\.0\.0\.1:1\/automation cannot be used \(connect ECONNREFUSED 127\.0\.0\.1:1\); start it, or fix the URL/);
    });
});
