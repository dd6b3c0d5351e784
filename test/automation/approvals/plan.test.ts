// mode "plan": a preview saves a Pulumi update plan and the update of that approved preview
// runs with --plan on it (real CLI, file backend, passphrase secrets).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { addToken } from "../../../automation/security/tokens";
import { SafeHarness, startSafeHarness } from "./safeHarness";

describe("update plans for approved previews (mode plan), with the real Pulumi CLI", function () {
    this.timeout(300_000);
    let h: SafeHarness;
    let approver: string;

    before(async () => {
        h = await startSafeHarness({ "prod.yaml": "operations:\n  update: { approvals: 1 }\n" });
        approver = addToken(h.tokensFile, "bob-approver", "approver");
    });
    after(() => h?.close());

    const planOf = (id: string) => path.join(h.dataDir, "plans", `${id}.json`);
    const previewWithPlan = async () => {
        const r = await h.call("POST", "/v1/stacks/prod/previews", { token: h.tokens.operator, body: { mode: "plan" } });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const job = await h.waitFor(r.body.id);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        return job.id;
    };
    const approveAndUpdate = async (previewId: string) => {
        assert.equal((await h.call("POST", `/v1/jobs/${previewId}/approvals`, { token: approver, body: { decision: "approve" } })).status, 201);
        const r = await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: { previewId } });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        return h.waitFor(r.body.id);
    };

    it("saves the plan of a preview in mode plan and applies an approved update under it", async () => {
        const p = await previewWithPlan();
        assert.ok(fs.existsSync(planOf(p)), "no plan file was saved");
        const job = await approveAndUpdate(p);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
    });
    it("fails the update when the engine would do other than the plan says (the plan is really used)", async () => {
        h.configure("prod", { count: 3, content: "v5" });
        const other = await previewWithPlan();
        h.configure("prod", { count: 3, content: "v6" });
        const p = await previewWithPlan();
        // the approved preview's plan swapped for one made under other config
        fs.copyFileSync(planOf(other), planOf(p));
        const job = await approveAndUpdate(p);
        assert.equal(job.state, "failed");
        const log = await h.call("GET", `/v1/jobs/${job.id}/log?limit=1000`, { token: h.tokens.viewer });
        assert.match(JSON.stringify(log.body), /violates plan/);
    });
    it("refuses mode plan on anything but a preview with 422", async () => {
        const r = await h.call("POST", "/v1/stacks/prod/refreshes", { token: h.tokens.operator, body: { mode: "plan" } });
        assert.equal(r.status, 422);
    });
});
