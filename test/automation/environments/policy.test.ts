import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AppError } from "../../../automation/errors";
import { defaultPolicy, describePolicy, loadPolicies, parsePolicy, PolicyError, PolicySet } from "../../../automation/environments/policy";
import { policyEditor } from "../approvals/editPolicy";

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
    it("says each stack's policy in words a person reads at a glance", () => {
        const { policies } = loadPolicies(repoEnvironments, ["dev", "prod", "staging"]);
        assert.equal(
            describePolicy(policies.get("prod")!),
            "updates: operator, 1 approval by an approver; destroys: admin, 1 approval by an approver; follows delivery (preview); drift check 0 6 * * * UTC",
        );
        assert.equal(describePolicy(policies.get("dev")!), "updates: operator, no approval; destroys: admin, no approval; follows delivery (update)");
        assert.equal(describePolicy(defaultPolicy("staging")), "updates: operator, no approval; destroys: admin, no approval");
        const named = { ...defaultPolicy("x"), freezeWindows: [{ days: ["fri"], from: "16:00", to: "23:59", operations: ["update" as const], reason: "weekend" }] };
        named.operations = { ...named.operations, update: { role: "operator", approvals: 2, approverRole: "admin", approvers: ["ann", "bob"] } };
        assert.equal(describePolicy(named), "updates: operator, 2 approvals by ann or bob; destroys: admin, no approval; 1 freeze window");
    });
    it("leaves dev's updates on a push to the pipeline, the one system that updates it, and previews its pull requests", () => {
        const dev = loadPolicies(repoEnvironments, ["dev", "prod"]).policies.get("dev")!;
        assert.equal(dev.operations.update.approvals, 0);
        assert.deepEqual(dev.github, { previewOnPullRequest: true, updateOnPush: false, branch: "main" });
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
    it("makes this repository's delivery stack (pipeline, deploy roles, state bucket, KMS key) need an approver's approval to update or destroy", () => {
        const p = loadPolicies(repoEnvironments, ["delivery"]).policies.get("delivery")!;
        assert.equal(p.source, path.join(repoEnvironments, "delivery.yaml"));
        assert.deepEqual([p.operations.update.approvals, p.operations.update.approverRole, p.operations.destroy.approvals, p.operations.destroy.role], [1, "approver", 1, "admin"]);
        assert.equal(p.github.updateOnPush, false);
    });
    it("reports policy files that name no stack of the project without failing", () => {
        const { unused } = loadPolicies(repoEnvironments, ["dev"]);
        assert.deepEqual(unused, [path.join(repoEnvironments, "delivery.yaml"), path.join(repoEnvironments, "prod.yaml")]);
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
});

describe("environment policies edited while the service runs", () => {
    let dir: string;
    let stacks: string[];
    const edit = policyEditor(() => dir);
    const frozen = "freezeWindows:\n  - { start: '2000-01-01T00:00:00Z', end: '2999-01-01T00:00:00Z', reason: release week }\n";
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "envs-"));
        stacks = ["dev", "prod"];
        edit("prod.yaml", "operations:\n  update: { approvals: 1 }\n");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("applies a freeze window added to a file at the next lookup, without a restart", () => {
        const reloads: string[] = [];
        const set = new PolicySet(dir, () => stacks, { onReload: (d) => reloads.push(d) });
        assert.deepEqual(set.get("prod").freezeWindows, []);
        edit("prod.yaml", "operations:\n  update: { approvals: 1 }\n" + frozen);
        assert.equal(set.get("prod").freezeWindows[0].reason, "release week");
        assert.equal(set.get("prod").operations.update.approvals, 1);
        assert.deepEqual(reloads, [dir], "one reload for one change, however many lookups");
    });
    it("keeps a stack on its last valid policy when its file is edited into something invalid, and reports every problem once", () => {
        const invalid: PolicyError[] = [];
        const set = new PolicySet(dir, () => stacks, { onInvalid: (e) => invalid.push(e) });
        edit("prod.yaml", "operations:\n  update: { approvals: -1 }\n");
        assert.equal(set.get("prod").operations.update.approvals, 1);
        assert.equal(set.get("prod").operations.update.approvals, 1);
        assert.equal(invalid.length, 1);
        assert.match(invalid[0].problems.join("\n"), /prod\.yaml[\s\S]*operations\.update\.approvals/);
        edit("prod.yaml", "operations:\n  update: { approvals: 2 }\n");
        assert.equal(set.get("prod").operations.update.approvals, 2);
    });
    it("returns to the default when a stack's file is removed", () => {
        const set = new PolicySet(dir, () => stacks);
        fs.rmSync(path.join(dir, "prod.yaml"));
        assert.deepEqual(set.get("prod"), defaultPolicy("prod"));
    });
    it("gives a stack added to the project later the policy its file names, not the default", () => {
        const set = new PolicySet(dir, () => stacks);
        assert.deepEqual(set.get("staging"), defaultPolicy("staging"));
        edit("staging.yaml", "operations:\n  update: { approvals: 1 }\n");
        stacks = [...stacks, "staging"];
        assert.equal(set.get("staging").operations.update.approvals, 1);
    });
    it("refuses everything on a stack whose file has never validated with 503 POLICY_INVALID, naming the file and the fix", () => {
        const set = new PolicySet(dir, () => stacks);
        edit("dev.yml", "github:\n  branch: 3\n");
        assert.throws(
            () => set.get("dev"),
            (e: unknown) => e instanceof AppError && e.code === "POLICY_INVALID" && e.status === 503 && /dev\.yml/.test(e.message) && /github\.branch/.test(e.message),
        );
        assert.equal(set.get("prod").operations.update.approvals, 1, "other stacks go on");
        // What the service starts on its own sees no policy there, so starts nothing.
        assert.deepEqual([set.valid("dev"), set.valid("prod")?.operations.update.approvals], [undefined, 1]);
        edit("dev.yml", "github:\n  branch: main\n");
        assert.equal(set.get("dev").github.branch, "main");
    });
    it("still refuses to start on a bad file, listing it", () => {
        edit("dev.yaml", "approvalTtlMinutes: 0\n");
        assert.throws(() => new PolicySet(dir, () => stacks), (e: unknown) => e instanceof PolicyError && /dev\.yaml/.test(e.message));
    });
});
