// An approval pins the whole program, not only its entry file: the finding of the trust review
// was a change to a module the program requires, committed after the approval and applied
// unreviewed. Real service, CLI, file backend and git; prod's updates need an approval, so its
// previews save an update plan by default.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { addToken } from "../../../automation/security/tokens";
import { SafeHarness, startSafeHarness } from "./safeHarness";

const git = (cwd: string, ...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", ...args], { cwd, encoding: "utf8" }).trim();

describe("what an approval pins, with the real Pulumi CLI", function () {
    this.timeout(300_000);
    let h: SafeHarness;
    let approver: string;

    before(async () => {
        h = await startSafeHarness({ "prod.yaml": "operations:\n  update: { approvals: 1 }\n" });
        approver = addToken(h.tokensFile, "bob-approver", "approver");
        // the program requires a module of its repository that is not its entry file
        fs.mkdirSync(path.join(h.projectDir, "lib"));
        fs.writeFileSync(path.join(h.projectDir, "lib", "naming.js"), 'module.exports = { suffix: "" };\n');
        fs.appendFileSync(path.join(h.projectDir, "index.js"), 'require("./lib/naming.js");\n');
        git(h.projectDir, "add", ".");
        git(h.projectDir, "commit", "-qm", "the program requires lib/naming.js");
    });
    after(() => h?.close());

    const approvedPreview = async () => {
        const r = await h.call("POST", "/v1/stacks/prod/previews", { token: h.tokens.operator, body: {} });
        const preview = await h.waitFor(r.body.id);
        assert.equal(preview.state, "succeeded", JSON.stringify(preview.error));
        assert.equal((await h.call("POST", `/v1/jobs/${preview.id}/approvals`, { token: approver, body: { decision: "approve" } })).status, 201);
        return preview;
    };

    it("saves an update plan with every preview of a stack whose updates need approval, and applies the approved update under it", async () => {
        const preview = await approvedPreview();
        assert.equal(preview.options.mode, "plan");
        assert.ok(fs.existsSync(path.join(h.dataDir, "plans", `${preview.id}.json`)), "the plan was saved");
        const r = await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: { previewId: preview.id } });
        assert.equal((await h.waitFor(r.body.id)).state, "succeeded");
        const dev = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        assert.equal(dev.body.options.mode, undefined, "a stack without approvals previews as asked");
    });

    it("refuses a second update from an already-applied preview as such, naming the job, and shows the approval used up", async () => {
        const preview = await approvedPreview();
        const first = await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: { previewId: preview.id } });
        assert.equal((await h.waitFor(first.body.id)).state, "succeeded");
        const again = await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: { previewId: preview.id } });
        assert.equal(again.status, 409);
        assert.equal(again.body.error.code, "ALREADY_APPLIED");
        assert.match(again.body.error.message, new RegExp(`^Preview "${preview.id}" was already applied by an update \\(job ${first.body.id}, finished [^)]+\\); its approval is used up\\. Run a new preview`));
        const record = await h.call("GET", `/v1/jobs/${preview.id}/approvals`, { token: h.tokens.viewer });
        assert.equal(record.body.appliedBy.jobId, first.body.id);
    });

    it("refuses with 409 PLAN_STALE an approved update after a change to a required module was committed", async () => {
        const preview = await approvedPreview();
        fs.writeFileSync(path.join(h.projectDir, "lib", "naming.js"), 'module.exports = { suffix: "-changed" };\n');
        git(h.projectDir, "commit", "-qam", "change a required module after the approval");
        const r = await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: { previewId: preview.id } });
        assert.equal(r.status, 409, JSON.stringify(r.body));
        assert.equal(r.body.error.code, "PLAN_STALE");
        assert.deepEqual(r.body.error.details.changes.map((c: { part: string }) => c.part), ["program"]);
    });

    it("refuses it too for an uncommitted change, and for a new untracked file the program could read", async () => {
        let preview = await approvedPreview();
        fs.appendFileSync(path.join(h.projectDir, "lib", "naming.js"), "// an edit nobody committed\n");
        assert.equal((await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: { previewId: preview.id } })).body.error?.code, "PLAN_STALE");
        git(h.projectDir, "commit", "-qam", "commit the edit");
        preview = await approvedPreview();
        fs.writeFileSync(path.join(h.projectDir, "lib", "extra.json"), "{}\n");
        assert.equal((await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: { previewId: preview.id } })).body.error?.code, "PLAN_STALE");
    });
});
