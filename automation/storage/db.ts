import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { Pool, type PoolClient } from "pg";

/**
 * The one SQL door of the small durable stores (approvals, webhook deliveries, recovery
 * findings): the same statements run on the embedded SQLite file and on a shared Postgres, so
 * each store is written once. Statements use `$1, $2, ...` placeholders and the SQL both
 * understand (`INSERT ... ON CONFLICT`, `RETURNING`); values are text and numbers only.
 */
export interface Db {
    query<T extends object>(sql: string, params?: readonly (string | number | null)[]): Promise<T[]>;
    /** Runs statements without results (schema), one after another. */
    exec(sql: string): Promise<void>;
}

/** A SQLite database behind the Db door ($N placeholders become SQLite's ?N). */
export function sqliteDb(database: DatabaseSync): Db {
    const toSqlite = (sql: string) => sql.replace(/\$(\d+)/g, "?$1");
    return {
        async query<T extends object>(sql: string, params: readonly (string | number | null)[] = []): Promise<T[]> {
            const statement = database.prepare(toSqlite(sql));
            const values = params as SQLInputValue[];
            if (/^\s*(SELECT|WITH)\b/i.test(sql) || /\bRETURNING\b/i.test(sql)) return statement.all(...values) as T[];
            statement.run(...values);
            return [];
        },
        async exec(sql: string): Promise<void> {
            database.exec(sql);
        },
    };
}

/** A Postgres pool behind the Db door. */
export function postgresDb(pool: Pool): Db {
    return {
        async query<T extends object>(sql: string, params: readonly (string | number | null)[] = []): Promise<T[]> {
            return (await pool.query(sql, params as unknown[])).rows as T[];
        },
        async exec(sql: string): Promise<void> {
            await pool.query(sql);
        },
    };
}

/** A pool on `url`; an idle connection the server drops is replaced, never fatal to the process. */
export function openPool(url: string, max = 10): Pool {
    // A connection that cannot be made in 5 s is an error, not a request that hangs for ever.
    const pool = new Pool({ connectionString: url, max, connectionTimeoutMillis: 5000 });
    pool.on("error", () => undefined);
    return pool;
}

/** Runs `work` in one transaction on one connection of `pool`: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    // A connection cut while checked out (the server restarting, a failover) emits "error" on
    // the client, which would be an uncaught exception without a listener; the query rejects too.
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    client.on("error", onError);
    try {
        await client.query("BEGIN");
        const result = await work(client);
        await client.query("COMMIT");
        return result;
    } catch (e) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw e;
    } finally {
        client.off("error", onError);
        // A broken connection goes, not back to the pool.
        client.release(broken);
    }
}

/**
 * Runs `work` while holding the service's schema lock: instances starting together against an
 * empty database create tables one at a time (CREATE ... IF NOT EXISTS races otherwise).
 */
export async function withSchemaLock<T>(pool: Pool, work: () => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    client.on("error", onError);
    try {
        await client.query("SELECT pg_advisory_lock(7130000)");
        return await work();
    } finally {
        await client.query("SELECT pg_advisory_unlock(7130000)").catch(() => undefined);
        client.off("error", onError);
        client.release(broken);
    }
}
