import { AppError, invalidInput, tokenNotFound, unavailable } from "../errors";
import type { Role } from "./roles";
import { generationOf, type TokenUseRow } from "./tokenUse";
import { createToken, expiresInMs, expiresInProblem, readTokenFile, revokeToken, tokenInfo, tokenNameProblem, type StoredToken, type TokenInfo } from "./tokens";

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
    /** The file the service's verifier reads (AUTOMATION_TOKENS_FILE). */
    file: string;
    uses: { all(): Promise<TokenUseRow[]> };
    now: () => Date;
}

/**
 * Listing, creating and revoking tokens over the API: the same file and lock as `npm run token`,
 * so a token made either way works at the next request of every instance reading that file.
 */
export class TokenAdmin {
    constructor(private readonly deps: TokenAdminDeps) {}

    async list(): Promise<ListedToken[]> {
        return withLastUse(this.read(), await this.deps.uses.all(), this.deps.now());
    }

    /** A new token for `name`; its secret is in the answer and nowhere else. */
    create(input: { name: string; role: Role; expiresIn?: string; replace?: boolean }): { token: string; info: TokenInfo; replaced: boolean } {
        const problems: { field: string; problem: string }[] = [];
        const nameProblem = tokenNameProblem(input.name);
        if (nameProblem) problems.push({ field: "body.name", problem: nameProblem });
        const expiresProblem = input.expiresIn === undefined ? undefined : expiresInProblem(input.expiresIn);
        if (expiresProblem) problems.push({ field: "body.expiresIn", problem: expiresProblem });
        if (problems.length) throw invalidInput(`Invalid body: ${problems.map((p) => `${p.field} ${p.problem}`).join("; ")}.`, { problems });
        const now = this.deps.now();
        const expiresAt = input.expiresIn ? new Date(now.getTime() + expiresInMs(input.expiresIn)) : undefined;
        return this.writing(() => createToken(this.deps.file, input.name, input.role, { now, expiresAt, replace: input.replace ?? false }));
    }

    /** Removes the token named `name`: it is refused from the next request on, and its queued jobs do not start. */
    revoke(name: string): TokenInfo {
        const gone = this.writing(() => revokeToken(this.deps.file, name));
        if (!gone) throw tokenNotFound(name);
        return tokenInfo(gone, this.deps.now());
    }

    private read(): StoredToken[] {
        try {
            return readTokenFile(this.deps.file);
        } catch (e) {
            throw unavailable(`The tokens file cannot be read: ${(e as Error).message}.`, { file: this.deps.file });
        }
    }

    /** A file the service cannot write (a read-only mount, a full disk) is the service's condition, named; the request changed nothing. */
    private writing<T>(work: () => T): T {
        try {
            return work();
        } catch (e) {
            if (e instanceof AppError) throw e;
            throw unavailable(`The tokens file could not be changed (${(e as Error).message}); nothing was changed. Fix the file or its directory, or change tokens with npm run token where the file is writable.`, { file: this.deps.file });
        }
    }
}
