// What the approvals answer tells a reader before anyone decides: the commit a preview ran on,
// whether the stack changed since (the check an update applying it makes), and the resources a
// destroy applying it would delete. The real service, CLI and file:// backend on the fixture.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Fingerprint } from "../../../automation/approvals/fingerprint";
import { parsePolicy } from "../../../automation/environments/policy";
import { ApprovalService, STALENESS_CACHE_MS } from "../../../automation/approvals/service";
import { ApprovalStore } from "../../../automation/approvals/store";
import { AuditLog } from "../../../automation/audit/fileLog";
import type { Job } from "../../../automation/jobs/types";
import { sqliteDb } from "../../../automation/storage/db";
import { openSqlite } from "../../../automation/storage/sqlite";
import { until } from "../harness";
import { SafeHarness, startSafeHarness } from "./safeHarness";

describe("the approvals answer of a preview, before anyone decides", function () {
    this.timeout(300_000);
    let h: SafeHarness;

    before(async () => {
        h = await startSafeHarness({});
        h.configure("dev", { count: 2 });
        const up = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(up.body.id)).state, "succeeded");
    });
    after(() => h?.close());

    const preview = async () => {
        const r = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const job = await h.waitFor(r.body.id);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        return job;
    };
    const record = async (id: string) => {
        const r = await h.call("GET", `/v1/jobs/${id}/approvals`, { token: h.tokens.viewer });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body;
    };
    const itemUrns = (resources: Array<{ urn: string; type: string }>) => resources.map((r) => `${r.urn.split("::").pop()} ${r.type}`);

    it("names the commit the preview ran on and every resource in the state, not only the changed ones", async () => {
        // One item fewer: the preview deletes item-1 and leaves item-0 as it is; both are in the state.
        h.configure("dev", { count: 1 });
        const p = await preview();
        assert.deepEqual(p.summary!.steps.map((s) => `${s.op} ${s.urn.split("::").pop()}`), ["delete item-1"]);
        const body = await record(p.id);
        assert.equal(body.commit, execFileSync("git", ["rev-parse", "HEAD"], { cwd: h.projectDir, encoding: "utf8" }).trim());
        assert.deepEqual(itemUrns(body.resources), ["item-0 pulumi-nodejs:dynamic:Resource", "item-1 pulumi-nodejs:dynamic:Resource"]);
        assert.equal(body.staleness.stale, false);
        assert.deepEqual(body.staleness.changes, []);
    });

    it("marks the latest preview stale within the cache time once the stack config changes, with the words the refused update uses", async () => {
        const p = await preview();
        assert.equal((await record(p.id)).staleness.stale, false);
        h.configure("dev", { count: 1, content: "v2" });
        const started = Date.now();
        const stale = await until(async () => {
            const body = await record(p.id);
            return body.staleness.stale ? body.staleness : undefined;
        }, "the preview marked stale", STALENESS_CACHE_MS + 30_000);
        assert.ok(Date.now() - started <= STALENESS_CACHE_MS + 15_000, "noticed within the cache time (and one fingerprint)");
        assert.deepEqual(stale.changes.map((c: { part: string }) => c.part), ["config"]);
        const refused = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: { previewId: p.id } });
        assert.equal(refused.status, 409);
        assert.equal(refused.body.error.code, "PLAN_STALE");
        assert.deepEqual(refused.body.error.details.changes, stale.changes, "the answer said before what the update is refused for");
    });

    it("marks a preview stale once an update of its stack has run, naming the state", async () => {
        const p = await preview();
        assert.equal((await record(p.id)).staleness.stale, false, "fresh, and now in the cache");
        const up = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(up.body.id)).state, "succeeded");
        const body = await record(p.id);
        assert.equal(body.staleness.stale, true);
        assert.deepEqual(body.staleness.changes.map((c: { part: string }) => c.part), ["state"]);
    });

    it("says nothing of staleness for a preview a newer one superseded, which nothing can apply", async () => {
        const older = await preview();
        await preview();
        const body = await record(older.id);
        assert.equal(body.latest, false);
        assert.equal(body.staleness, undefined);
        assert.ok(body.commit, "the commit is still named");
    });
});

// The cache in front of the fingerprint, with a counting fingerprint standing in for the CLI's
// state read (the tests above run the real one).
describe("the staleness the approvals answer reports, cached", () => {
    let dir: string;
    let approvals: ApprovalService;
    let taken: number;
    let version: number;
    let failing: Error | undefined;
    const preview: Job = { id: "11111111-1111-4111-8111-111111111111", stack: "dev", op: "preview", state: "succeeded", triggeredBy: "otto", triggeredVia: "token", createdAt: new Date().toISOString(), finishedAt: new Date().toISOString(), options: {} };
    const fingerprint = (v: number): Fingerprint => ({ state: { version: v, hash: `s${v}` }, program: { hash: "p", commit: "0123456789abcdef0123456789abcdef01234567" }, config: { hash: "c" } });

    beforeEach(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "staleness-"));
        taken = 0;
        version = 1;
        failing = undefined;
        const store = await ApprovalStore.open(sqliteDb(openSqlite(":memory:")));
        await store.setFingerprint(preview.id, "dev", fingerprint(1));
        approvals = new ApprovalService({
            store,
            jobs: { findJob: async (id) => (id === preview.id ? preview : undefined), latestPreview: async () => preview, listJobs: async () => [] },
            audit: new AuditLog(path.join(dir, "audit.jsonl")),
            policyOf: () => parsePolicy("dev", ""),
            fingerprint: async () => {
                taken++;
                if (failing) throw failing;
                return fingerprint(version);
            },
            roleOf: () => "approver",
        });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("takes the stack's fingerprint once for the answers within the cache time", async () => {
        const [a, b] = await Promise.all([approvals.list(preview.id), approvals.list(preview.id)]);
        await approvals.list(preview.id);
        assert.equal(taken, 1);
        assert.deepEqual([a.staleness?.stale, b.staleness?.stale, a.commit], [false, false, "0123456789abcdef0123456789abcdef01234567"]);
    });

    it("takes a new one once an update of the stack has finished, and not for a preview's end or another stack's", async () => {
        await approvals.list(preview.id);
        approvals.jobFinished({ ...preview, id: "22222222-2222-4222-8222-222222222222" });
        approvals.jobFinished({ ...preview, id: "33333333-3333-4333-8333-333333333333", op: "update", stack: "prod" });
        await approvals.list(preview.id);
        assert.equal(taken, 1, "still the cached one");
        version = 2;
        approvals.jobFinished({ ...preview, id: "44444444-4444-4444-8444-444444444444", op: "update" });
        const after = await approvals.list(preview.id);
        assert.equal(taken, 2);
        assert.equal(after.staleness?.stale, true);
        assert.deepEqual(after.staleness?.changes.map((c) => c.part), ["state"]);
    });

    it("says the state could not be read without the CLI's words, and tries again at the next answer", async () => {
        failing = new Error("error: secret-laden CLI output");
        const body = await approvals.list(preview.id);
        assert.equal(body.staleness?.stale, undefined);
        assert.equal(body.staleness?.error, "the stack's current state could not be read; the service log says why");
        failing = undefined;
        assert.equal((await approvals.list(preview.id)).staleness?.stale, false);
        assert.equal(taken, 2);
    });
});
