// Environment policy files edited while the real service runs: the next request sees the edit,
// a broken edit keeps the last valid policy, a file that never validated shuts its stack.
// Only the last request, once the file is fixed, reaches the real Pulumi CLI.
import assert from "node:assert/strict";
import * as path from "node:path";
import { createLogger } from "../../../automation/logger";
import { createRedactor } from "../../../automation/security/redact";
import { environmentsDirOf, startHarness } from "../harness";
import { SafeHarness, startSafeHarness } from "./safeHarness";
import { policyEditor } from "./editPolicy";

describe("environment policy files edited while the service runs", function () {
    this.timeout(120_000);
    let h: SafeHarness;
    let envDir: string;
    const edit = policyEditor(() => envDir);
    const refresh = (stack: string) => h.call("POST", `/v1/stacks/${stack}/refreshes`, { token: h.tokens.admin, body: {} });
    const auditOf = async (action: string) => (await h.call("GET", `/v1/audit?action=${action}`, { token: h.tokens.admin })).body.entries;

    before(async () => {
        h = await startSafeHarness({ "prod.yaml": "operations:\n  update: { approvals: 1 }\n" });
        envDir = h.server.policies.dir;
    });
    after(() => h?.close());

    it("applies a freeze window written into prod's file at the next request, without a restart", async () => {
        edit("prod.yaml", "operations:\n  update: { approvals: 1 }\nfreezeWindows:\n  - { start: '2000-01-01T00:00:00Z', end: '2999-01-01T00:00:00Z', operations: [refresh], reason: year-end freeze }\n");
        const r = await refresh("prod");
        assert.equal(r.status, 409, JSON.stringify(r.body));
        assert.equal(r.body.error.code, "FROZEN");
        assert.match(r.body.error.message, /year-end freeze/);
        assert.equal((await h.server.store.listJobs({})).length, 0);
        assert.equal((await auditOf("policy.reloaded")).length, 1);
    });
    it("keeps prod frozen on its last valid policy when an edit does not validate, and audits every problem", async () => {
        edit("prod.yaml", "operations:\n  update: { approvals: -1 }\nfreezeWindows: []\n");
        const r = await refresh("prod");
        assert.equal(r.body.error?.code, "FROZEN");
        const [entry] = await auditOf("policy.invalid");
        assert.equal(entry.result, "refused");
        assert.match(entry.details.problems.join("\n"), /prod\.yaml[\s\S]*operations\.update\.approvals/);
    });
    it("answers 503 POLICY_INVALID, naming the file, on a stack whose new policy file never validated, and creates no job", async () => {
        edit("dev.yaml", "github:\n  branch: 3\n");
        const r = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.body.error.code, "POLICY_INVALID");
        assert.match(r.body.error.message, /dev\.yaml/);
        assert.equal((await h.server.store.listJobs({})).length, 0);
    });
    it("lifts the freeze once prod's file is fixed, and starts the refresh", async () => {
        edit("prod.yaml", "operations:\n  update: { approvals: 1 }\n");
        const r = await refresh("prod");
        assert.equal(r.status, 202, JSON.stringify(r.body));
        assert.equal((await h.waitFor(r.body.id)).state, "succeeded");
    });
});

describe("the policy each stack got, at start-up", function () {
    this.timeout(60_000);
    it("logs, per stack, the file its policy came from or that it runs on the default", async () => {
        const lines: string[] = [];
        const logger = createLogger({ level: "info", redactor: createRedactor(), destination: { write: (s: string) => void lines.push(s) } });
        const h = await startHarness({ policies: { "prod.yaml": "operations:\n  update: { approvals: 1 }\n" }, overrides: { logger } });
        try {
            const entry = lines.map((l) => JSON.parse(l) as { msg: string; policies?: Record<string, string> }).find((l) => l.msg === "environment policies per stack");
            assert.deepEqual(entry?.policies, { dev: "default", prod: path.join(environmentsDirOf(h), "prod.yaml") });
        } finally {
            await h.stop();
        }
    });
});
