// Numbered schema migrations for the service's databases, recorded in a table of each database
// and applied in order under one lock, so a data dir or database written by an older service
// upgrades in place, and one written by a newer service is refused rather than misread.
//
// Migration 1 of each database is its baseline: the tables each store creates if missing
// (`CREATE ... IF NOT EXISTS` in the stores' `open`, with the columns added in place before
// numbered migrations existed). Every later change is a migration below, never an edit of a
// store's own schema.
import type { Db } from "./db";

export interface Migration {
    id: number;
    name: string;
    /** Statements run in one transaction with the migration's record; empty for a baseline. */
    sql: string;
}

const BASELINE: Migration = { id: 1, name: "baseline: the tables each store creates", sql: "" };

/** The durable records: approvals, webhook deliveries, findings, notifications, schedule runs, stack links (safety.sqlite, or Postgres). */
const DURABLE: readonly Migration[] = [
    BASELINE,
    {
        id: 2,
        name: "webhook deliveries are handled per stack, and only once every stack got its job",
        sql: `ALTER TABLE webhook_deliveries ADD COLUMN handled INTEGER NOT NULL DEFAULT 1;
CREATE TABLE webhook_delivery_jobs (body_hash TEXT NOT NULL, stack TEXT NOT NULL, job_id TEXT, PRIMARY KEY (body_hash, stack));`,
    },
    {
        id: 3,
        name: "idempotency keys of the requests that create jobs",
        sql: `CREATE TABLE idempotency_keys (caller TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, job_id TEXT, created_at TEXT NOT NULL, PRIMARY KEY (caller, key));`,
    },
    {
        // Numbered after Postgres's own 4 and 5: both databases share one sequence from here on.
        id: 6,
        name: "sign-in through OpenID Connect: sign-ins under way, sessions, and each person's role as last seen",
        sql: `CREATE TABLE sign_ins (id_hash TEXT PRIMARY KEY, state TEXT NOT NULL, nonce TEXT NOT NULL, code_verifier TEXT NOT NULL, return_to TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE sessions (id_hash TEXT PRIMARY KEY, name TEXT NOT NULL, subject TEXT NOT NULL, role TEXT, csrf_token TEXT NOT NULL, access_token TEXT, refresh_token TEXT, id_token TEXT, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, checked_at TEXT NOT NULL);
CREATE INDEX sessions_by_name ON sessions (name);
CREATE TABLE people (name TEXT PRIMARY KEY, role TEXT, checked_at TEXT NOT NULL);`,
    },
    {
        id: 7,
        name: "when each bearer token was last used (written by the service, at most once a minute per token)",
        sql: `CREATE TABLE token_use (name TEXT PRIMARY KEY, generation TEXT NOT NULL, last_used_at TEXT NOT NULL);`,
    },
    {
        id: 8,
        name: "each sso: name bound to the one person (the provider's subject) who first signed in under it",
        sql: "ALTER TABLE people ADD COLUMN subject TEXT",
    },
];

/** Each database and the migrations it gets. */
export const MIGRATIONS = {
    /** `<data dir>/safety.sqlite`. */
    safety: DURABLE,
    /** `<data dir>/jobs.sqlite`. */
    jobs: [BASELINE] as readonly Migration[],
    /** AUTOMATION_DATABASE_URL: every store in one database. */
    postgres: [
        ...DURABLE,
        {
            id: 4,
            name: "fences: the jobs a failover interrupted while their instance may still be alive",
            sql: `CREATE TABLE automation.fences (job_id text PRIMARY KEY, stack text NOT NULL, instance text NOT NULL, host text, worker_pid integer, since timestamptz NOT NULL DEFAULT now(), released_at timestamptz, released_by text);
CREATE INDEX fences_held ON automation.fences (stack) WHERE released_at IS NULL;`,
        },
        {
            id: 5,
            name: "an instance's incarnation: one live process per instance id",
            sql: "ALTER TABLE automation.instances ADD COLUMN incarnation text",
        },
        {
            // Postgres only: on the embedded database one process owns the tokens file.
            id: 9,
            name: "bearer tokens in the shared database, so a token created or revoked on one instance counts on all",
            sql: `CREATE TABLE api_tokens (hash text PRIMARY KEY, name text NOT NULL, role text NOT NULL, created_at text NOT NULL, expires_at text, revoked_at text, source text NOT NULL);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;`,
        },
    ].sort((a, b) => a.id - b.id) as readonly Migration[],
} as const;

/** A database written by a newer service than this one. */
export class NewerSchema extends Error {
    constructor(where: string, newest: { id: number; name: string }, known: number) {
        super(
            `${where} was written by a newer version of the automation service (schema migration ${newest.id}, "${newest.name}"; this version knows up to ${known}). ` +
                "Refusing to start rather than misread it: run that newer version, or restore the backup taken before upgrading.",
        );
        this.name = "NewerSchema";
    }
}

interface Target {
    where: string;
    applied(): Promise<{ id: number; name: string }[]>;
    apply(m: Migration): Promise<void>;
}

function refuseNewer(target: Target, applied: { id: number; name: string }[], list: readonly Migration[]): void {
    const known = Math.max(...list.map((m) => m.id));
    const newest = applied.reduce<{ id: number; name: string } | undefined>((a, b) => (a && a.id > b.id ? a : b), undefined);
    if (newest && newest.id > known) throw new NewerSchema(target.where, newest, known);
}

/**
 * Two steps around the stores' own `open` (the baseline): `before` refuses a newer database
 * before anything is written to it; `after` applies and records what is missing, in order.
 */
async function run(target: Target, list: readonly Migration[], openBaseline: () => Promise<void>): Promise<number[]> {
    refuseNewer(target, await target.applied(), list);
    await openBaseline();
    const done = new Set((await target.applied()).map((m) => m.id));
    const applied: number[] = [];
    for (const m of list) {
        if (done.has(m.id)) continue;
        await target.apply(m);
        applied.push(m.id);
    }
    return applied;
}

/**
 * Migrates a database behind the Db door. SQLite: its process owns the data dir, and each
 * migration runs in one IMMEDIATE transaction. Postgres: call it under the schema lock, so
 * instances starting together apply each migration once; a migration and its record are one
 * multi-statement query, which Postgres runs as one transaction.
 */
export function migrateDb(db: Db, dialect: "sqlite" | "postgres", where: string, list: readonly Migration[], openBaseline: () => Promise<void>): Promise<number[]> {
    const table = dialect === "postgres" ? "automation.schema_migrations" : "schema_migrations";
    const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
    return run(
        {
            where,
            async applied() {
                await db.exec(
                    dialect === "postgres"
                        ? `CREATE SCHEMA IF NOT EXISTS automation; CREATE TABLE IF NOT EXISTS ${table} (id integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)`
                        : `CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
                );
                return (await db.query<{ id: number; name: string }>(`SELECT id, name FROM ${table}`)).map((r) => ({ id: Number(r.id), name: r.name }));
            },
            async apply(m) {
                const record = `INSERT INTO ${table} (id, name, applied_at) VALUES (${m.id}, ${quote(m.name)}, ${quote(new Date().toISOString())})`;
                const body = `${m.sql ? `${m.sql.trim().replace(/;?$/, ";")}\n` : ""}${record};`;
                if (dialect === "postgres") {
                    await db.exec(body);
                    return;
                }
                await db.exec(`BEGIN IMMEDIATE;\n${body}\nCOMMIT;`).catch(async (e: unknown) => {
                    await db.exec("ROLLBACK").catch(() => undefined);
                    throw e;
                });
            },
        },
        list,
        openBaseline,
    );
}
