import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { createRedactor } from "./redact";
import { z } from "zod";
import { Principal, ROLES, Role, hasRole } from "./roles";

/** One configured caller. Only the hash of the token is ever written anywhere. */
export interface StoredToken {
    name: string;
    role: Role;
    /** hex SHA-256 of the token; a slow KDF buys nothing because tokens carry 256 random bits. */
    hash: string;
    /** ISO time the token was created, for operators rotating tokens. */
    createdAt?: string;
}

const TokenFile = z.object({
    tokens: z.array(
        z.object({
            name: z.string().min(1).max(100),
            role: z.enum(ROLES),
            hash: z.string().regex(/^[0-9a-f]{64}$/, "hash must be 64 lowercase hex characters (SHA-256)"),
            createdAt: z.string().optional(),
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

/** Finds the holder of `token`, comparing every stored hash in constant time. */
export function findToken(tokens: readonly StoredToken[], token: string): StoredToken | undefined {
    const candidate = Buffer.from(hashToken(token), "hex");
    let found: StoredToken | undefined;
    for (const t of tokens) {
        const stored = Buffer.from(t.hash, "hex");
        // Visit every entry so the time taken does not reveal which one matched.
        if (stored.length === candidate.length && timingSafeEqual(stored, candidate)) found = t;
    }
    return found;
}

/** What the auth middleware needs: a token in, a principal (or nobody) out. */
export interface TokenVerifier {
    verify(token: string): Principal | undefined;
    /** Role of the token named `name` now, so the admission guard and approvals check who started or approved a stored job. */
    roleOf(name: string): Role | undefined;
}

/** A verifier over a fixed list, for tests and for embedding. */
export function staticTokens(tokens: readonly StoredToken[]): TokenVerifier {
    return {
        verify: (token) => {
            const t = findToken(tokens, token);
            return t ? { name: t.name, role: t.role, via: "token" } : undefined;
        },
        roleOf: (name) => tokens.find((t) => t.name === name)?.role,
    };
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

/**
 * Why `name` cannot name a token, or undefined. A name is who acted in every job, approval and
 * audit entry, so it must read back as written: letters, digits and `. _ @ -`, and nothing the
 * redactor would hide (a name shaped like a credential would be recorded as `[secret]`, and two
 * such names could not be told apart).
 */
export function tokenNameProblem(name: string): string | undefined {
    if (!TOKEN_NAME.test(name)) return "must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit (e.g. alice, ci-deploy)";
    if (createRedactor().redact(name) !== name) return "looks like a credential, which the service redacts wherever it appears; choose a plain name";
    return undefined;
}

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/**
 * Adds a token for `name` (replacing an earlier one of the same name, which rotates it) and
 * returns the plain token, which exists only in the caller's hands from then on. Written to a
 * temporary file and renamed so a running service never reads half a file.
 */
export function addToken(file: string, name: string, role: Role, now = new Date()): string {
    const problem = tokenNameProblem(name);
    if (problem) throw new Error(`\`name\` ${problem}; got "${name}"`);
    const token = generateToken();
    const tokens = readTokenFile(file).filter((t) => t.name !== name);
    tokens.push({ name, role, hash: hashToken(token), createdAt: now.toISOString() });
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ tokens }, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, file);
    return token;
}

/**
 * Verifier over the file named by AUTOMATION_TOKENS_FILE. The file is re-read when its inode, mtime or
 * size changes, so tokens created or revoked with `npm run token` apply without a restart; a
 * file that becomes invalid keeps the last good list rather than locking everyone out.
 */
export function fileTokens(file: string): TokenVerifier & { count(): number } {
    let tokens = readTokenFile(file);
    let seen = stamp(file);
    const refresh = () => {
        const now = stamp(file);
        if (now === seen) return;
        seen = now;
        try {
            tokens = readTokenFile(file);
        } catch {
            // keep the last good list; start-up validation reports a broken file loudly
        }
    };
    return {
        verify: (token) => {
            refresh();
            const t = findToken(tokens, token);
            return t ? { name: t.name, role: t.role, via: "token" } : undefined;
        },
        roleOf: (name) => {
            refresh();
            return tokens.find((t) => t.name === name)?.role;
        },
        count: () => {
            refresh();
            return tokens.length;
        },
    };
}

function stamp(file: string): string {
    try {
        const s = fs.statSync(file);
        return `${s.ino}:${s.mtimeMs}:${s.size}`;
    } catch {
        return "absent";
    }
}
