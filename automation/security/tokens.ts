import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { z } from "zod";
import { AppError, tokenExists, tokenExpired } from "../errors";
import { createRedactor } from "./redact";
import { Principal, ROLES, Role, hasRole } from "./roles";
import { makeDirs } from "../lib/dirs";

/** One configured caller. Only the hash of the token is ever written anywhere. */
export interface StoredToken {
    name: string;
    role: Role;
    /** hex SHA-256 of the token; a slow KDF buys nothing because tokens carry 256 random bits. */
    hash: string;
    /** ISO time the token was created, for operators rotating tokens. */
    createdAt?: string;
    /** ISO time from which the token is refused (401 TOKEN_EXPIRED); none: it never expires. */
    expiresAt?: string;
}

/** What anyone may see of a token: never its secret or its hash. */
export interface TokenInfo {
    name: string;
    role: Role;
    createdAt?: string;
    expiresAt?: string;
    expired: boolean;
}

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO time such as 2026-01-31T00:00:00.000Z");

const TokenFile = z.object({
    tokens: z.array(
        z.object({
            name: z.string().min(1).max(100),
            role: z.enum(ROLES),
            hash: z.string().regex(/^[0-9a-f]{64}$/, "hash must be 64 lowercase hex characters (SHA-256)"),
            createdAt: z.string().optional(),
            expiresAt: isoTime.optional(),
        }),
    ),
});

export function hashToken(token: string): string {
    return createHash("sha256").update(token, "utf8").digest("hex");
}

/** 256-bit random token; the `tbk_` prefix lets secret scanners and the redactor recognise it. */
export function generateToken(): string {
    return `tbk_${randomBytes(32).toString("base64url")}`;
}

/** Same ladder as `hasRole`; kept under this name for callers thinking in tokens. */
export const roleAtLeast = hasRole;

/**
 * Finds the holder of `token` by the SHA-256 of it, in an index of the list (built once per list:
 * the stores replace their list, never change it; the database's is re-read each second). Looking a hash up, rather than comparing it
 * with every stored one in constant time, tells a timing attacker at most how a guess's hash
 * begins, which brings no closer a secret of 256 random bits; and it costs the same at 200 000
 * tokens as at 5 (a scan took 77 ms a request there).
 */
export function findToken(tokens: readonly StoredToken[], token: string): StoredToken | undefined {
    let index = indexes.get(tokens);
    if (!index) {
        // The hex digits a stored hash begins with, as reading it as hex always took them
        // (a hash pasted with `sha256sum`'s trailing "  -" still matches).
        index = new Map(tokens.map((t) => [/^[0-9a-f]*/i.exec(t.hash)![0].toLowerCase(), t]));
        indexes.set(tokens, index);
    }
    return index.get(hashToken(token));
}
const indexes = new WeakMap<readonly StoredToken[], Map<string, StoredToken>>();

/** True once `t` has reached its expiry; a token without one never expires. */
export function isExpired(t: Pick<StoredToken, "expiresAt">, now: Date): boolean {
    return t.expiresAt !== undefined && Date.parse(t.expiresAt) <= now.getTime();
}

export function tokenInfo(t: StoredToken, now: Date): TokenInfo {
    return {
        name: t.name,
        role: t.role,
        ...(t.createdAt ? { createdAt: t.createdAt } : {}),
        ...(t.expiresAt ? { expiresAt: t.expiresAt } : {}),
        expired: isExpired(t, now),
    };
}

/** What the auth middleware needs: a token in, a principal (or nobody) out. */
export interface TokenVerifier {
    /** The holder of a token that is known and not expired. */
    verify(token: string): Principal | undefined;
    /** Role of the token named `name` now, so the admission guard and approvals check who started or approved a stored job; undefined once it is revoked or expired. */
    roleOf(name: string): Role | undefined;
    /** Why a token `verify` refuses is refused, when there is more to say than "unknown" (it expired, and how to rotate it). */
    refusal?(token: string): AppError | undefined;
    /** When the token named `name` expired, if it has; its queued jobs then say so. */
    expiredAt?(name: string): string | undefined;
}

/** The verifier over whatever `current` lists at each call, judged at `now`. */
export function verifierOver(current: () => readonly StoredToken[], now: () => Date): TokenVerifier {
    const live = (t: StoredToken | undefined) => (t && !isExpired(t, now()) ? t : undefined);
    return {
        verify: (token) => {
            const t = live(findToken(current(), token));
            return t ? { name: t.name, role: t.role, via: "token" } : undefined;
        },
        roleOf: (name) => live(current().find((t) => t.name === name))?.role,
        refusal: (token) => {
            const t = findToken(current(), token);
            return t?.expiresAt && isExpired(t, now()) ? tokenExpired(t.name, t.role, t.expiresAt) : undefined;
        },
        expiredAt: (name) => {
            const t = current().find((x) => x.name === name);
            return t?.expiresAt && isExpired(t, now()) ? t.expiresAt : undefined;
        },
    };
}

/** A verifier over a fixed list, for tests and for embedding. */
export function staticTokens(tokens: readonly StoredToken[], now: () => Date = () => new Date()): TokenVerifier {
    // A copy: findToken indexes a list once, so a caller's later edits of theirs must not reach it.
    const fixed = Object.freeze(tokens.map((t) => Object.freeze({ ...t })));
    return verifierOver(() => fixed, now);
}

/** Parses a token file's text; the error names the file and the offending entry. */
export function parseTokenFile(text: string, file = "tokens file"): StoredToken[] {
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (e) {
        throw new Error(`${file} is not valid JSON (${(e as Error).message}); recreate it with npm run token`);
    }
    const parsed = TokenFile.safeParse(json);
    if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}; expected {"tokens":[{"name","role","hash"}]}`);
    }
    return parsed.data.tokens;
}

export function readTokenFile(file: string): StoredToken[] {
    if (!fs.existsSync(file)) return [];
    return parseTokenFile(fs.readFileSync(file, "utf8"), file);
}

/** The prefix of the actors people signed in through OpenID Connect act as; never a token's. */
export const SSO_PREFIX = "sso:";

/**
 * Why `name` cannot name a token, or undefined. A name is who acted in every job, approval and
 * audit entry, so it must read back as written: letters, digits and `. _ @ -`, and nothing the
 * redactor would hide (a name shaped like a credential would be recorded as `[secret]`, and two
 * such names could not be told apart). `sso:` names belong to people signed in through OpenID
 * Connect: a token under one would act as that person.
 */
export function tokenNameProblem(name: string): string | undefined {
    if (name.toLowerCase().startsWith(SSO_PREFIX)) return `starts with "${SSO_PREFIX}", which is reserved for people signed in through OpenID Connect; a token for a machine needs a name of its own (e.g. ci-deploy)`;
    if (!TOKEN_NAME.test(name)) return "must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit (e.g. alice, ci-deploy)";
    if (createRedactor().redact(name) !== name) return "looks like a credential, which the service redacts wherever it appears; choose a plain name";
    return undefined;
}

export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** The longest lifetime a token may be given: past it, "expires" means nothing to anyone reading the list. */
export const MAX_EXPIRES_IN_DAYS = 3650;
export const EXPIRES_IN = /^([1-9][0-9]{0,5})([dh])$/;

/** Why `text` is not a token lifetime (whole days or hours: 30d, 12h), or undefined. */
export function expiresInProblem(text: string): string | undefined {
    const m = EXPIRES_IN.exec(text);
    const problem = `must be a whole number of days or hours, such as 30d or 12h (at most ${MAX_EXPIRES_IN_DAYS}d); got "${text}"`;
    if (!m) return problem;
    const days = m[2] === "d" ? Number(m[1]) : Number(m[1]) / 24;
    return days > MAX_EXPIRES_IN_DAYS ? problem : undefined;
}

/** A token lifetime (`30d`, `12h`) in milliseconds; throws naming the problem. */
export function expiresInMs(text: string): number {
    const problem = expiresInProblem(text);
    if (problem) throw new Error(problem);
    const [, n, unit] = EXPIRES_IN.exec(text)!;
    return Number(n) * (unit === "d" ? 86_400_000 : 3_600_000);
}

/**
 * Runs `work` holding the token file's lock: an exclusive SQLite lock on `<file>.lock` (an fcntl
 * lock on Linux), which the kernel drops when its process ends however it ends, so a crashed
 * writer never leaves a lock to clear. The CLI and every instance of the service edit the file
 * through it, so two edits at once both land instead of the second overwriting the first.
 * Waits up to 10 s for another writer.
 */
function withFileLock<T>(file: string, work: () => T): T {
    makeDirs(path.dirname(path.resolve(file)), 0o700);
    const lockFile = `${file}.lock`;
    const db = new DatabaseSync(lockFile);
    try {
        fs.chmodSync(lockFile, 0o600);
        db.exec("PRAGMA busy_timeout = 10000");
        try {
            db.exec("BEGIN EXCLUSIVE");
        } catch (e) {
            throw new Error(`${file} is being changed by another process (its lock ${lockFile} was held for 10 s); retry (${(e as Error).message})`);
        }
        try {
            return work();
        } finally {
            db.exec("ROLLBACK");
        }
    } finally {
        db.close();
    }
}

/** Writes `tokens` to a temporary file, flushed, then renamed over `file`: a reader never sees half a file. */
function writeTokenFile(file: string, tokens: readonly StoredToken[]): void {
    const tmp = `${file}.${process.pid}.tmp`;
    try {
        const fd = fs.openSync(tmp, "w", 0o600);
        try {
            fs.writeFileSync(fd, JSON.stringify({ tokens }, null, 2) + "\n");
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.renameSync(tmp, file);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
    }
}

/** Reads the file, applies `change` and writes the result, all under the file's lock. */
function changeTokenFile<T>(file: string, change: (tokens: StoredToken[]) => { tokens?: StoredToken[]; result: T }): T {
    return withFileLock(file, () => {
        const { tokens, result } = change(readTokenFile(file));
        if (tokens) writeTokenFile(file, tokens);
        return result;
    });
}

export interface AddTokenOptions {
    /** @default the current time */
    now?: Date;
    /** When the token stops working. @default never */
    expiresAt?: Date;
    /** Replace a token of the same name (rotate it); false refuses with 409 TOKEN_EXISTS. @default true */
    replace?: boolean;
}

/**
 * Adds a token for `name` (replacing an earlier one of the same name, which rotates it) and
 * returns the plain token, which exists only in the caller's hands from then on.
 */
export function addToken(file: string, name: string, role: Role, options: AddTokenOptions = {}): string {
    return createToken(file, name, role, options).token;
}

/** `addToken`, also answering what was stored (never the hash) and whether it replaced a token. */
export function createToken(file: string, name: string, role: Role, options: AddTokenOptions = {}): { token: string; info: TokenInfo; replaced: boolean } {
    const problem = tokenNameProblem(name);
    if (problem) throw new Error(`\`name\` ${problem}; got "${name}"`);
    const now = options.now ?? new Date();
    const token = generateToken();
    const entry: StoredToken = { name, role, hash: hashToken(token), createdAt: now.toISOString(), ...(options.expiresAt ? { expiresAt: options.expiresAt.toISOString() } : {}) };
    const replaced = changeTokenFile(file, (tokens) => {
        const replaced = tokens.some((t) => t.name === name);
        if (replaced && options.replace === false) throw tokenExists(name);
        return { tokens: [...tokens.filter((t) => t.name !== name), entry], result: replaced };
    });
    return { token, info: tokenInfo(entry, now), replaced };
}

/** Removes the token named `name`; answers what it was, or undefined when there was none. */
export function revokeToken(file: string, name: string): StoredToken | undefined {
    return changeTokenFile(file, (tokens) => {
        const gone = tokens.find((t) => t.name === name);
        return gone ? { tokens: tokens.filter((t) => t !== gone), result: gone } : { result: undefined };
    });
}

/**
 * Verifier over the file named by AUTOMATION_TOKENS_FILE. The file is re-read when its inode, mtime or
 * size changes, so tokens created or revoked with `npm run token` apply without a restart; a
 * file that becomes invalid keeps the last good list rather than locking everyone out.
 * Expiry is judged at each request by `now` (the service's clock).
 */
export function fileTokens(file: string, now: () => Date = () => new Date()): TokenVerifier & { count(): number; list(): StoredToken[] } {
    let tokens = readTokenFile(file);
    let seen = fileStamp(file);
    const refresh = () => {
        const current = fileStamp(file);
        if (current === seen) return tokens;
        seen = current;
        try {
            tokens = readTokenFile(file);
        } catch {
            // keep the last good list; start-up validation reports a broken file loudly
        }
        return tokens;
    };
    return {
        ...verifierOver(refresh, now),
        count: () => refresh().length,
        list: () => [...refresh()],
    };
}

/** What changes when a file is replaced or rewritten (inode, mtime, size); "absent" when it is gone. Re-read files key on it. */
export function fileStamp(file: string): string {
    try {
        const s = fs.statSync(file);
        return `${s.ino}:${s.mtimeMs}:${s.size}`;
    } catch {
        return "absent";
    }
}
