// Approvals bound to previews, end to end: the real service, CLI and file:// backend on the
// fixture project, with the safety layer built as `npm start` builds it.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { addToken } from "../../../automation/security/tokens";
import { until } from "../harness";
import { SafeHarness, startSafeHarness } from "./safeHarness";

describe("approvals bound to previews, over HTTP with the real Pulumi CLI", function () {
    this.timeout(300_000);
    let h: SafeHarness;
    const t = { alice: "", bob: "" };

    before(async () => {
        h = await startSafeHarness({ "prod.yaml": "operations:\n  update: { approvals: 1, approverRole: approver }\n  destroy: { role: admin, approvals: 1 }\n" });
        t.alice = addToken(h.tokensFile, "alice-approver", "approver");
        t.bob = addToken(h.tokensFile, "bob-approver", "approver");
    });
    after(() => h?.close());

    const preview = async (token: string) => {
        const r = await h.call("POST", "/v1/stacks/prod/previews", { token, body: {} });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const job = await h.waitFor(r.body.id);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        return job;
    };
    const approve = (id: string, token: string, decision = "approve") => h.call("POST", `/v1/jobs/${id}/approvals`, { token, body: { decision } });
    const update = (previewId: string | undefined, token = h.tokens.operator) =>
        h.call("POST", "/v1/stacks/prod/updates", { token, body: previewId ? { previewId } : {} });

    let p1: string;
    it("answers 422 APPROVAL_REQUIRED to a prod update that names no preview", async () => {
        const r = await update(undefined);
        assert.equal(r.status, 422);
        assert.equal(r.body.error.code, "APPROVAL_REQUIRED");
    });
    it("answers 403 SELF_APPROVAL when the author of a preview approves it", async () => {
        p1 = (await preview(t.alice)).id;
        const r = await approve(p1, t.alice);
        assert.equal(r.status, 403);
        assert.equal(r.body.error.code, "SELF_APPROVAL");
    });
    it("answers 403 FORBIDDEN when an operator approves", async () => {
        const r = await approve(p1, h.tokens.operator);
        assert.equal(r.status, 403);
        assert.equal(r.body.error.code, "FORBIDDEN");
    });
    it("answers 422 for an approval with an unknown decision", async () => {
        const r = await h.call("POST", `/v1/jobs/${p1}/approvals`, { token: t.bob, body: { decision: "maybe" } });
        assert.equal(r.status, 422);
    });
    it("answers 409 NOT_APPROVED to an update of a preview nobody approved yet", async () => {
        const r = await update(p1);
        assert.equal(r.status, 409);
        assert.equal(r.body.error.code, "NOT_APPROVED");
    });
    it("refuses with 409 PLAN_STALE an approved preview after the stack config changed, saying so", async () => {
        const ok = await approve(p1, t.bob);
        assert.equal(ok.status, 201, JSON.stringify(ok.body));
        assert.equal(ok.body.status.satisfied, true);
        h.configure("prod", { count: 3, content: "v2" });
        const r = await update(p1);
        assert.equal(r.status, 409, JSON.stringify(r.body));
        assert.equal(r.body.error.code, "PLAN_STALE");
        assert.deepEqual(r.body.error.details.changes.map((c: { part: string }) => c.part), ["config"]);
    });
    it("refuses with 409 PLAN_STALE an approved preview after the program changed", async () => {
        const p = await preview(h.tokens.operator);
        assert.equal((await approve(p.id, t.bob)).status, 201);
        fs.appendFileSync(path.join(h.projectDir, "index.js"), "\n// edited after the preview\n");
        const r = await update(p.id);
        assert.equal(r.status, 409);
        assert.deepEqual(r.body.error.details.changes.map((c: { part: string }) => c.part), ["program"]);
    });
    let applied: string;
    it("applies an approved, unchanged preview, then refuses it again as already applied", async () => {
        const p = await preview(h.tokens.operator);
        assert.equal((await approve(p.id, t.bob)).status, 201);
        const r = await update(p.id);
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const job = await h.waitFor(r.body.id);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        applied = p.id;
        const again = await update(p.id);
        assert.equal(again.status, 409);
        assert.equal(again.body.error.code, "ALREADY_APPLIED");
        assert.equal(again.body.error.details.appliedBy, job.id);
    });
    it("stops an update that starts a step its approved preview did not contain, leaving the stack usable", async () => {
        h.configure("prod", { count: 5, content: "v2", delayMs: 300 });
        const p = await preview(h.tokens.operator);
        const creates = p.summary!.steps.filter((s) => s.op === "create");
        assert.equal(creates.length, 2);
        // Stand-in for a program that is not deterministic: the preview showed one create only.
        h.server.store.updateSummary(p.id, { ...p.summary!, steps: p.summary!.steps.filter((s) => s !== creates[1]) });
        assert.equal((await approve(p.id, t.bob)).status, 201);
        const r = await update(p.id);
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const job = await h.waitFor(r.body.id);
        assert.equal(job.state, "stopped-by-guard");
        assert.match(job.summary?.stopReason ?? "", new RegExp(`create ${creates[1].urn.replace(/[$()*+.?[\\\]^{|}]/g, "\\$&")}`));
        // consistent: the recovery scan after the stopped job found no lock and no pending operation
        const health = await until(async () => {
            const r = await h.call("GET", "/v1/stacks/prod/repair", { token: h.tokens.viewer });
            return r.body.checkedAt ? r.body : undefined;
        }, "post-job scan");
        assert.deepEqual([health.state, health.findings], ["ok", []]);
        const audit = await h.call("GET", "/v1/audit?action=guard", { token: h.tokens.admin });
        assert.equal(audit.body.entries.at(-1).jobId, job.id);
        assert.equal(audit.body.verification.ok, true);
    });
    it("refuses approving a preview a newer preview superseded with 409 PREVIEW_SUPERSEDED", async () => {
        const r = await approve(applied, t.alice);
        assert.equal(r.status, 409);
        assert.equal(r.body.error.code, "PREVIEW_SUPERSEDED");
    });
    it("lists a preview's approvals and what they allow", async () => {
        const r = await h.call("GET", `/v1/jobs/${applied}/approvals`, { token: h.tokens.viewer });
        assert.equal(r.status, 200);
        assert.deepEqual(r.body.approvals.map((a: { by: string; decision: string }) => [a.by, a.decision]), [["bob-approver", "approve"]]);
        assert.equal(r.body.latest, false);
    });
    it("lets only an admin read the audit log, which names who approved which preview", async () => {
        assert.equal((await h.call("GET", "/v1/audit", { token: t.alice })).status, 403);
        assert.equal((await h.call("GET", "/v1/audit")).status, 401);
        const r = await h.call("GET", "/v1/audit?action=approval", { token: h.tokens.admin });
        assert.equal(r.status, 200);
        const selfApproval = r.body.entries.find((e: { result: string }) => e.result === "SELF_APPROVAL");
        assert.equal(selfApproval.actor.name, "alice-approver");
        assert.equal(selfApproval.previewId, p1);
        assert.ok(r.body.entries.some((e: { result: string; approvalId?: string }) => e.result === "ok" && e.approvalId));
    });
});
