import { AppError, tokenExists } from "../errors";
import { Client, type Pool, type PoolClient } from "pg";
import { answerWithin } from "../lib/within";
import { inTransaction, postgresDb, type Db } from "../storage/db";
import type { Role } from "./roles";
import { createToken, generateToken, hashToken, readTokenFile, revokeToken, tokenInfo, tokenNameProblem, type AddTokenOptions, type StoredToken, type TokenInfo, type TokenVerifier, verifierOver } from "./tokens";

/** A token just made: its secret (shown once), what is stored of it, and whether it rotated a token of that name. */
export interface CreatedToken {
    token: string;
    info: TokenInfo;
    replaced: boolean;
}

/**
 * Where the bearer tokens live: the tokens file (one instance, or instances sharing a volume) or
 * the shared database (AUTOMATION_DATABASE_URL), so that a token created or revoked on one
 * instance counts on all of them. `npm run token` and the API change tokens through it.
 */
export interface TokenStore {
    /** Where, in words, for messages: "the tokens file /data/tokens.json", "the database db:5432/automation". */
    readonly where: string;
    /** The tokens that are not revoked (expired ones included: the list shows them). */
    list(): Promise<StoredToken[]>;
    create(name: string, role: Role, options?: AddTokenOptions): Promise<CreatedToken>;
    /** What the token named `name` was, or undefined when no live token has that name. */
    revoke(name: string, at?: Date): Promise<StoredToken | undefined>;
}

/** The tokens file, edited under its lock (tokens.ts). */
export function fileTokenStore(file: string): TokenStore {
    return {
        where: `the tokens file ${file}`,
        list: async () => readTokenFile(file),
        create: async (name, role, options) => createToken(file, name, role, options),
        revoke: async (name) => revokeToken(file, name),
    };
}

interface TokenRow {
    name: string;
    role: Role;
    hash: string;
    created_at: string;
    expires_at: string | null;
}

const fromRow = (r: TokenRow): StoredToken => ({ name: r.name, role: r.role, hash: r.hash, createdAt: r.created_at, ...(r.expires_at ? { expiresAt: r.expires_at } : {}) });

const LIVE_TOKENS = "SELECT name, role, hash, created_at, expires_at FROM api_tokens WHERE revoked_at IS NULL ORDER BY created_at, name";

const isUniqueViolation = (e: unknown) => (e as { code?: string }).code === "23505";

/**
 * The tokens in the shared database: the table `api_tokens` (schema migration 9), one row per
 * token ever made, keyed by its hash. Revoking marks the row instead of deleting it, so a token
 * revoked here is never brought back by importing a tokens file that still lists it. At most
 * one live token per name (a partial unique index): two instances creating one name at once
 * cannot both succeed.
 */
export class DatabaseTokenStore implements TokenStore {
    private readonly db: Db;

    constructor(
        private readonly pool: Pool,
        readonly where: string,
    ) {
        this.db = postgresDb(pool);
    }

    async list(): Promise<StoredToken[]> {
        return (await this.db.query<TokenRow>(LIVE_TOKENS)).map(fromRow);
    }

    async create(name: string, role: Role, options: AddTokenOptions = {}): Promise<CreatedToken> {
        const problem = tokenNameProblem(name);
        if (problem) throw new Error(`\`name\` ${problem}; got "${name}"`);
        const now = options.now ?? new Date();
        const token = generateToken();
        const entry: StoredToken = { name, role, hash: hashToken(token), createdAt: now.toISOString(), ...(options.expiresAt ? { expiresAt: options.expiresAt.toISOString() } : {}) };
        const values = [entry.hash, name, role, entry.createdAt!, entry.expiresAt ?? null];
        // One transaction per name at a time (an advisory lock on the name): a rotation revokes the
        // name's live token and inserts the new one together, so no instance ever sees the name
        // with no token or with two, and rotations at once each rotate over the one before.
        return inTransaction(this.pool, async (client) => {
            await lockName(client, name);
            const gone = await client.query("UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL AND $3::boolean RETURNING hash", [name, entry.createdAt!, options.replace !== false]);
            try {
                await client.query("INSERT INTO api_tokens (hash, name, role, created_at, expires_at, source) VALUES ($1, $2, $3, $4, $5, 'created')", values);
            } catch (e) {
                if (isUniqueViolation(e) && options.replace === false) throw tokenExists(name);
                throw e;
            }
            return { token, info: tokenInfo(entry, now), replaced: (gone.rowCount ?? 0) > 0 };
        });
    }

    /** Under the name's lock, as a rotation: a revoke that meets one revokes the token it made. */
    async revoke(name: string, at: Date = new Date()): Promise<StoredToken | undefined> {
        return inTransaction(this.pool, async (client) => {
            await lockName(client, name);
            const { rows } = await client.query<TokenRow>("UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING name, role, hash, created_at, expires_at", [name, at.toISOString()]);
            return rows[0] ? fromRow(rows[0]) : undefined;
        });
    }

    /**
     * Seeds an empty table from a tokens file, once: the first instance to start on a new
     * database copies the file's tokens in (names the service would refuse are left out and
     * listed). Once the table holds any token, ever, the file is not read into it again, so a
     * token written to a file later (an operator without AUTOMATION_DATABASE_URL in their
     * shell) never goes live by a task being replaced; its names are answered as `ignored`.
     */
    async seedFrom(tokens: readonly StoredToken[], at: Date = new Date()): Promise<{ imported: string[]; refused: { name: string; problem: string }[]; ignored: string[] }> {
        const refused = tokens.flatMap((t) => {
            const problem = tokenNameProblem(t.name);
            return problem ? [{ name: t.name, problem }] : [];
        });
        const usable = tokens.filter((t) => !tokenNameProblem(t.name));
        return inTransaction(this.pool, async (client) => {
            // Instances starting together on one new database seed it once.
            await client.query("SELECT pg_advisory_xact_lock(hashtext('api_tokens:seed'))");
            const { rows } = await client.query<{ hash: string }>("SELECT hash FROM api_tokens");
            if (rows.length) {
                const held = new Set(rows.map((r) => r.hash));
                return { imported: [], refused, ignored: usable.filter((t) => !held.has(t.hash)).map((t) => t.name) };
            }
            const imported: string[] = [];
            for (const t of usable) {
                const r = await client.query(
                    "INSERT INTO api_tokens (hash, name, role, created_at, expires_at, source) VALUES ($1, $2, $3, $4, $5, 'imported') ON CONFLICT DO NOTHING",
                    [t.hash, t.name, t.role, t.createdAt ?? at.toISOString(), t.expiresAt ?? null],
                );
                if (r.rowCount) imported.push(t.name);
            }
            return { imported, refused, ignored: [] };
        });
    }
}

/** One change of a name's tokens at a time, across instances, until the transaction ends. */
async function lockName(client: PoolClient, name: string): Promise<void> {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('api_tokens:' || $1))", [name]);
}

/**
 * Reads the live tokens over one connection of its own, outside the pool: a read that does not
 * answer in `timeoutMs` destroys that connection and the next read opens a new one. A
 * connection that was dropped silently (a NAT or load balancer forgetting it, a failover) never
 * answers; through the pool, each such idle connection would hang one read in turn.
 */
export function tokenReader(url: string, timeoutMs = TOKEN_READ_TIMEOUT_MS): { list(): Promise<StoredToken[]>; close(): Promise<void> } {
    let client: Client | undefined;
    const drop = (c: Client) => {
        if (client === c) client = undefined;
        // end() waits for the server's goodbye, which a silent connection never sends.
        (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    };
    return {
        async list() {
            let c = client;
            try {
                if (!c) {
                    // A new connection takes several round trips (TLS, password exchange): on a slow
                    // link it needs more than a read does, or every reconnect would time out.
                    const fresh = new Client({ connectionString: url, keepAlive: true, connectionTimeoutMillis: TOKEN_CONNECT_TIMEOUT_MS });
                    fresh.on("error", () => drop(fresh));
                    c = client = fresh;
                    await answerWithin(fresh.connect(), TOKEN_CONNECT_TIMEOUT_MS, "the database (connecting)");
                }
                const { rows } = await answerWithin(c.query<TokenRow>(LIVE_TOKENS), timeoutMs, "the database");
                return rows.map(fromRow);
            } catch (e) {
                if (c) drop(c);
                throw e;
            }
        },
        async close() {
            if (client) drop(client);
        },
    };
}

/** How often an instance re-reads the database's tokens: a token revoked on another instance is refused here within about this long. */
export const TOKEN_REFRESH_EVERY_MS = 1000;
/** A read that has not answered in this long counts as failed, and the next one starts on another connection (a silently dropped one never answers). */
export const TOKEN_READ_TIMEOUT_MS = 2000;
/** How long the reader's new connection may take to open. */
export const TOKEN_CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long requests are judged on the last list read while the database cannot be read: an
 * outage of a few seconds (a failover) locks nobody out; past it a token is answered 503
 * STORE_UNAVAILABLE, not judged on a list in which a revoked token could still pass.
 */
export const TOKEN_STALE_AFTER_MS = 15_000;

export interface DatabaseTokensOptions {
    now: () => Date;
    /** A read failed after reads that worked: once per outage, not once a second. */
    onError?: (err: unknown) => void;
    /** The database answered again after failed reads. */
    onRecovered?: (downMs: number) => void;
}

/** What `/readyz` says of the tokens: ok while the list read is fresh enough to judge requests on. */
export interface TokenFreshness {
    ok: boolean;
    detail: string;
}

/** Every field of a stored token; a field added to StoredToken and not here fails the type check. */
const TOKEN_FIELDS = ["name", "role", "hash", "createdAt", "expiresAt"] as const satisfies readonly (keyof StoredToken)[];
const everyFieldCompared: Exclude<keyof StoredToken, (typeof TOKEN_FIELDS)[number]> extends never ? true : never = true;
void everyFieldCompared;

/** The same tokens, every field alike, in the same order (the read is ordered). */
export function sameTokens(a: readonly StoredToken[], b: readonly StoredToken[]): boolean {
    return a.length === b.length && a.every((t, i) => TOKEN_FIELDS.every((f) => t[f] === b[i][f]));
}

/**
 * A verifier over the database's tokens. Requests are judged against an in-memory copy (the auth
 * middleware does not wait on the database), re-read every second and, after a change made
 * through the service, read again before the change is answered. A read that fails or hangs
 * keeps the last good copy for 15 s; past that, tokens are answered 503 and
 * readiness fails, so a task cut off from its database (a dropped connection that never
 * answers) stops serving instead of honouring revoked tokens.
 */
export async function databaseTokens(
    store: Pick<DatabaseTokenStore, "list">,
    o: DatabaseTokensOptions,
): Promise<TokenVerifier & { refresh(): Promise<void>; freshness(): TokenFreshness; close(): void }> {
    // How old the list is, on a monotonic clock: a stepped wall clock must not make it fresh or stale.
    const clock = () => performance.now();
    // The reader bounds each step itself; this bound is for any other store's list.
    const timeoutMs = TOKEN_CONNECT_TIMEOUT_MS + TOKEN_READ_TIMEOUT_MS;
    let current: readonly StoredToken[] = await store.list();
    let readAt = clock();
    let failingSince: number | undefined;
    let reading: Promise<void> | undefined;
    const readOnce = async () => {
        try {
            const read = await answerWithin(store.list(), timeoutMs, "the database");
            // Read every second, mostly unchanged: the list read before is kept when the new one
            // holds the same tokens, and with it the hash index built on it (tokens.ts findToken;
            // rebuilding it took 37 ms at 50 000 tokens, 199 ms at 200 000).
            if (!sameTokens(current, read)) current = read;
            readAt = clock();
            if (failingSince !== undefined) o.onRecovered?.(readAt - failingSince);
            failingSince = undefined;
        } catch (err) {
            if (failingSince === undefined) o.onError?.(err);
            failingSince ??= clock();
        }
    };
    const refresh = () => (reading ??= readOnce().finally(() => (reading = undefined)));
    /** A read that starts now: one already under way may have begun before the change to see. */
    const readAfterChange = async () => {
        await reading;
        await refresh();
    };
    const timer = setInterval(() => void refresh(), TOKEN_REFRESH_EVERY_MS);
    timer.unref();
    const staleMs = () => clock() - readAt;
    const stale = () => staleMs() > TOKEN_STALE_AFTER_MS;
    const judged = verifierOver(() => current, o.now);
    const notJudged = () =>
        new AppError("STORE_UNAVAILABLE", 503, `The tokens could not be re-read from the database for ${Math.round(staleMs() / 1000)} s; a token is not judged on a list that old (a revoked one could pass). Retry in a few seconds.`, { retryAfterSeconds: 5 });
    return {
        verify: (token) => (stale() ? undefined : judged.verify(token)),
        roleOf: (name) => judged.roleOf(name),
        refusal: (token) => (stale() ? notJudged() : judged.refusal?.(token)),
        expiredAt: (name) => judged.expiredAt?.(name),
        refresh: readAfterChange,
        freshness: () =>
            stale()
                ? { ok: false, detail: `the tokens were last read from the database ${Math.round(staleMs() / 1000)} s ago; tokens are answered 503 until a read succeeds` }
                : { ok: true, detail: failingSince === undefined ? "tokens read from the database" : `re-reading the tokens fails; requests are judged on the list read ${Math.round(staleMs() / 1000)} s ago` },
        close: () => clearInterval(timer),
    };
}
