import type { Db } from "../storage/db";
import { hashToken, type TokenVerifier } from "./tokens";

/** When a token was last used, as the service recorded it. */
export interface TokenUseRow {
    name: string;
    /** Which of the name's tokens was used: the first 16 hex digits of its hash (a rotated token starts over). */
    generation: string;
    lastUsedAt: string;
}

/** The token a use is recorded under: its name and the start of its hash, never the hash itself. */
export const generationOf = (hash: string): string => hash.slice(0, 16);

/**
 * When each token was last used, in the service's durable store (the table `token_use`, schema
 * migration 7 of both databases), so that the tokens file is written only when tokens change,
 * never on a request. One row per name; a row of an earlier token of the name (before a
 * rotation) is not that of the current one.
 */
export class TokenUse {
    constructor(private readonly db: Db) {}

    /** Records a use at `at`; never moves a token's last use back. */
    async record(name: string, generation: string, at: Date): Promise<void> {
        await this.db.query(
            `INSERT INTO token_use (name, generation, last_used_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET generation = excluded.generation, last_used_at = excluded.last_used_at
             WHERE token_use.generation <> excluded.generation OR token_use.last_used_at < excluded.last_used_at`,
            [name, generation, at.toISOString()],
        );
    }

    async all(): Promise<TokenUseRow[]> {
        const rows = await this.db.query<{ name: string; generation: string; last_used_at: string }>("SELECT name, generation, last_used_at FROM token_use");
        return rows.map((r) => ({ name: r.name, generation: r.generation, lastUsedAt: r.last_used_at }));
    }
}

/** How often at most a token's use is written: a busy CI token costs one write a minute, not one a request. */
export const TOKEN_USE_EVERY_MS = 60_000;

/**
 * `inner`, recording each accepted token's use at most once every `everyMs` per token. The write
 * is off the request's path: a store that cannot be written costs a warning, not the request, and
 * is tried again only after `everyMs` (an outage must not add a write to every request).
 */
export function recordingUse(
    inner: TokenVerifier,
    use: Pick<TokenUse, "record">,
    o: { now: () => Date; onError: (err: unknown, name: string) => void; everyMs?: number },
): TokenVerifier {
    const every = o.everyMs ?? TOKEN_USE_EVERY_MS;
    const written = new Map<string, number>();
    return {
        verify(token) {
            const principal = inner.verify(token);
            if (!principal) return principal;
            const generation = generationOf(hashToken(token));
            const key = `${principal.name}\n${generation}`;
            const at = o.now();
            const last = written.get(key);
            if (last === undefined || at.getTime() - last >= every) {
                written.set(key, at.getTime());
                use.record(principal.name, generation, at).catch((err: unknown) => o.onError(err, principal.name));
            }
            return principal;
        },
        roleOf: (name) => inner.roleOf(name),
        ...(inner.refusal ? { refusal: (token: string) => inner.refusal!(token) } : {}),
        ...(inner.expiredAt ? { expiredAt: (name: string) => inner.expiredAt!(name) } : {}),
    };
}
