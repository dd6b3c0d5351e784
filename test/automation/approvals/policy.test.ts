import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultPolicy, environmentsDir, loadPolicies, parsePolicy, PolicyError } from "../../../automation/approvals/policy";

const repoEnvironments = path.resolve(__dirname, "../../../environments");

describe("environment policies", () => {
    it("requires one approver-role approval for prod updates and destroys, with no push updates", () => {
        const { policies } = loadPolicies(repoEnvironments, ["dev", "prod"]);
        const prod = policies.get("prod")!;
        assert.equal(prod.operations.update.approvals, 1);
        assert.equal(prod.operations.update.approverRole, "approver");
        assert.equal(prod.operations.destroy.approvals, 1);
        assert.equal(prod.operations.destroy.role, "admin");
        assert.equal(prod.github.updateOnPush, false);
    });
    it("lets a push to main update dev without approval", () => {
        const dev = loadPolicies(repoEnvironments, ["dev", "prod"]).policies.get("dev")!;
        assert.equal(dev.operations.update.approvals, 0);
        assert.deepEqual(dev.github, { previewOnPullRequest: true, updateOnPush: true, branch: "main" });
    });
    it("gives a stack without a file the documented default: no approvals, destroy admin-only, no webhooks", () => {
        const { policies } = loadPolicies(repoEnvironments, ["staging"]);
        const p = policies.get("staging")!;
        assert.deepEqual(p, defaultPolicy("staging"));
        assert.deepEqual(
            Object.fromEntries(Object.entries(p.operations).map(([op, o]) => [op, [o.role, o.approvals]])),
            { preview: ["operator", 0], refresh: ["operator", 0], update: ["operator", 0], destroy: ["admin", 0] },
        );
        assert.equal(p.github.previewOnPullRequest, false);
    });
    it("reports policy files that name no stack of the project without failing", () => {
        const { unused } = loadPolicies(repoEnvironments, ["dev"]);
        assert.deepEqual(unused, [path.join(repoEnvironments, "prod.yaml")]);
    });
    it("fails with every problem at once, each naming its key", () => {
        const text = "operations:\n  update:\n    approvals: -1\n    role: boss\nunknownKey: 1\n";
        assert.throws(
            () => parsePolicy("prod", text, "prod.yaml"),
            (e: unknown) => {
                assert.ok(e instanceof PolicyError);
                const joined = e.problems.join("\n");
                assert.match(joined, /operations\.update\.approvals/);
                assert.match(joined, /operations\.update\.role/);
                assert.match(joined, /unknownKey|Unrecognized/);
                return true;
            },
        );
    });
    it("fails when pushes would update a stack whose updates need approval", () => {
        assert.throws(() => parsePolicy("prod", "operations:\n  update:\n    approvals: 1\ngithub:\n  updateOnPush: true\n"), /github\.updateOnPush: cannot be true/);
    });
    it("fails when the stack key contradicts the file name", () => {
        assert.throws(() => parsePolicy("dev", "stack: prod\n", "dev.yaml"), /says "prod" but the file is for stack "dev"/);
    });
    it("fails on a freeze window that is neither one-off nor weekly", () => {
        assert.throws(() => parsePolicy("dev", "freezeWindows:\n  - reason: x\n"), /either one-off .* or weekly/);
        assert.throws(() => parsePolicy("dev", "freezeWindows:\n  - start: '2026-12-24T00:00:00Z'\n    end: '2026-12-20T00:00:00Z'\n"), /start must be before end/);
    });
    it("fails on YAML that does not parse, naming the file", () => {
        assert.throws(() => parsePolicy("dev", "operations: [\n", "dev.yaml"), /dev\.yaml:\n  - not valid YAML/);
    });
    it("lists every bad file of a directory in one error", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "envs-"));
        try {
            fs.writeFileSync(path.join(dir, "a.yaml"), "approvalTtlMinutes: 0\n");
            fs.writeFileSync(path.join(dir, "b.yml"), "github:\n  branch: 3\n");
            assert.throws(() => loadPolicies(dir, ["a", "b"]), (e: unknown) => e instanceof PolicyError && /a\.yaml/.test(e.message) && /b\.yml/.test(e.message));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("reads the directory from AUTOMATION_ENVIRONMENTS_DIR, else <project>/environments", () => {
        assert.equal(environmentsDir("/p", {}), path.join("/p", "environments"));
        assert.equal(environmentsDir("/p", { AUTOMATION_ENVIRONMENTS_DIR: "/etc/envs" }), "/etc/envs");
    });
});
