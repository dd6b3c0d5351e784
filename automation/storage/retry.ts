// A database that goes away for a while (a Postgres failover, a restart, a full disk freed
// again) is waited out on the job path rather than turned into lost records or a crash: the
// writes that record what a job did are tried again with backoff until they land.
import type { Logger } from "../logger";

/** Connection and server-availability failures, after which the same statement may simply be sent again. */
const TRANSIENT_CODES = new Set([
    "ECONNREFUSED",
    "ECONNRESET",
    "EPIPE",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ENOTFOUND",
    "EAI_AGAIN",
    // Postgres: admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, connection exceptions
    "57P01",
    "57P02",
    "57P03",
    "53300",
    "08000",
    "08001",
    "08003",
    "08004",
    "08006",
    // SQLite: busy, locked, full, I/O
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_FULL",
    "SQLITE_IOERR",
]);

/** Whether `err` says the database was unreachable or out of room, not that the statement was wrong. */
export function isTransient(err: unknown): boolean {
    const e = err as { code?: unknown; errcode?: unknown; message?: unknown } | undefined;
    if (typeof e?.code === "string" && TRANSIENT_CODES.has(e.code)) return true;
    const message = typeof e?.message === "string" ? e.message : "";
    return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|database is locked|disk I\/O error|database or disk is full|ENOSPC/i.test(message);
}

export interface RetryOptions {
    logger: Logger;
    /** True once the service stops: then the last failure is thrown instead of waited out. */
    stopped?: () => boolean;
    /** @default 250 */
    firstDelayMs?: number;
    /** @default 5000 */
    maxDelayMs?: number;
}

/**
 * Runs `work` until it succeeds, waiting out transient failures with exponential backoff
 * (250 ms doubling to 5 s), logging the first failure and the recovery; any other failure,
 * or one after the service began to stop, is thrown at once.
 */
export async function untilItLands<T>(what: string, work: () => Promise<T>, o: RetryOptions): Promise<T> {
    let delay = o.firstDelayMs ?? 250;
    let failures = 0;
    for (;;) {
        try {
            const result = await work();
            if (failures) o.logger.info({ what, failures }, "the database answers again; recorded");
            return result;
        } catch (err) {
            if (!isTransient(err) || o.stopped?.()) throw err;
            if (failures++ === 0) o.logger.warn({ err, what }, "the database did not take a write; trying again until it does");
            await new Promise((r) => setTimeout(r, delay));
            delay = Math.min(delay * 2, o.maxDelayMs ?? 5000);
        }
    }
}
