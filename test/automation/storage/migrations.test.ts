// Upgrading and downgrading the service over its own data: an embedded data dir and a shared
// Postgres written by an older service are migrated in place, in order, once; ones written by a
// newer service are refused before anything is written to them. Real SQLite files, a real
// Postgres (several instances starting at once).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Client } from "pg";
import { SqliteJobStore } from "../../../automation/jobs/sqliteStore";
import { MIGRATIONS } from "../../../automation/storage/migrations";
import { openStores, type StoresOptions } from "../../../automation/storage/stores";
import { startPostgres, type TestPostgres } from "../../support/postgres";

const options = (dataDir: string, databaseUrl?: string): StoresOptions => ({ dataDir, databaseUrl, redact: (v) => v, now: () => new Date(), auditMaxBytes: 1 << 20, onAuditError: () => undefined });
const latest = Math.max(...MIGRATIONS.safety.map((m) => m.id));
const latestPostgres = Math.max(...MIGRATIONS.postgres.map((m) => m.id));

describe("schema migrations of the embedded data dir", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrations-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("upgrades a data dir of the service before numbered migrations, keeping its records, and records each migration once", async () => {
        // The data dir as the previous version left it: its job store, and safety.sqlite with its
        // tables and a delivery, no schema_migrations.
        await new SqliteJobStore(path.join(dir, "jobs.sqlite")).close();
        const old = new DatabaseSync(path.join(dir, "safety.sqlite"));
        old.exec("CREATE TABLE webhook_deliveries (delivery_id TEXT PRIMARY KEY, event TEXT NOT NULL, at TEXT NOT NULL, body_hash TEXT); INSERT INTO webhook_deliveries VALUES ('d-old', 'push', '2026-01-01T00:00:00Z', 'h-old');");
        old.close();
        const stores = await openStores(options(dir));
        await stores.close();
        const db = new DatabaseSync(path.join(dir, "safety.sqlite"));
        try {
            assert.deepEqual((db.prepare("SELECT id FROM schema_migrations ORDER BY id").all() as { id: number }[]).map((r) => r.id), MIGRATIONS.safety.map((m) => m.id));
            assert.deepEqual(db.prepare("SELECT delivery_id, handled FROM webhook_deliveries").all().map((r) => ({ ...r })), [{ delivery_id: "d-old", handled: 1 }], "an old delivery counts as handled, as it was");
            assert.ok(db.prepare("SELECT name FROM sqlite_master WHERE name = 'idempotency_keys'").get());
        } finally {
            db.close();
        }
        const again = await openStores(options(dir));
        await again.close();
        const db2 = new DatabaseSync(path.join(dir, "safety.sqlite"));
        assert.equal((db2.prepare("SELECT count(*) AS n FROM schema_migrations").get() as { n: number }).n, MIGRATIONS.safety.length, "a second start applies nothing twice");
        db2.close();
    });

    it("refuses a data dir a newer service wrote, naming the file and the migration, and writes nothing to it", async () => {
        await new SqliteJobStore(path.join(dir, "jobs.sqlite")).close();
        const newer = new DatabaseSync(path.join(dir, "safety.sqlite"));
        newer.exec(`CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL); INSERT INTO schema_migrations VALUES (${latest + 7}, 'jobs get wings', '2027-01-01');`);
        newer.close();
        await assert.rejects(openStores(options(dir)), (e: Error) => {
            assert.equal(e.name, "NewerSchema");
            assert.match(e.message, new RegExp(`safety\\.sqlite was written by a newer version of the automation service \\(schema migration ${latest + 7}, "jobs get wings"; this version knows up to ${latest}\\)`));
            assert.match(e.message, /restore the backup taken before upgrading/);
            return true;
        });
        const db = new DatabaseSync(path.join(dir, "safety.sqlite"));
        assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => ({ ...r })), [{ name: "schema_migrations" }], "no store created its tables");
        db.close();
    });
});

describe("schema migrations of the shared Postgres", function () {
    this.timeout(120_000);
    let pg: TestPostgres;
    before(() => (pg = startPostgres()));
    after(() => pg?.stop());
    const rows = async <T,>(url: string, sql: string): Promise<T[]> => {
        const c = new Client({ connectionString: url });
        await c.connect();
        try {
            return (await c.query(sql)).rows as T[];
        } finally {
            await c.end();
        }
    };

    it("migrates an empty database once when three instances start on it at the same moment", async () => {
        const url = await pg.newDatabase();
        const dirs = [0, 1, 2].map(() => fs.mkdtempSync(path.join(os.tmpdir(), "migrations-pg-")));
        const stores = await Promise.all(dirs.map((d) => openStores(options(d, url))));
        await Promise.all(stores.map((s) => s.close()));
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
        const applied = await rows<{ id: number }>(url, "SELECT id FROM automation.schema_migrations ORDER BY id");
        assert.deepEqual(applied.map((r) => r.id), MIGRATIONS.postgres.map((m) => m.id));
    });

    it("refuses a database a newer service wrote, naming it and the migration", async () => {
        const url = await pg.newDatabase();
        await rows(url, `CREATE SCHEMA automation; CREATE TABLE automation.schema_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()); INSERT INTO automation.schema_migrations (id, name) VALUES (${latestPostgres + 1}, 'tomorrow')`);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrations-pg-"));
        try {
            await assert.rejects(openStores(options(dir, url)), /^NewerSchema: The database 127\.0\.0\.1:\d+\/test_\d+ was written by a newer version of the automation service \(schema migration \d+, "tomorrow"/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.deepEqual(await rows(url, "SELECT table_name FROM information_schema.tables WHERE table_schema IN ('public', 'automation') ORDER BY table_name"), [{ table_name: "schema_migrations" }]);
    });
});
