import { tokenExists } from "../errors";
import type { Pool } from "pg";
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
        const rows = await this.db.query<TokenRow>("SELECT name, role, hash, created_at, expires_at FROM api_tokens WHERE revoked_at IS NULL ORDER BY created_at, name");
        return rows.map(fromRow);
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
            await client.query("SELECT pg_advisory_xact_lock(hashtext('api_tokens:' || $1))", [name]);
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

    async revoke(name: string, at: Date = new Date()): Promise<StoredToken | undefined> {
        const [row] = await this.db.query<TokenRow>("UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING name, role, hash, created_at, expires_at", [name, at.toISOString()]);
        return row ? fromRow(row) : undefined;
    }

    /**
     * Copies the tokens of a tokens file that the database has never held (by hash) and whose
     * name has no live token here; answers the names copied. A token revoked in the database
     * stays revoked though the file still lists it; a name rotated here keeps its new token.
     */
    async importFrom(tokens: readonly StoredToken[], at: Date = new Date()): Promise<string[]> {
        const imported: string[] = [];
        for (const t of tokens) {
            const rows = await this.db.query<{ name: string }>(
                "INSERT INTO api_tokens (hash, name, role, created_at, expires_at, source) VALUES ($1, $2, $3, $4, $5, 'imported') ON CONFLICT DO NOTHING RETURNING name",
                [t.hash, t.name, t.role, t.createdAt ?? at.toISOString(), t.expiresAt ?? null],
            );
            if (rows.length) imported.push(t.name);
        }
        return imported;
    }
}

/** How often an instance re-reads the database's tokens: a token revoked on another instance is refused here within about this long. */
export const TOKEN_REFRESH_EVERY_MS = 1000;

/**
 * A verifier over the database's tokens. Requests are judged against an in-memory copy (the auth
 * middleware does not wait on the database), re-read every `everyMs` and at once after a change
 * made through `store`. A read that fails keeps the last good copy (and is reported once per
 * outage): an outage neither locks everyone out nor brings back a revoked token.
 */
export async function databaseTokens(
    store: Pick<DatabaseTokenStore, "list">,
    o: { now: () => Date; everyMs?: number; onError?: (err: unknown) => void },
): Promise<TokenVerifier & { refresh(): Promise<void>; close(): void }> {
    let current: readonly StoredToken[] = await store.list();
    let reading: Promise<void> | undefined;
    let failing = false;
    const refresh = () =>
        (reading ??= store
            .list()
            .then((tokens) => {
                current = tokens;
                failing = false;
            })
            .catch((err: unknown) => {
                // Once per outage, not once a second.
                if (!failing) o.onError?.(err);
                failing = true;
            })
            .finally(() => (reading = undefined)));
    const timer = setInterval(() => void refresh(), o.everyMs ?? TOKEN_REFRESH_EVERY_MS);
    timer.unref();
    return { ...verifierOver(() => current, o.now), refresh, close: () => clearInterval(timer) };
}
