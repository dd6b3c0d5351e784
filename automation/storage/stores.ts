import * as fs from "node:fs";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Pool } from "pg";
import { ApprovalStore } from "../approvals/store";
import { AuditLog } from "../audit/fileLog";
import type { AuditTrail } from "../audit/trail";
import { PostgresAuditLog } from "../audit/postgresLog";
import { PostgresJobStore } from "../jobs/postgresStore";
import { SqliteJobStore } from "../jobs/sqliteStore";
import type { JobStore } from "../jobs/store";
import { FindingsStore } from "../recovery/findings";
import { DeliveryStore } from "../webhooks/deliveries";
import { IdempotencyKeys } from "../http/idempotency";
import { NotificationDeliveries } from "../notifications/deliveries";
import { ScheduleRuns } from "../schedules/runs";
import { StackLinks } from "../dependencies/store";
import { InstanceRegistry } from "../jobs/instances";
import { SharedPlans } from "../jobs/plans";
import { TokenUse } from "../security/tokenUse";
import { DatabaseTokenStore } from "../security/tokenStore";
import { SessionStore } from "../security/sessions";
import { answerWithin } from "../lib/within";
import { openPool, postgresDb, sqliteDb, withSchemaLock, type Db } from "./db";
import { migrateDb, MIGRATIONS, NewerSchema } from "./migrations";
import { probeWritable } from "./dataDir";
import { openSqlite } from "./sqlite";

/** Every durable record of the service, in one place: the embedded files or one shared Postgres. */
export interface Stores {
    /** "sqlite": files in the data dir, one process. "postgres": AUTOMATION_DATABASE_URL, any number of instances. */
    kind: "sqlite" | "postgres";
    /** The shared database's pool, for the queue, the instances and their messages; undefined with SQLite. */
    pool?: Pool;
    /** Update plans every instance can read; undefined with SQLite (the plans dir suffices). */
    plans?: SharedPlans;
    jobs: JobStore;
    approvals: ApprovalStore;
    deliveries: DeliveryStore;
    findings: FindingsStore;
    audit: AuditTrail;
    /** How each notification delivery went. */
    notifications: NotificationDeliveries;
    /** Each scheduled moment, claimed once across instances. */
    scheduleRuns: ScheduleRuns;
    /** The stacks' output baselines and StackReferences (dependencies). */
    links: StackLinks;
    /** Idempotency-Key of job-creating requests. */
    idempotency: IdempotencyKeys;
    /** When each bearer token was last used. */
    tokenUse: TokenUse;
    /** The bearer tokens, with a shared database; undefined with SQLite (the tokens file holds them). */
    tokens?: DatabaseTokenStore;
    /** People signed in through the identity provider: sign-ins under way, sessions, roles as last seen. */
    sessions: SessionStore;
    /** For /readyz: the data dir is writable, or the database answers. */
    check(): Promise<{ ok: boolean; detail?: string }>;
    close(): Promise<void>;
}

export interface StoresOptions {
    dataDir: string;
    /** postgres://…; without it, the embedded SQLite files and the audit file in `dataDir`. */
    databaseUrl?: string;
    redact: <T>(value: T) => T;
    now: () => Date;
    auditMaxBytes: number;
    /** An audit append to the shared database failed (the caller never waits for it). */
    onAuditError: (err: unknown) => void;
}

/** Opens the stores the configuration names, creating their schema where it is missing. */
export async function openStores(o: StoresOptions): Promise<Stores> {
    if (o.databaseUrl) {
        const pool = openPool(o.databaseUrl);
        try {
            const db = postgresDb(pool);
            const where = new URL(o.databaseUrl);
            const { jobs, audit, approvals, deliveries, findings, plans, notifications, scheduleRuns, links, idempotency, tokenUse, sessions } = await withSchemaLock(pool, async () => {
                let opened: Awaited<ReturnType<typeof openPostgresStores>> | undefined;
                await migrateDb(db, "postgres", `The database ${where.host}${where.pathname}`, MIGRATIONS.postgres, async () => {
                    opened = await openPostgresStores(pool, db, o);
                });
                return opened!;
            });
            return {
                kind: "postgres",
                pool,
                plans,
                tokens: new DatabaseTokenStore(pool, `the database ${where.host}${where.pathname}`),
                notifications,
                scheduleRuns,
                links,
                idempotency,
                tokenUse,
                sessions,
                jobs,
                approvals,
                deliveries,
                findings,
                audit,
                async check() {
                    // Bounded: a database that hangs (its processes stopped) must still give a 503.
                    try {
                        await answerWithin(pool.query("SELECT 1"), 2000, "the database");
                        return { ok: true, detail: `postgres ${new URL(o.databaseUrl!).host} answers` };
                    } catch (e) {
                        return { ok: false, detail: `the database does not answer: ${(e as Error).message}` };
                    }
                },
                async close() {
                    await audit.close();
                    await jobs.close();
                    await pool.end();
                },
            };
        } catch (e) {
            await pool.end().catch(() => undefined);
            if (e instanceof NewerSchema) throw e;
            const where = new URL(o.databaseUrl);
            throw new Error(`AUTOMATION_DATABASE_URL: the database ${where.host}${where.pathname} cannot be used (${(e as Error).message}); start it, or fix the URL or its user's rights`);
        }
    }
    const jobsFile = path.join(o.dataDir, "jobs.sqlite");
    const durableFile = path.join(o.dataDir, "safety.sqlite");
    // An empty or damaged store in a data dir that was used would start with an empty history
    // (or answer 500 to every read): refused, naming the file and the way back.
    const used = usedBefore(o.dataDir);
    for (const file of [jobsFile, durableFile]) checkStoreFile(file, used);
    const migrating = openSqlite(jobsFile);
    let jobs!: SqliteJobStore;
    try {
        await migrateDb(sqliteDb(migrating), "sqlite", jobsFile, MIGRATIONS.jobs, async () => {
            jobs = new SqliteJobStore(jobsFile);
        });
    } finally {
        migrating.close();
    }
    const durable = openSqlite(durableFile, { durable: true });
    const db = sqliteDb(durable);
    let small!: Awaited<ReturnType<typeof openSmallStores>>;
    try {
        small = await openDurableStores(db, "sqlite", durableFile, o.now);
    } catch (e) {
        await jobs.close();
        durable.close();
        throw e;
    }
    const audit = new AuditLog(path.join(o.dataDir, "audit.jsonl"), { redact: o.redact, now: o.now, maxBytes: o.auditMaxBytes });
    return {
        kind: "sqlite",
        jobs,
        ...small,
        audit,
        check: async () => probeWritable(o.dataDir),
        async close() {
            await jobs.close();
            audit.close();
            durable.close();
        },
    };
}

/**
 * The small stores behind the Db door, on `<data dir>/safety.sqlite` or on a Postgres database
 * of their own (their contract tests), migrated to this version's schema.
 */
export async function openDurableStores(db: Db, dialect: "sqlite" | "postgres", where: string, now?: () => Date): Promise<Awaited<ReturnType<typeof openSmallStores>>> {
    let small: Awaited<ReturnType<typeof openSmallStores>> | undefined;
    // The small stores' own migrations; the rest of the Postgres schema is openStores' business.
    await migrateDb(db, dialect, where, MIGRATIONS.safety, async () => {
        small = await openSmallStores(db, now);
    });
    return small!;
}

/** The small stores behind the Db door, the same on both databases. */
async function openSmallStores(db: Db, now?: () => Date) {
    return {
        notifications: await NotificationDeliveries.open(db),
        scheduleRuns: await ScheduleRuns.open(db),
        links: await StackLinks.open(db),
        approvals: await ApprovalStore.open(db),
        deliveries: await DeliveryStore.open(db),
        findings: await FindingsStore.open(db),
        idempotency: new IdempotencyKeys(db, now),
        tokenUse: new TokenUse(db),
        sessions: new SessionStore(db),
    };
}

async function openPostgresStores(pool: Pool, db: Db, o: StoresOptions) {
    const jobs = await PostgresJobStore.open(pool);
    const audit = await PostgresAuditLog.open(pool, { redact: o.redact, now: o.now, onError: o.onAuditError });
    await InstanceRegistry.createSchema(pool);
    const plans = await SharedPlans.open(pool);
    return { jobs, audit, plans, ...(await openSmallStores(db, o.now)) };
}

/** A store the service cannot start on, naming the file and what to do. */
export class StoreDamaged extends Error {
    constructor(file: string, what: string) {
        super(`${file} ${what}. Refusing to start on it: restore it from your backup of the data dir (docs/operations.md), or, to start over with an empty history, move it aside.`);
        this.name = "StoreDamaged";
    }
}

/** What shows the data dir held a service before: its audit log has entries, or the other store exists. */
function usedBefore(dataDir: string): string | undefined {
    const audit = path.join(dataDir, "audit.jsonl");
    if (fs.existsSync(audit) && fs.statSync(audit).size > 0) return "its audit log has entries";
    for (const f of ["jobs.sqlite", "safety.sqlite"]) {
        const file = path.join(dataDir, f);
        if (fs.existsSync(file) && fs.statSync(file).size > 0) return `${f} holds records`;
    }
    return undefined;
}

/**
 * Refuses a store file that is empty or missing where the data dir was used before, or that
 * SQLite finds damaged (`PRAGMA quick_check`, which reads every page: a truncated file, pages of
 * garbage). A new data dir passes: its stores are created.
 */
export function checkStoreFile(file: string, used: string | undefined): void {
    const exists = fs.existsSync(file);
    if ((!exists || fs.statSync(file).size === 0) && used) throw new StoreDamaged(file, `is ${exists ? "empty" : "missing"}, but this data dir was used before (${used})`);
    if (!exists || fs.statSync(file).size === 0) return;
    let db: DatabaseSync | undefined;
    try {
        db = new DatabaseSync(file, { readOnly: true });
        const rows = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
        const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
        if (problems.length) throw new StoreDamaged(file, `is damaged (${problems.slice(0, 3).join("; ")})`);
    } catch (e) {
        if (e instanceof StoreDamaged) throw e;
        throw new StoreDamaged(file, `cannot be read as a database (${(e as Error).message})`);
    } finally {
        db?.close();
    }
}
