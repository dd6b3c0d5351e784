// The stack policy applied to requests before any job exists: roles per operation and freeze
// windows, through the real service's HTTP stack (nothing here reaches the Pulumi CLI).
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { SafeHarness, startSafeHarness } from "./safeHarness";

describe("stack policy at the door of the operation routes", function () {
    this.timeout(120_000);
    let h: SafeHarness;

    before(async () => {
        h = await startSafeHarness(
            {
                "prod.yaml":
                    "operations:\n  update: { role: admin }\n  destroy: { role: admin, approvals: 1 }\nfreezeWindows:\n  - { start: '2000-01-01T00:00:00Z', end: '2999-01-01T00:00:00Z', operations: [refresh], reason: audit season }\n",
            },
            { AUTOMATION_RATE_LIMIT_PER_MINUTE: "3", AUTOMATION_GITHUB_WEBHOOK_SECRET: "webhook-secret-0123456789", AUTOMATION_GITHUB_REPOSITORIES: "acme/infra" },
        );
    });
    after(() => h?.close());

    it("answers 403 naming the policy's role when an operator starts an update the policy reserves for admins", async () => {
        const r = await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: {} });
        assert.equal(r.status, 403);
        assert.deepEqual([r.body.error.code, r.body.error.details.required], ["FORBIDDEN", "admin"]);
        assert.equal((await h.server.store.listJobs({})).length, 0);
    });
    it("answers 409 FROZEN inside a freeze window and creates no job", async () => {
        const r = await h.call("POST", "/v1/stacks/prod/refreshes", { token: h.tokens.admin, body: {} });
        assert.equal(r.status, 409);
        assert.equal(r.body.error.code, "FROZEN");
        assert.match(r.body.error.message, /audit season/);
        assert.equal((await h.server.store.listJobs({})).length, 0);
    });
    it("answers 422 APPROVAL_REQUIRED to a destroy that needs an approved preview and names none", async () => {
        const r = await h.call("POST", "/v1/stacks/prod/destroys", { token: h.tokens.admin, body: { confirm: "prod" } });
        assert.equal(r.status, 422);
        assert.equal(r.body.error.code, "APPROVAL_REQUIRED");
        assert.equal((await h.server.store.listJobs({})).length, 0);
    });
    it("answers 401 to a webhook whose signature does not match its raw body, creating no job", async () => {
        const raw = JSON.stringify({ action: "opened", number: 1, repository: { full_name: "acme/infra" } });
        const signature = "sha256=" + createHmac("sha256", "webhook-secret-0123456789").update(raw + " ").digest("hex");
        const r = await h.call("POST", "/v1/webhooks/github", { raw, headers: { "x-hub-signature-256": signature, "x-github-event": "pull_request", "x-github-delivery": "d-1" } });
        assert.equal(r.status, 401);
        assert.equal(r.body.error.code, "BAD_SIGNATURE");
        assert.equal((await h.server.store.listJobs({})).length, 0);
    });
    it("records each refusal in the audit log with the caller and the status", async () => {
        const r = await h.call("GET", "/v1/audit?action=http.post", { token: h.tokens.admin });
        assert.deepEqual(
            r.body.entries.map((e: { actor: { name: string }; details: { status: number } }) => [e.actor.name, e.details.status]),
            [["otto-operator", 403], ["ada-admin", 409], ["ada-admin", 422]],
        );
    });
    it("reports an audit entry edited on disk as the first bad line of the chain", async () => {
        const file = path.join(h.dataDir, "audit.jsonl");
        const lines = fs.readFileSync(file, "utf8").split("\n");
        const i = lines.findIndex((l) => l.includes('"status":403'));
        lines[i] = lines[i].replace('"result":"denied"', '"result":"ok"');
        fs.writeFileSync(file, lines.join("\n"));
        const r = await h.call("GET", "/v1/audit", { token: h.tokens.admin });
        assert.equal(r.body.verification.ok, false);
        assert.deepEqual(r.body.verification.firstBad, { line: i + 1, seq: i + 1, reason: "content does not match its hash (entry edited)" });
    });
    it("answers 429 RATE_LIMITED once a caller exceeds the configured mutations per minute", async () => {
        // the admin's frozen refresh and refused destroy above were the first 2 of 3
        const statuses: number[] = [];
        for (let i = 0; i < 1; i++) statuses.push((await h.call("POST", "/v1/stacks/prod/refreshes", { token: h.tokens.admin, body: {} })).status);
        assert.deepEqual(statuses, [409]);
        const r = await h.call("POST", "/v1/stacks/prod/refreshes", { token: h.tokens.admin, body: {} });
        assert.equal(r.status, 429);
        assert.equal(r.body.error.code, "RATE_LIMITED");
        // another caller still gets through to the policy
        assert.equal((await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.viewer, body: {} })).status, 403);
    });
});
