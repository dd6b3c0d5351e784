import type { NextFunction, Request, RequestHandler, Response } from "express";
import { csrfTokenInvalid, forbidden, unauthenticated } from "../errors";
import { Principal, Role, hasRole } from "./roles";
import { TokenVerifier } from "./tokens";
import { CSRF_HEADER, SESSION_COOKIE, type SessionCaller } from "./signIn";

/** Where `authenticate` leaves the caller; routes and the audit log read it from here. */
export function principalOf(res: Response): Principal | undefined {
    return res.locals.principal as Principal | undefined;
}

/** The caller of a route that `authenticate` guards; a 401 if it was mounted without it. */
export function callerOf(res: Response): Principal {
    const principal = principalOf(res);
    if (!principal) throw unauthenticated("this route needs an authenticated caller");
    return principal;
}

/** What the middleware needs of sign-in through the identity provider (signIn.ts), when it is on. */
export interface SessionResolver {
    resolve(secret: string, mutating: boolean): Promise<SessionCaller>;
    checkCsrf(caller: SessionCaller, header: string | undefined): void;
    /** The origin people reach the service at (AUTOMATION_PUBLIC_URL's). */
    readonly publicOrigin: string;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The value of cookie `name` in a Cookie header; the first wins, as browsers send the most specific first. */
export function readCookie(header: string | undefined, name: string): string | undefined {
    for (const part of (header ?? "").split(";")) {
        const eq = part.indexOf("=");
        if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
    }
    return undefined;
}

type SessionAttempt = { caller: SessionCaller } | { error: unknown };

/**
 * The caller behind the request's session cookie, resolved once per request (identify and
 * authenticate share it). A change made with the cookie must come from this service's own
 * pages: a cross-site Origin or Sec-Fetch-Site is refused, and the session's CSRF token must be
 * repeated in X-CSRF-Token, which another site cannot read. Only then is the principal set, so
 * no route after this can act for a cookie that failed these checks.
 */
function sessionOf(req: Request, res: Response, sessions: SessionResolver, secret: string): Promise<SessionAttempt> {
    const memo = res.locals.sessionAttempt as Promise<SessionAttempt> | undefined;
    if (memo) return memo;
    const mutating = !SAFE_METHODS.has(req.method);
    const attempt = (async (): Promise<SessionAttempt> => {
        try {
            if (mutating) {
                const origin = req.get("origin");
                if ((origin && origin !== sessions.publicOrigin) || req.get("sec-fetch-site") === "cross-site") {
                    throw csrfTokenInvalid(`A change made with a session cookie must come from ${sessions.publicOrigin}'s own pages; this one came from ${origin ?? "another site"}.`);
                }
            }
            const caller = await sessions.resolve(secret, mutating);
            if (mutating) sessions.checkCsrf(caller, req.get(CSRF_HEADER));
            return { caller };
        } catch (error) {
            return { error };
        }
    })();
    res.locals.sessionAttempt = attempt;
    return attempt;
}

/**
 * Resolves the caller or fails with 401: `Authorization: Bearer <token>` first (machines; a
 * browser never sends it on its own, so it needs no CSRF check), else the session cookie of
 * someone signed in. Errors are passed to `next` so the core's error handler renders them like
 * every other error.
 */
export function authenticate(tokens: TokenVerifier, sessions?: SessionResolver): RequestHandler {
    return async (req: Request, res: Response, next: NextFunction) => {
        const header = req.get("authorization");
        const cookie = sessions && readCookie(req.get("cookie"), SESSION_COOKIE);
        if (header === undefined && cookie && sessions) {
            const attempt = await sessionOf(req, res, sessions, cookie);
            if ("error" in attempt) {
                next(attempt.error);
                return;
            }
            res.locals.principal = attempt.caller.principal;
            res.locals.csrfToken = attempt.caller.csrfToken;
            next();
            return;
        }
        const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
        if (!match) {
            next(unauthenticated(sessions ? "sign in at /auth/login, or send Authorization: Bearer <token> (npm run token creates one)" : "send Authorization: Bearer <token>; create a token with npm run token"));
            return;
        }
        const principal = tokens.verify(match[1]);
        if (!principal) {
            // An expired token is told so, with how to rotate it (401 TOKEN_EXPIRED).
            next(tokens.refusal?.(match[1]) ?? unauthenticated("the bearer token is not known to this service"));
            return;
        }
        res.locals.principal = principal;
        next();
    };
}

/**
 * Sets the principal when the request carries a known token or a valid session and otherwise
 * lets it through untouched, for middleware that only wants to know who is calling (rate
 * limiting, audit) on routes whose own authentication comes later or is not a token (webhooks).
 */
export function identify(tokens: TokenVerifier, sessions?: SessionResolver): RequestHandler {
    return async (req: Request, res: Response, next: NextFunction) => {
        const header = req.get("authorization");
        const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
        const cookie = sessions && header === undefined ? readCookie(req.get("cookie"), SESSION_COOKIE) : undefined;
        if (match) {
            const principal = tokens.verify(match[1]);
            if (principal) res.locals.principal = principal;
        } else if (cookie && sessions) {
            const attempt = await sessionOf(req, res, sessions, cookie);
            if ("caller" in attempt) res.locals.principal = attempt.caller.principal;
        }
        next();
    };
}

/** Fails with 403 unless the authenticated principal ranks at or above `role`. */
export function requireRole(role: Role): RequestHandler {
    return (_req: Request, res: Response, next: NextFunction) => {
        let principal: Principal;
        try {
            principal = callerOf(res);
        } catch (e) {
            next(e);
            return;
        }
        if (!hasRole(principal.role, role)) {
            next(forbidden(`this action needs role ${role}; ${principal.name} has ${principal.role}`, { required: role, held: principal.role }));
            return;
        }
        next();
    };
}
