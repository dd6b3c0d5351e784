import { AppError, invalidInput, tokenNotFound, unavailable } from "../errors";
import type { Role } from "./roles";
import type { CreatedToken, TokenStore } from "./tokenStore";
import { generationOf, type TokenUseRow } from "./tokenUse";
import { expiresInMs, expiresInProblem, tokenInfo, tokenNameProblem, type StoredToken, type TokenInfo } from "./tokens";

/** A token as the list shows it: what it is, and when it was last used (null: never, as far as the store knows). */
export interface ListedToken extends TokenInfo {
    lastUsedAt: string | null;
}

/** Each token with its last use; a use recorded for an earlier token of the name (before a rotation) is not its own. */
export function withLastUse(tokens: readonly StoredToken[], uses: readonly TokenUseRow[], now: Date): ListedToken[] {
    const byName = new Map(uses.map((u) => [u.name, u]));
    return tokens.map((t) => {
        const use = byName.get(t.name);
        return { ...tokenInfo(t, now), lastUsedAt: use && use.generation === generationOf(t.hash) ? use.lastUsedAt : null };
    });
}

export interface TokenAdminDeps {
    /** Where the service's verifier reads tokens: the tokens file, or the shared database. */
    store: TokenStore;
    uses: { all(): Promise<TokenUseRow[]> };
    now: () => Date;
    /** After a change: this instance re-reads at once rather than at its next refresh. */
    changed?: () => Promise<void> | undefined;
}

/**
 * Listing, creating and revoking tokens over the API: the same store as `npm run token`, so a
 * token made either way works at the next request of every instance reading that store.
 */
export class TokenAdmin {
    constructor(private readonly deps: TokenAdminDeps) {}

    async list(): Promise<ListedToken[]> {
        return withLastUse(await this.read(), await this.deps.uses.all(), this.deps.now());
    }

    /** A new token for `name`; its secret is in the answer and nowhere else. */
    async create(input: { name: string; role: Role; expiresIn?: string; replace?: boolean }): Promise<CreatedToken> {
        const problems: { field: string; problem: string }[] = [];
        const nameProblem = tokenNameProblem(input.name);
        if (nameProblem) problems.push({ field: "body.name", problem: nameProblem });
        const expiresProblem = input.expiresIn === undefined ? undefined : expiresInProblem(input.expiresIn);
        if (expiresProblem) problems.push({ field: "body.expiresIn", problem: expiresProblem });
        if (problems.length) throw invalidInput(`Invalid body: ${problems.map((p) => `${p.field} ${p.problem}`).join("; ")}.`, { problems });
        const now = this.deps.now();
        const expiresAt = input.expiresIn ? new Date(now.getTime() + expiresInMs(input.expiresIn)) : undefined;
        return this.writing(() => this.deps.store.create(input.name, input.role, { now, expiresAt, replace: input.replace ?? false }));
    }

    /** Revokes the token named `name`: it is refused from the next request on, and its queued jobs do not start. */
    async revoke(name: string): Promise<TokenInfo> {
        const now = this.deps.now();
        const gone = await this.writing(() => this.deps.store.revoke(name, now));
        if (!gone) throw tokenNotFound(name);
        return tokenInfo(gone, now);
    }

    private async read(): Promise<StoredToken[]> {
        try {
            return await this.deps.store.list();
        } catch (e) {
            throw unavailable(`The tokens cannot be read from ${this.deps.store.where}: ${(e as Error).message}.`, { where: this.deps.store.where });
        }
    }

    /** A store the service cannot write (a read-only mount, a full disk, a database outage) is the service's condition, named; the request changed nothing. */
    private async writing<T>(work: () => Promise<T>): Promise<T> {
        let result: T;
        try {
            result = await work();
        } catch (e) {
            if (e instanceof AppError) throw e;
            throw unavailable(`The tokens could not be changed in ${this.deps.store.where} (${(e as Error).message}); nothing was changed. Fix it, or change tokens with npm run token where it is writable.`, { where: this.deps.store.where });
        }
        await this.deps.changed?.();
        return result;
    }
}
