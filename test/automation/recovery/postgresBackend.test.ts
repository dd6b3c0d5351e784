// The postgres:// state backend (Pulumi's own, in the pinned CLI) with the real service and CLI
// on the fixture: the state lives in the backend's table, and the crash recovery reads, judges
// and clears its locks there as it does the file backend's, and repairs pending operations.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as os from "node:os";
import { Client } from "pg";
import { blobText } from "../../../automation/recovery/postgresBackend";
import { startPostgres, type TestPostgres } from "../../support/postgres";
import { startHarness, type Harness } from "../harness";

describe("the postgres:// state backend, with the real CLI", function () {
    this.timeout(300_000);
    let pg: TestPostgres;
    let backend: string;
    let h: Harness;
    const sql = async <T extends object>(text: string, params: unknown[] = []): Promise<T[]> => {
        const c = new Client({ connectionString: backend.replace("?sslmode=disable", "") });
        await c.connect();
        try {
            return (await c.query(text, params)).rows as T[];
        } finally {
            await c.end();
        }
    };
    /** A lock row as the CLI writes one, under the same prefix as the stack's checkpoint. */
    const plantLock = async (stack: string, pid: number) => {
        const [{ key }] = await sql<{ key: string }>("SELECT key FROM pulumi_state WHERE key LIKE $1", [`%.pulumi/stacks/fixture/${stack}.json`]);
        const lockKey = `${key.slice(0, key.indexOf(".pulumi/"))}.pulumi/locks/organization/fixture/${stack}/${randomUUID()}.json`;
        const lock = JSON.stringify({ pid, username: os.userInfo().username, hostname: os.hostname(), timestamp: new Date().toISOString() });
        await sql("INSERT INTO pulumi_state (key, data) VALUES ($1, $2)", [lockKey, JSON.stringify({ data: Buffer.from(lock).toString("base64") })]);
        return lockKey;
    };
    const locksOf = async (stack: string) => (await sql<{ key: string }>("SELECT key FROM pulumi_state WHERE key LIKE $1", [`%.pulumi/locks/organization/fixture/${stack}/%`])).map((r) => r.key);

    before(async () => {
        pg = startPostgres();
        backend = `${await pg.newDatabase()}?sslmode=disable`;
        h = await startHarness({ env: { PULUMI_BACKEND_URL: backend, AUTOMATION_CANCEL_GRACE_MS: "60000" } });
    });
    after(async () => {
        await h?.stop();
        pg?.stop();
    });

    it("keeps each stack's checkpoint in the backend's table", async () => {
        for (const stack of ["dev", "prod"]) {
            const r = await h.call("POST", `/v1/stacks/${stack}/updates`, { token: h.tokens.operator, body: {} });
            assert.equal((await h.waitFor(r.body.id)).state, "succeeded");
        }
        const keys = (await sql<{ key: string }>("SELECT key FROM pulumi_state ORDER BY key")).map((r) => r.key);
        assert.ok(keys.some((k) => k.endsWith(".pulumi/stacks/fixture/dev.json")), keys.join(", "));
    });

    let liveHolder: ReturnType<typeof spawn> | undefined;
    let stale: string;
    let live: string;
    it("clears a dead CLI's lock at start-up and audits it, and reports a live one without touching it", async () => {
        const dead = spawnSync("true").pid!;
        stale = await plantLock("dev", dead);
        // A running process that reads as pulumi (its command line says so), started before its lock.
        liveHolder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 600000)", "pulumi-stand-in"], { stdio: "ignore" });
        await new Promise((r) => setTimeout(r, 1500));
        live = await plantLock("prod", liveHolder.pid!);
        await h.restart();
        assert.deepEqual(await locksOf("dev"), [], "the stale lock's row is gone");
        assert.deepEqual(await locksOf("prod"), [live]);
        const dev = (await h.call("GET", "/v1/stacks/dev/repair", { token: h.tokens.viewer })).body;
        assert.equal(dev.state, "ok");
        const prod = (await h.call("GET", "/v1/stacks/prod/repair", { token: h.tokens.viewer })).body;
        assert.deepEqual(prod.findings.map((f: { kind: string; lock?: { pid: number; file: string } }) => [f.kind, f.lock?.pid, f.lock?.file]), [["live-lock", liveHolder.pid, live]]);
        const audit = (await h.call("GET", "/v1/audit?action=recovery.lock-cleared", { token: h.tokens.admin })).body;
        assert.deepEqual(audit.entries.map((e: { stack: string; details: { lock: { file: string } } }) => [e.stack, e.details.lock.file]), [["dev", stale]]);
    });

    it("refuses to repair past the live lock, naming its holder, and an admin's unlock removes it from the table", async () => {
        const refused = await h.call("POST", "/v1/stacks/prod/repair", { token: h.tokens.admin, body: {} });
        assert.equal(refused.status, 409);
        assert.equal(refused.body.error.code, "STACK_LOCKED");
        assert.match(refused.body.error.message, new RegExp(`locked by pid ${liveHolder!.pid} on ${os.hostname()}`));
        const unlocked = await h.call("POST", "/v1/stacks/prod/unlock", { token: h.tokens.admin, body: { confirm: "prod" } });
        assert.equal(unlocked.status, 200, JSON.stringify(unlocked.body));
        assert.deepEqual(unlocked.body.removedLocks.map((l: { file: string }) => l.file), [live]);
        assert.deepEqual(await locksOf("prod"), []);
        liveHolder!.kill("SIGKILL");
    });

    it("finds the pending creates a killed update left in the backend, repairs them, and the stack updates again", async () => {
        h.configure("dev", { count: 4, hangMs: 120_000 });
        const up = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        await h.waitFor(up.body.id, async () => {
            const [{ data }] = await sql<{ data: string }>("SELECT data::text AS data FROM pulumi_state WHERE key LIKE $1", ["%.pulumi/stacks/fixture/dev.json"]);
            const checkpoint = JSON.parse(blobText(data)) as { checkpoint?: { latest?: { pending_operations?: unknown[] } } };
            return (checkpoint.checkpoint?.latest?.pending_operations ?? []).length > 0;
        });
        await h.call("POST", `/v1/jobs/${up.body.id}/cancel`, { token: h.tokens.operator });
        await h.call("POST", `/v1/jobs/${up.body.id}/cancel`, { token: h.tokens.admin, body: { force: true } });
        assert.equal((await h.waitFor(up.body.id, (j) => !["queued", "running", "cancelling"].includes(j.state))).state, "cancelled");
        // The killed CLI's lock is judged once its process is gone (the scan after the job ended may still have seen it).
        await h.waitFor(up.body.id, async () => {
            await h.restart();
            const r = (await h.call("GET", "/v1/stacks/dev/repair", { token: h.tokens.viewer })).body;
            return r.state === "needs-repair" && !r.findings.some((f: { kind: string }) => f.kind === "live-lock");
        });
        const findings = (await h.call("GET", "/v1/stacks/dev/repair", { token: h.tokens.viewer })).body.findings;
        const pending = findings.find((f: { kind: string }) => f.kind === "pending-operations");
        assert.ok(pending.operations.length >= 1, JSON.stringify(findings));
        const repaired = await h.call("POST", "/v1/stacks/dev/repair", { token: h.tokens.admin, body: {} });
        assert.equal(repaired.status, 200, JSON.stringify(repaired.body));
        assert.equal(repaired.body.after.state, "ok");
        h.configure("dev", { count: 4 });
        const again = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(again.body.id)).state, "succeeded");
    });
});
