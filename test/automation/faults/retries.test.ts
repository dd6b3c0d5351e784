// A client that retries: a POST sent again after a timeout, the same key with another body, two
// copies at once, a retry of a refused request, a retry after the service restarted. With an
// Idempotency-Key, each creates one job or none; the real service, store and CLI.
import * as assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { IdempotencyKeys } from "../../../automation/http/idempotency";
import type { Job } from "../../../automation/jobs/types";
import { addToken } from "../../../automation/security/tokens";
import { startHarness, type Harness } from "../harness";

describe("retried requests that create jobs (Idempotency-Key, real service)", function () {
    this.timeout(180_000);
    let h: Harness;
    before(async () => (h = await startHarness()));
    after(async () => h?.stop());
    const post = (path: string, key: string | undefined, body: unknown = {}, token = h.tokens.operator) =>
        h.call("POST", path, { token, body, ...(key === undefined ? {} : { headers: { "idempotency-key": key } }) });
    const jobsOf = async (stack: string): Promise<Job[]> => (await h.call("GET", `/v1/jobs?stack=${stack}&limit=100`, { token: h.tokens.viewer })).body.jobs;

    it("answers a retry with the same key and body with the first job, creating no second one", async () => {
        const key = randomUUID();
        const first = await post("/v1/stacks/dev/updates", key, { message: "deploy 1" });
        assert.equal(first.status, 202, JSON.stringify(first.body));
        const retry = await post("/v1/stacks/dev/updates", key, { message: "deploy 1" });
        assert.deepEqual([retry.status, retry.body.id, retry.headers.get("idempotent-replayed")], [202, first.body.id, "true"]);
        assert.equal((await jobsOf("dev")).filter((j) => j.op === "update").length, 1);
        await h.waitFor(first.body.id);
    });

    it("refuses the same key with another body (409), and gives each caller its own keys", async () => {
        const key = randomUUID();
        const first = await post("/v1/stacks/dev/previews", key, { message: "a" });
        const other = await post("/v1/stacks/dev/previews", key, { message: "b" });
        assert.deepEqual([other.status, other.body.error.code], [409, "IDEMPOTENCY_KEY_REUSED"]);
        const elsewhere = await post("/v1/stacks/prod/previews", key, { message: "a" });
        assert.equal(elsewhere.body.error?.code, "IDEMPOTENCY_KEY_REUSED", "another path is another request");
        const someoneElse = await post("/v1/stacks/dev/previews", key, { message: "a" }, addToken(h.tokensFile, "olga-operator", "operator"));
        assert.equal(someoneElse.status, 202);
        assert.notEqual(someoneElse.body.id, first.body.id);
        await Promise.all([h.waitFor(first.body.id), h.waitFor(someoneElse.body.id)]);
    });

    it("creates one job from two copies sent at once", async () => {
        const key = randomUUID();
        const before = (await jobsOf("prod")).length;
        const both = await Promise.all([post("/v1/stacks/prod/refreshes", key), post("/v1/stacks/prod/refreshes", key)]);
        const ids = both.filter((r) => r.status === 202).map((r) => r.body.id);
        assert.ok(ids.length >= 1 && new Set(ids).size === 1, JSON.stringify(both.map((r) => [r.status, r.body.id ?? r.body.error?.code])));
        for (const r of both.filter((x) => x.status !== 202)) assert.equal(r.body.error.code, "IDEMPOTENCY_IN_PROGRESS");
        assert.equal((await jobsOf("prod")).length, before + 1);
        await h.waitFor(ids[0]);
    });

    it("keeps nothing of a refused request: its retry, once the stack is free, gets a job", async () => {
        h.configure("busy", { delayMs: 3000, count: 1 });
        const running = await post("/v1/stacks/busy/updates", undefined);
        const key = randomUUID();
        const refused = await post("/v1/stacks/busy/previews", key, { noQueue: true });
        assert.deepEqual([refused.status, refused.body.error.code], [409, "STACK_BUSY"]);
        await h.waitFor(running.body.id);
        const retry = await post("/v1/stacks/busy/previews", key, { noQueue: true });
        assert.equal(retry.status, 202, JSON.stringify(retry.body));
        await h.waitFor(retry.body.id);
    });

    it("answers a retry that comes after a restart of the service with the job from before", async () => {
        const key = randomUUID();
        const first = await post("/v1/stacks/dev/previews", key);
        await h.waitFor(first.body.id);
        await h.restart();
        const retry = await post("/v1/stacks/dev/previews", key);
        assert.deepEqual([retry.status, retry.body.id], [202, first.body.id]);
    });

    // A process killed between claiming a key and recording its job leaves the claim "in progress"
    // forever; the rows are written as that death leaves them (safety.sqlite, beside the live service).
    const leaveClaim = (key: string, ageMs: number, requestHash?: string) => {
        const db = new DatabaseSync(path.join(h.dataDir, "safety.sqlite"));
        try {
            db.exec("PRAGMA busy_timeout = 5000");
            const created = new Date(Date.now() - ageMs).toISOString();
            const changed = db.prepare("UPDATE idempotency_keys SET job_id = NULL, created_at = ? WHERE caller = 'otto-operator' AND key = ?").run(created, key).changes;
            if (changed === 0) db.prepare("INSERT INTO idempotency_keys (caller, key, request_hash, created_at) VALUES ('otto-operator', ?, ?, ?)").run(key, requestHash ?? "", created);
        } finally {
            db.close();
        }
    };

    it("answers a retry whose first attempt died after creating its job with that job, not a second one", async () => {
        const key = randomUUID();
        const first = await post("/v1/stacks/dev/previews", key, { message: "died" });
        assert.equal(first.status, 202, JSON.stringify(first.body));
        await h.waitFor(first.body.id);
        leaveClaim(key, 60_000); // the job was recorded, the key's completion was not
        const before = (await jobsOf("dev")).length;
        const retry = await post("/v1/stacks/dev/previews", key, { message: "died" });
        assert.deepEqual([retry.status, retry.body.id, retry.headers.get("idempotent-replayed")], [202, first.body.id, "true"]);
        assert.equal((await jobsOf("dev")).length, before);
    });

    it("lets a retry take over a claim whose first attempt died before creating a job, and only after 10 s", async () => {
        const key = randomUUID();
        leaveClaim(key, 2_000, IdempotencyKeys.requestHash("POST", "/stacks/dev/previews", { message: "x" }) /* the path within /v1 */);
        const young = await post("/v1/stacks/dev/previews", key, { message: "x" });
        assert.deepEqual([young.status, young.body.error?.code], [409, "IDEMPOTENCY_IN_PROGRESS"], "a claim 2 s old may still be a live attempt");
        leaveClaim(key, 30_000);
        const before = (await jobsOf("dev")).length;
        const both = await Promise.all([post("/v1/stacks/dev/previews", key, { message: "x" }), post("/v1/stacks/dev/previews", key, { message: "x" })]);
        const shown = JSON.stringify(both.map((r) => [r.status, r.body.id ?? r.body.error?.code]));
        // Two retries at once: one takes the claim over and creates the job; the other gets that job or waits.
        const ids = new Set(both.filter((r) => r.status === 202).map((r) => r.body.id));
        assert.equal(ids.size, 1, shown);
        for (const r of both.filter((x) => x.status !== 202)) assert.equal(r.body.error.code, "IDEMPOTENCY_IN_PROGRESS", shown);
        assert.equal((await jobsOf("dev")).length, before + 1, shown);
        const created = [...ids];
        const again = await post("/v1/stacks/dev/previews", key, { message: "x" });
        assert.deepEqual([again.status, again.body.id], [202, created[0]]);
        await h.waitFor(created[0]);
    });

    it("refuses a key that is not 1 to 255 visible characters", async () => {
        const r = await post("/v1/stacks/dev/previews", "has space");
        assert.deepEqual([r.status, r.body.error.code], [400, "BAD_REQUEST"]);
    });
});
