// People signing in through the identity provider: the sign-in, the session it leaves in an
// httpOnly cookie, each request's principal and CSRF check, and signing out. Machines keep
// bearer tokens (tokens.ts); both end in the same Principal, so every route and the admission
// guard treat them alike.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { AuditTrail } from "../audit/trail";
import { csrfTokenInvalid, isAppError, noRole, sessionEnded, signInFailed } from "../errors";
import type { Logger } from "../logger";
import { ProviderRefused, type Claims, type OidcRelyingParty, type ProviderAnswer } from "./oidc";
import { roleFor, type RoleMap } from "./roleMap";
import type { Principal, Role } from "./roles";
import { secretHash, type Session, type SessionStore } from "./sessions";

/** `__Host-`: the browser keeps it only if Secure, for this host alone, on every path. */
export const SESSION_COOKIE = "__Host-automation-session";
/** Binds a sign-in's return to the browser that started it (no one else's sign-in can land here). */
export const SIGN_IN_COOKIE = "__Host-automation-sign-in";
/** The header a request made with the session cookie must repeat the session's CSRF token in. */
export const CSRF_HEADER = "x-csrf-token";
/** A sign-in not finished within this long is forgotten. */
export const SIGN_IN_TTL_MS = 10 * 60_000;

/** Names of people are `sso:` and what the provider calls them, readable in the audit trail. */
const READABLE = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/;

/** The name someone acts under: their username, else email, else subject; `sso:` keeps them apart from tokens. */
export function personName(claims: Claims): string {
    for (const candidate of [claims.preferred_username, claims.email, claims.sub]) {
        if (typeof candidate === "string" && READABLE.test(candidate)) return `sso:${candidate}`;
    }
    return `sso:sub-${secretHash(String(claims.sub)).slice(0, 16)}`;
}

/** A path of this service to return to after signing in; anything else (another site, `//host`) goes to `/`. */
export function safeReturnTo(raw: unknown): string {
    if (typeof raw !== "string" || !raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\") || /[\u0000-\u001f\\]/.test(raw) || raw.length > 1000) return "/";
    return raw;
}

const newSecret = () => randomBytes(32).toString("base64url");

export interface SignInDeps {
    relyingParty: OidcRelyingParty;
    sessions: SessionStore;
    roleMap: () => RoleMap;
    audit: AuditTrail;
    logger: Logger;
    now: () => Date;
}

/** What a request made with a session cookie resolves to. */
export interface SessionCaller {
    principal: Principal;
    csrfToken: string;
}

export class SignInService {
    /** Each person's role as last seen, for the guard and approvals asking about someone not calling now. */
    private readonly roles = new Map<string, Role | null>();
    /** One check with the provider per session at a time, however many requests arrive together. */
    private readonly checking = new Map<string, Promise<Session>>();

    constructor(private readonly deps: SignInDeps) {}

    /** Loads the roles people had when last seen (another instance, or before a restart). */
    async load(): Promise<void> {
        for (const p of await this.deps.sessions.people()) this.roles.set(p.name, p.role);
    }

    get settings() {
        return this.deps.relyingParty.settings;
    }

    /** The origin people reach the service at: changes made with a session cookie must come from it. */
    get publicOrigin(): string {
        return new URL(this.settings.redirectUrl).origin;
    }

    /** The role `name` (an `sso:` person) held when the provider was last asked; undefined for no role or no such person. */
    roleOf(name: string): Role | undefined {
        return this.roles.get(name) ?? undefined;
    }

    /** Starts a sign-in: the provider's URL, and the secret of the cookie that must come back with the person. */
    async begin(returnTo: unknown): Promise<{ cookie: string; url: string }> {
        const { url, state, nonce, codeVerifier } = await this.deps.relyingParty.begin();
        const cookie = newSecret();
        await this.deps.sessions.startSignIn(secretHash(cookie), { state, nonce, codeVerifier, returnTo: safeReturnTo(returnTo), createdAt: this.deps.now().toISOString() });
        return { cookie, url: url.href };
    }

    /** Ends a sign-in on the provider's return: a new session (a new secret, whatever came before) and where to go. */
    async finish(signInCookie: string | undefined, callbackUrl: URL, from: string): Promise<{ sessionSecret: string; returnTo: string; name: string; role: Role }> {
        const refuse = (why: string, name = "unknown") => {
            this.deps.audit.append({ actor: { name, via: "session" }, action: "session.sign-in", from, result: "denied", details: { reason: why } });
            return signInFailed(why);
        };
        if (!signInCookie) throw refuse("this browser did not start a sign-in here (its sign-in cookie is missing: cookies blocked, or a link from someone else)");
        const pending = await this.deps.sessions.takeSignIn(secretHash(signInCookie));
        if (!pending) throw refuse("this sign-in is unknown or was already used");
        if (this.deps.now().getTime() - Date.parse(pending.createdAt) > SIGN_IN_TTL_MS) throw refuse(`the sign-in took longer than ${SIGN_IN_TTL_MS / 60_000} minutes`);
        let answer: ProviderAnswer;
        try {
            answer = await this.deps.relyingParty.finish(callbackUrl, pending);
        } catch (e) {
            if (e instanceof ProviderRefused) throw refuse(`the identity provider's answer was refused (${e.message})`);
            throw e;
        }
        const name = personName(answer.claims);
        // The name comes from claims the person may choose (a username, an email): it stays the
        // first subject's, or someone could act, approve and be audited as another.
        if (!(await this.deps.sessions.claimName(name, answer.claims.sub, this.deps.now()))) {
            throw refuse(`the identity provider calls subject ${answer.claims.sub} ${name}, a name another person (another subject) already signs in under here; one of the two must be renamed at the provider`, name);
        }
        const role = roleFor(answer.claims[this.settings.rolesClaim], this.deps.roleMap()) ?? null;
        await this.deps.sessions.recordPerson(name, role, this.deps.now());
        this.roles.set(name, role);
        if (!role) {
            const why = `${name} is known to the identity provider, but none of their ${this.settings.rolesClaim} (${groupsOf(answer.claims[this.settings.rolesClaim])}) is given a role in ${this.settings.roleMapFile}; ask an admin of this service`;
            refuse(why, name);
            throw noRole(`Signed in, but no role here: ${why}.`);
        }
        const sessionSecret = newSecret();
        const now = this.deps.now();
        await this.deps.sessions.create({
            idHash: secretHash(sessionSecret),
            name,
            subject: answer.claims.sub,
            role,
            csrfToken: newSecret(),
            accessToken: answer.accessToken,
            accessExpiresAt: answer.accessExpiresAt,
            refreshToken: answer.refreshToken,
            idToken: answer.idToken,
            createdAt: now.toISOString(),
            expiresAt: new Date(now.getTime() + this.settings.sessionTtlMs).toISOString(),
            checkedAt: now.toISOString(),
        });
        this.deps.audit.append({ actor: { name, role, via: "session" }, action: "session.sign-in", from, result: "ok", details: { subject: answer.claims.sub, issuer: this.settings.issuer.origin } });
        return { sessionSecret, returnTo: pending.returnTo, name, role };
    }

    /**
     * The caller behind a session cookie. Its groups are asked of the provider again when the
     * last check is older than AUTOMATION_OIDC_RECHECK_MS, and always before a change (`mutating`):
     * someone removed from a group reads for that long at most and changes nothing after.
     */
    async resolve(secret: string, mutating: boolean): Promise<SessionCaller> {
        const idHash = secretHash(secret);
        let session = await this.deps.sessions.find(idHash);
        if (!session) throw sessionEnded("The session is unknown or has ended");
        const now = this.deps.now();
        if (Date.parse(session.expiresAt) <= now.getTime()) {
            await this.deps.sessions.end(idHash);
            throw sessionEnded(`The session of ${session.name} ended at ${session.expiresAt} (sessions last ${Math.round(this.settings.sessionTtlMs / 60_000)} min)`);
        }
        if (mutating || now.getTime() - Date.parse(session.checkedAt) >= this.settings.recheckMs) session = await this.recheck(session);
        if (!session.role) {
            throw noRole(`${session.name} is signed in, but the identity provider no longer puts them in a group given a role here (${this.settings.roleMapFile}); ask an admin of this service.`);
        }
        return { principal: { name: session.name, role: session.role, via: "session" }, csrfToken: session.csrfToken };
    }

    /** Checks a request made with the session cookie comes from the dashboard: the CSRF token it was given. */
    checkCsrf(caller: SessionCaller, header: string | undefined): void {
        const given = Buffer.from(header ?? "");
        const expected = Buffer.from(caller.csrfToken);
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
            throw csrfTokenInvalid(`A change made with a session cookie must carry the session's CSRF token in the X-CSRF-Token header (GET /v1/whoami gives it)${header ? "; the one sent is not this session's" : ""}.`);
        }
    }

    /**
     * Asks the provider again about `name` when their role decides something they are not here
     * to ask for (their queued job's start, their approval counted): through their most recently
     * checked live session. Without one (signed out, expired) the provider cannot be asked, and
     * the role last recorded by any instance stands.
     */
    async refreshRole(name: string): Promise<void> {
        const [latest] = await this.deps.sessions.liveOf(name, this.deps.now());
        if (!latest) {
            const person = await this.deps.sessions.person(name);
            if (person) this.roles.set(name, person.role);
            return;
        }
        try {
            await this.recheck(latest);
        } catch (e) {
            // The provider dropped them: recheck recorded no role. Anything else (503) fails closed.
            if (!(isAppError(e) && e.code === "SESSION_ENDED")) throw e;
        }
    }

    /** Ends the session; the provider's own sign-out page, when it has one. */
    async signOut(secret: string, from: string): Promise<{ providerSignOut?: string }> {
        const ended = await this.deps.sessions.end(secretHash(secret));
        if (!ended) return {};
        this.deps.audit.append({ actor: { name: ended.name, ...(ended.role ? { role: ended.role } : {}), via: "session" }, action: "session.sign-out", from, result: "ok" });
        const providerSignOut = await this.deps.relyingParty.signOutUrl(ended.idToken);
        return providerSignOut ? { providerSignOut } : {};
    }

    /** Drops ended sessions and abandoned sign-ins. */
    async prune(): Promise<void> {
        const now = this.deps.now();
        await this.deps.sessions.prune(now, new Date(now.getTime() - SIGN_IN_TTL_MS));
    }

    private recheck(session: Session): Promise<Session> {
        let pending = this.checking.get(session.idHash);
        if (!pending) {
            pending = this.askProvider(session).finally(() => this.checking.delete(session.idHash));
            this.checking.set(session.idHash, pending);
        }
        return pending;
    }

    private async askProvider(session: Session): Promise<Session> {
        const now = this.deps.now();
        let answer: ProviderAnswer;
        try {
            answer = await this.deps.relyingParty.recheck(session, now);
        } catch (e) {
            if (!(e instanceof ProviderRefused)) throw e;
            // The provider no longer vouches for them (removed, grant revoked, refresh refused).
            await this.deps.sessions.end(session.idHash);
            await this.deps.sessions.recordPerson(session.name, null, now);
            this.roles.set(session.name, null);
            this.deps.audit.append({ actor: { name: session.name, via: "session" }, action: "session.ended-by-provider", from: "local", result: "ok", details: { reason: e.message } });
            throw sessionEnded(`The identity provider no longer vouches for ${session.name} (${e.message})`);
        }
        const role = roleFor(answer.claims[this.settings.rolesClaim], this.deps.roleMap()) ?? null;
        const checked = { role, accessToken: answer.accessToken, accessExpiresAt: answer.accessExpiresAt, refreshToken: answer.refreshToken, idToken: answer.idToken, checkedAt: now.toISOString() };
        if (!(await this.deps.sessions.recordCheck(session.idHash, session.checkedAt, checked))) {
            // Another instance checked it at the same moment: its answer stands (a refresh token is used once).
            const current = await this.deps.sessions.find(session.idHash);
            if (!current) throw sessionEnded("The session has ended");
            this.roles.set(current.name, current.role);
            return current;
        }
        if (role !== session.role) {
            this.deps.audit.append({ actor: { name: session.name, ...(role ? { role } : {}), via: "session" }, action: "session.role-changed", from: "local", result: "ok", details: { from: session.role, to: role } });
        }
        await this.deps.sessions.recordPerson(session.name, role, now);
        this.roles.set(session.name, role);
        return { ...session, ...checked };
    }
}

function groupsOf(claim: unknown): string {
    if (Array.isArray(claim)) return claim.length ? claim.map(String).join(", ") : "none";
    return typeof claim === "string" ? claim : "none: the provider sent no such claim";
}
