// What sign-in through the identity provider keeps: sign-ins under way, sessions, and each
// person's role as last seen. Tables of schema migration 6 (storage/migrations.ts), on the
// embedded safety.sqlite or the shared Postgres alike; secrets are kept only as hashes.
import { createHash } from "node:crypto";
import type { Db } from "../storage/db";
import { isRole, type Role } from "./roles";

/** A sign-in between the redirect to the provider and its return. */
export interface PendingSignIn {
    state: string;
    nonce: string;
    codeVerifier: string;
    /** Where the person goes once signed in: a path of this service. */
    returnTo: string;
    createdAt: string;
}

export interface Session {
    idHash: string;
    /** `sso:<user>`: who acts, in jobs, approvals and the audit trail. */
    name: string;
    /** The provider's subject (stable id) of the person. */
    subject: string;
    /** The role the provider's claim gave at the last check; null: none. */
    role: Role | null;
    csrfToken: string;
    accessToken: string | null;
    /** When the access token expires (ISO); null: the provider did not say. */
    accessExpiresAt: string | null;
    refreshToken: string | null;
    idToken: string | null;
    createdAt: string;
    expiresAt: string;
    checkedAt: string;
}

interface SessionRow {
    id_hash: string;
    name: string;
    subject: string;
    role: string | null;
    csrf_token: string;
    access_token: string | null;
    refresh_token: string | null;
    id_token: string | null;
    created_at: string;
    expires_at: string;
    checked_at: string;
}

/** Only the hash of a cookie's secret is stored: a copy of the database signs nobody in. */
export const secretHash = (secret: string) => createHash("sha256").update(secret, "utf8").digest("hex");

/** The access token and its expiry travel in one column (the table predates neither). */
const packAccess = (token: string | null, expiresAt: string | null) => (token ? JSON.stringify({ token, expiresAt }) : null);
function unpackAccess(column: string | null): { accessToken: string | null; accessExpiresAt: string | null } {
    if (!column) return { accessToken: null, accessExpiresAt: null };
    const { token, expiresAt } = JSON.parse(column) as { token: string; expiresAt: string | null };
    return { accessToken: token, accessExpiresAt: expiresAt };
}

const fromRow = (r: SessionRow): Session => ({
    idHash: r.id_hash,
    name: r.name,
    subject: r.subject,
    role: isRole(r.role) ? r.role : null,
    csrfToken: r.csrf_token,
    ...unpackAccess(r.access_token),
    refreshToken: r.refresh_token,
    idToken: r.id_token,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    checkedAt: r.checked_at,
});

export class SessionStore {
    constructor(private readonly db: Db) {}

    async startSignIn(idHash: string, p: PendingSignIn): Promise<void> {
        await this.db.query("INSERT INTO sign_ins (id_hash, state, nonce, code_verifier, return_to, created_at) VALUES ($1, $2, $3, $4, $5, $6)", [idHash, p.state, p.nonce, p.codeVerifier, p.returnTo, p.createdAt]);
    }

    /** The sign-in under way, taken once: a second return with the same cookie finds nothing. */
    async takeSignIn(idHash: string): Promise<PendingSignIn | undefined> {
        const [row] = await this.db.query<{ state: string; nonce: string; code_verifier: string; return_to: string; created_at: string }>(
            "DELETE FROM sign_ins WHERE id_hash = $1 RETURNING state, nonce, code_verifier, return_to, created_at",
            [idHash],
        );
        return row && { state: row.state, nonce: row.nonce, codeVerifier: row.code_verifier, returnTo: row.return_to, createdAt: row.created_at };
    }

    async create(s: Session): Promise<void> {
        await this.db.query(
            "INSERT INTO sessions (id_hash, name, subject, role, csrf_token, access_token, refresh_token, id_token, created_at, expires_at, checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            [s.idHash, s.name, s.subject, s.role, s.csrfToken, packAccess(s.accessToken, s.accessExpiresAt), s.refreshToken, s.idToken, s.createdAt, s.expiresAt, s.checkedAt],
        );
    }

    async find(idHash: string): Promise<Session | undefined> {
        const [row] = await this.db.query<SessionRow>("SELECT * FROM sessions WHERE id_hash = $1", [idHash]);
        return row && fromRow(row);
    }

    /**
     * Records a check of the session with the provider, if nobody recorded one since `seenCheckedAt`
     * (another instance checking the same session at the same moment); false when someone did.
     */
    async recordCheck(idHash: string, seenCheckedAt: string, c: Pick<Session, "role" | "accessToken" | "accessExpiresAt" | "refreshToken" | "idToken" | "checkedAt">): Promise<boolean> {
        const rows = await this.db.query(
            "UPDATE sessions SET role = $3, access_token = $4, refresh_token = $5, id_token = $6, checked_at = $7 WHERE id_hash = $1 AND checked_at = $2 RETURNING id_hash",
            [idHash, seenCheckedAt, c.role, packAccess(c.accessToken, c.accessExpiresAt), c.refreshToken, c.idToken, c.checkedAt],
        );
        return rows.length === 1;
    }

    async end(idHash: string): Promise<Session | undefined> {
        const [row] = await this.db.query<SessionRow>("DELETE FROM sessions WHERE id_hash = $1 RETURNING *", [idHash]);
        return row && fromRow(row);
    }

    /** Ends every session of `name`; how many there were. */
    async endAllOf(name: string): Promise<number> {
        return (await this.db.query("DELETE FROM sessions WHERE name = $1 RETURNING id_hash", [name])).length;
    }

    /** Drops sessions past their end and sign-ins older than `signInsBefore`. */
    async prune(now: Date, signInsBefore: Date): Promise<void> {
        await this.db.query("DELETE FROM sessions WHERE expires_at < $1", [now.toISOString()]);
        await this.db.query("DELETE FROM sign_ins WHERE created_at < $1", [signInsBefore.toISOString()]);
    }

    /**
     * Binds `name` to the provider's `subject` the first time anyone signs in under it (a row
     * from before migration 8 is bound by its next sign-in); false when it is another subject's:
     * providers let people choose their username, or give up one another then takes.
     */
    async claimName(name: string, subject: string, at: Date): Promise<boolean> {
        await this.db.query(
            "INSERT INTO people (name, role, checked_at, subject) VALUES ($1, NULL, $2, $3) ON CONFLICT (name) DO UPDATE SET subject = excluded.subject WHERE people.subject IS NULL",
            [name, at.toISOString(), subject],
        );
        const [row] = await this.db.query<{ subject: string | null }>("SELECT subject FROM people WHERE name = $1", [name]);
        return row?.subject === subject;
    }

    /** The sessions of `name` not yet past their end, the most recently checked first. */
    async liveOf(name: string, now: Date): Promise<Session[]> {
        const rows = await this.db.query<SessionRow>("SELECT * FROM sessions WHERE name = $1 AND expires_at > $2 ORDER BY checked_at DESC", [name, now.toISOString()]);
        return rows.map(fromRow);
    }

    /** `name`'s role as last recorded by any instance; undefined for someone never seen. */
    async person(name: string): Promise<{ role: Role | null } | undefined> {
        const [row] = await this.db.query<{ role: string | null }>("SELECT role FROM people WHERE name = $1", [name]);
        return row && { role: isRole(row.role) ? row.role : null };
    }

    async recordPerson(name: string, role: Role | null, at: Date): Promise<void> {
        await this.db.query("INSERT INTO people (name, role, checked_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET role = excluded.role, checked_at = excluded.checked_at", [name, role, at.toISOString()]);
    }

    async people(): Promise<{ name: string; role: Role | null; checkedAt: string }[]> {
        const rows = await this.db.query<{ name: string; role: string | null; checked_at: string }>("SELECT name, role, checked_at FROM people ORDER BY name");
        return rows.map((r) => ({ name: r.name, role: isRole(r.role) ? r.role : null, checkedAt: r.checked_at }));
    }
}
