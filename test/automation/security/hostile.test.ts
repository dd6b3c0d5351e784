// Hostile requests on loopback against the real service, each one a finding of the trust
// review (issue "Service trust, second pass") reproduced: before its fix each of these broke
// the service; rerun the file to check them all again.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHmac, randomUUID } from "node:crypto";
import { Harness, startHarness } from "../harness";

const metric = (text: string, name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);

describe("hostile requests against the real service", function () {
    this.timeout(180_000);
    let h: Harness;
    const auditBytes = () => fs.readdirSync(h.dataDir).filter((f) => f.startsWith("audit.jsonl") && !f.endsWith(".head")).reduce((n, f) => n + fs.statSync(path.join(h.dataDir, f)).size, 0);

    before(async () => {
        h = await startHarness({ env: { AUTOMATION_REFUSAL_RATE_LIMIT_PER_MINUTE: "50" } });
    });
    after(() => h?.stop());

    it("answers an undecodable stack name (%ZZ) with 400 to POST, PUT and DELETE without a token, stays up, lets a running update finish, and records it", async () => {
        h.configure("dev", { count: 2, delayMs: 1500 });
        const update = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        assert.equal(update.status, 202);
        for (const method of ["POST", "PUT", "DELETE"]) {
            const r = await h.call(method, "/v1/stacks/%ZZ/previews");
            assert.equal(r.status, 400, `${method}: ${JSON.stringify(r.body)}`);
            assert.equal(r.body.error.code, "BAD_REQUEST");
        }
        assert.equal((await h.call("GET", "/healthz")).status, 200);
        assert.equal((await h.waitFor(update.body.id)).state, "succeeded");
        const audit = await h.call("GET", "/v1/audit?action=http", { token: h.tokens.admin });
        const recorded = audit.body.entries.find((e: { details?: { path?: string } }) => e.details?.path === "/v1/stacks/%ZZ/previews");
        assert.ok(recorded, "the malformed request is in the audit log");
        assert.deepEqual([recorded.details.status, recorded.actor.name, recorded.stack], [400, "anonymous", "%ZZ"]);
    });

    it("turns a flood of unauthenticated requests with 14,000-character paths into 429 after the limit, for every method, writing a sample and a count instead of an entry each", async () => {
        const before = auditBytes();
        const longPath = `/v1/jobs/${"x".repeat(14_000)}`;
        const statuses: number[] = [];
        for (let i = 0; i < 300; i++) statuses.push((await h.call("GET", longPath)).status);
        for (const method of ["POST", "PUT", "DELETE", "PATCH"]) statuses.push((await h.call(method, longPath)).status);
        // the %ZZ requests of the test before count too: 3 of the 50
        assert.equal(statuses.filter((s) => s === 401).length, 47);
        assert.equal(statuses.filter((s) => s === 429).length, 304 - 47);
        assert.deepEqual(statuses.slice(-4), [429, 429, 429, 429], "every method is limited");
        const metrics = await (await fetch(`${h.url}/metrics`)).text();
        assert.equal(metric(metrics, "automation_http_refused_total", 'status="401"'), 47);
        assert.equal(metric(metrics, "automation_http_refused_total", 'status="429"'), 257);
        const grown = auditBytes() - before;
        assert.ok(grown < 8 * 1024, `the audit log grew ${grown} bytes for 304 refused requests`);
        // a token holder is not held back by a stranger's flood from the same address
        assert.equal((await h.call("GET", "/v1/stacks", { token: h.tokens.viewer })).status, 200);
    });

    it("writes the count of the repeats at the end of the window, and the log still verifies after a restart", async () => {
        await h.restart();
        const audit = await h.call("GET", "/v1/audit?action=http.refused-repeats", { token: h.tokens.admin });
        assert.equal(audit.status, 200);
        const repeats = audit.body.entries.map((e: { details: { repeats: number; key: string } }) => [e.details.key.split("|").slice(1).join("|"), e.details.repeats]);
        assert.deepEqual(repeats.sort(), [
            ["anonymous|400", 2],
            ["anonymous|401", 46],
            ["anonymous|429", 256],
        ]);
        assert.equal(audit.body.verification.ok, true);
    });
});

describe("hostile webhook traffic against the real service", function () {
    this.timeout(120_000);
    const SECRET = "hostile-webhook-secret-0123456789";
    let h: Harness;
    const signed = (payload: object, delivery = randomUUID()) => {
        const raw = JSON.stringify(payload);
        return { raw, headers: { "x-hub-signature-256": "sha256=" + createHmac("sha256", SECRET).update(raw).digest("hex"), "x-github-event": "ping", "x-github-delivery": delivery } };
    };

    before(async () => {
        h = await startHarness({ env: { AUTOMATION_REFUSAL_RATE_LIMIT_PER_MINUTE: "20", AUTOMATION_GITHUB_WEBHOOK_SECRET: SECRET, AUTOMATION_GITHUB_REPOSITORIES: "acme/infra" } });
    });
    after(() => h?.stop());

    it("accepts a signed delivery larger than the API's 64 KiB body limit (GitHub sends up to 25 MB)", async () => {
        const big = signed({ zen: "x".repeat(200 * 1024), repository: { full_name: "acme/infra" } });
        const r = await h.call("POST", "/v1/webhooks/github", big);
        assert.deepEqual([r.status, r.body.ignored], [200, "pong"]);
        const api = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, raw: JSON.stringify({ message: "x".repeat(70 * 1024) }) });
        assert.equal(api.status, 413, "the API keeps its own limit");
    });
    it("keeps running signed deliveries while a stranger floods the API and the webhook route from the same address", async () => {
        for (let i = 0; i < 40; i++) await h.call("POST", "/v1/stacks/dev/previews");
        const bad = signed({ repository: { full_name: "acme/infra" } });
        const codes: number[] = [];
        for (let i = 0; i < 40; i++) codes.push((await h.call("POST", "/v1/webhooks/github", { raw: bad.raw, headers: { ...bad.headers, "x-hub-signature-256": "sha256=" + "0".repeat(64) } })).status);
        assert.deepEqual([codes.filter((c) => c === 401).length, codes.filter((c) => c === 429).length], [20, 20]);
        const r = await h.call("POST", "/v1/webhooks/github", signed({ repository: { full_name: "acme/infra" } }));
        assert.equal(r.status, 200, JSON.stringify(r.body));
    });
    it("refuses a signed body replayed with a new delivery id", async () => {
        const first = signed({ repository: { full_name: "acme/infra" }, hook_id: 1 });
        assert.equal((await h.call("POST", "/v1/webhooks/github", first)).status, 200);
        const again = await h.call("POST", "/v1/webhooks/github", { raw: first.raw, headers: { ...first.headers, "x-github-delivery": randomUUID() } });
        assert.deepEqual([again.status, again.body.error.code], [409, "DUPLICATE_DELIVERY"]);
    });
});


describe("event streams a caller holds open, on the real service", function () {
    this.timeout(120_000);
    let h: Harness;
    before(async () => {
        h = await startHarness({ env: { AUTOMATION_SSE_STREAMS_PER_CALLER: "2" } });
    });
    after(() => h?.stop());

    it("answers 429 TOO_MANY_STREAMS to a caller's stream past the limit, and takes one again once a stream closes", async () => {
        h.configure("dev", { count: 2, delayMs: 4000 });
        const up = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        const open = async () => {
            const abort = new AbortController();
            const res = await fetch(`${h.url}/v1/jobs/${up.body.id}/events`, { headers: { authorization: `Bearer ${h.tokens.viewer}` }, signal: abort.signal });
            return { status: res.status, body: (res.status === 200 ? undefined : await res.json()) as { error: { code: string } } | undefined, close: () => abort.abort() };
        };
        const a = await open();
        const b = await open();
        const c = await open();
        assert.deepEqual([a.status, b.status, c.status], [200, 200, 429]);
        assert.equal(c.body?.error.code, "TOO_MANY_STREAMS");
        assert.equal((await fetch(`${h.url}/v1/jobs/${up.body.id}/events`, { headers: { authorization: `Bearer ${h.tokens.operator}` } }).then((r) => { void r.body?.cancel(); return r.status; })), 200, "another caller is not held back");
        a.close();
        await new Promise((r) => setTimeout(r, 200));
        const d = await open();
        assert.equal(d.status, 200);
        b.close();
        d.close();
        await h.waitFor(up.body.id);
    });
});
