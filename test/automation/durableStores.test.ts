// The small durable stores (approvals and fingerprints, webhook deliveries, recovery findings)
// are written once over storage/db.ts: the same suite runs them on the SQLite file and on a
// real Postgres. The audit chain in Postgres is checked as the file's is: appends from several
// instances at once make one chain that verifies, and an edited row breaks it.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client, type Pool } from "pg";
import { ApprovalStore } from "../../automation/approvals/store";
import { PostgresAuditLog } from "../../automation/audit/postgresLog";
import { FindingsStore } from "../../automation/recovery/findings";
import { openPool, postgresDb, sqliteDb, type Db } from "../../automation/storage/db";
import { openSqlite } from "../../automation/storage/sqlite";
import { openDurableStores } from "../../automation/storage/stores";
import { DeliveryStore } from "../../automation/webhooks/deliveries";
import { startPostgres, type TestPostgres } from "../support/postgres";

const fp = (n: string) => ({ state: { version: 1, hash: n }, program: { hash: "p" }, config: { hash: "c" } });

function durableStoreContract(open: () => Promise<{ db: Db; close(): Promise<void> }>): void {
    let t: { db: Db; close(): Promise<void> };
    beforeEach(async () => (t = await open()));
    afterEach(() => t.close());

    it("keeps approvals of a preview in the order they were given, with their comments", async () => {
        const store = await ApprovalStore.open(t.db);
        const a = await store.addApproval({ previewId: "p1", stack: "prod", operation: "update", decision: "approve", by: "ann", role: "approver", comment: "lgtm", at: "2026-12-03T10:00:00.000Z" });
        await store.addApproval({ previewId: "p1", stack: "prod", operation: "update", decision: "reject", by: "bob", role: "approver", at: "2026-12-03T10:01:00.000Z" });
        await store.addApproval({ previewId: "p2", stack: "prod", operation: "update", decision: "approve", by: "ann", role: "approver", at: "2026-12-03T10:02:00.000Z" });
        const of = await (await ApprovalStore.open(t.db)).approvalsOf("p1");
        assert.deepEqual(of.map((x) => [x.by, x.decision, x.comment]), [["ann", "approve", "lgtm"], ["bob", "reject", undefined]]);
        assert.equal(of[0].id, a.id);
    });

    it("keeps one fingerprint per preview, the last one set", async () => {
        const store = await ApprovalStore.open(t.db);
        assert.equal(await store.fingerprintOf("p1"), undefined);
        await store.setFingerprint("p1", "dev", fp("a"));
        await store.setFingerprint("p1", "dev", fp("b"));
        assert.deepEqual(await store.fingerprintOf("p1"), fp("b"));
    });

    it("records a webhook delivery once: a second one with its id or its body is a replay, once it was handled", async () => {
        const store = await DeliveryStore.open(t.db);
        assert.equal(await store.begin("d1", "push", "h1"), "new");
        assert.equal(await store.begin("d1", "push", "h1"), "pending", "not handled yet: GitHub's redelivery may finish it");
        await store.markHandled("h1");
        assert.equal(await store.begin("d1", "push", "h1"), "handled", "same id and body, handled");
        assert.equal(await store.begin("d1", "push", "h2"), "handled", "same id, another body: a replay of the id");
        assert.equal(await store.begin("d2", "push", "h1"), "handled", "same signed body under a new id");
        const [x, y] = await Promise.all([store.begin("d3", "push", "h3"), store.begin("d3", "push", "h3")]);
        assert.deepEqual([x, y].sort(), ["new", "pending"], "of two at once, one is new");
    });

    it("gives each stack of a delivery one job, however many attempts of it arrive at once", async () => {
        const store = await DeliveryStore.open(t.db);
        const claims = await Promise.all([store.claimStack("h1", "dev"), store.claimStack("h1", "dev"), store.claimStack("h1", "prod")]);
        assert.deepEqual(claims, [true, false, true]);
        await store.setStackJob("h1", "dev", "job-dev");
        await store.releaseStack("h1", "prod");
        assert.deepEqual([...(await store.stackJobs("h1"))], [["dev", "job-dev"]]);
        assert.equal(await store.claimStack("h1", "prod"), true, "a refused stack's place is free again");
        assert.equal(await store.claimStack("h1", "dev"), false, "a stack with a job keeps it");
    });

    it("keeps the latest findings of each stack", async () => {
        const store = await FindingsStore.open(t.db);
        await store.setFindings("dev", [{ kind: "pending-operations" }], new Date("2026-12-03T10:00:00Z"));
        await store.setFindings("dev", [], new Date("2026-12-03T11:00:00Z"));
        assert.deepEqual(await store.findingsOf("dev"), { findings: [], at: "2026-12-03T11:00:00.000Z" });
        assert.equal(await store.findingsOf("prod"), undefined);
    });
}

describe("the durable stores", function () {
    this.timeout(120_000);

    describe("on the SQLite file", () => {
        durableStoreContract(async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "durable-"));
            const database = openSqlite(path.join(dir, "safety.sqlite"), { durable: true });
            const db = sqliteDb(database);
            // As the service opens it: every store's tables, migrated to this version.
            await openDurableStores(db, "sqlite", "safety.sqlite");
            return {
                db,
                async close() {
                    database.close();
                    fs.rmSync(dir, { recursive: true, force: true });
                },
            };
        });
    });

    describe("on Postgres", () => {
        let pg: TestPostgres;
        before(() => (pg = startPostgres()));
        after(() => pg?.stop());
        let lastUrl = "";
        const freshPool = async (): Promise<Pool> => openPool((lastUrl = await pg.newDatabase()));

        durableStoreContract(async () => {
            const pool = await freshPool();
            const db = postgresDb(pool);
            await openDurableStores(db, "postgres", "the test's database");
            return { db, close: () => pool.end() };
        });

        it("writes an audit entry again when its connection is cut while it waits for the chain's lock (a failover, a restart), and flush resolves only once it landed", async () => {
            const pool = await freshPool();
            const url = lastUrl;
            const audit = await PostgresAuditLog.open(pool);
            const holder = new Client({ connectionString: url });
            await holder.connect();
            try {
                await holder.query("SELECT pg_advisory_lock(7130002)");
                audit.append({ actor: { name: "ann", via: "token" }, action: "approval.approve", from: "local", result: "ok", previewId: "p1", approvalId: "a1", details: { operation: "update" } });
                // The append's connection waits on the lock; cut it, as a restart of the database would.
                let waiting: number | undefined;
                for (let t = 0; waiting === undefined && t < 100; t++) {
                    waiting = (await holder.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND pid <> pg_backend_pid()")).rows[0]?.pid;
                    if (waiting === undefined) await new Promise((r) => setTimeout(r, 50));
                }
                assert.ok(waiting, "the append was waiting on the chain's lock");
                await holder.query("SELECT pg_terminate_backend($1)", [waiting]);
                await holder.query("SELECT pg_advisory_unlock(7130002)");
                await audit.flush();
                assert.deepEqual(await audit.verify(), { ok: true, entries: 1 });
                assert.deepEqual((await audit.recordedApprovals("p1")).map((r) => r.approvalId), ["a1"]);
            } finally {
                await holder.end();
                await audit.close();
                await pool.end();
            }
        });

        it("makes one verifying audit chain of the appends of three instances at once", async () => {
            const pool = await freshPool();
            const url = lastUrl;
            const instances = await Promise.all([0, 1, 2].map(async () => {
                const own = openPool(url);
                return { pool: own, audit: await PostgresAuditLog.open(own) };
            }));
            try {
                for (let i = 0; i < 30; i++) instances[i % 3].audit.append({ actor: { name: `i${i % 3}`, via: "system" }, action: "test.append", from: "local", result: "ok", details: { i } });
                await Promise.all(instances.map((x) => x.audit.flush()));
                const v = await instances[0].audit.verify();
                assert.deepEqual(v, { ok: true, entries: 30 });
                const seqs = (await instances[1].audit.page({ limit: 500 })).entries.map((e) => e.seq);
                assert.deepEqual(seqs, Array.from({ length: 30 }, (_, i) => i + 1));
                // an edited entry breaks the chain at that entry
                await pool.query("UPDATE automation.audit SET entry = replace(entry, '\"result\":\"ok\"', '\"result\":\"denied\"') WHERE seq = 7");
                const broken = await instances[2].audit.verify();
                assert.equal(broken.ok, false);
                assert.equal(broken.firstBad?.seq, 7);
                assert.match(broken.firstBad!.reason, /edited/);
            } finally {
                for (const x of instances) await x.pool.end();
                await pool.end();
            }
        });

        it("pages the audit chain by stack and action, as the file does", async () => {
            const pool = await freshPool();
            const audit = await PostgresAuditLog.open(pool, { redact: (v) => JSON.parse(JSON.stringify(v).replaceAll("s3cret", "[secret]")) });
            try {
                audit.append({ actor: { name: "a", via: "system" }, action: "stack.repair", from: "local", result: "ok", stack: "dev" });
                audit.append({ actor: { name: "a", via: "system" }, action: "stack.unlock", from: "local", result: "ok", stack: "prod" });
                audit.append({ actor: { name: "a", via: "system" }, action: "stack.repairs", from: "local", result: "ok", stack: "dev", details: { note: "s3cret" } });
                const dev = await audit.page({ stack: "dev" });
                assert.deepEqual(dev.entries.map((e) => e.seq), [1, 3]);
                assert.equal((dev.entries[1].details as { note: string }).note, "[secret]");
                assert.deepEqual((await audit.page({ action: "stack.repair" })).entries.map((e) => e.seq), [1]);
                const first = await audit.page({ limit: 2 });
                assert.deepEqual([first.entries.map((e) => e.seq), first.next], [[1, 2], 2]);
                assert.deepEqual((await audit.page({ after: first.next })).entries.map((e) => e.seq), [3]);
            } finally {
                await audit.close();
                await pool.end();
            }
        });
    });
});
