// Signing people in and out through the identity provider (security/signIn.ts), and what the
// dashboard's landing page needs to know to offer it. Outside /v1: these are pages a browser
// navigates to, not API calls.
import { rateLimit } from "express-rate-limit";
import type { CookieOptions, Request, Response, Router } from "express";
import { AppError, notFound } from "../errors";
import { readCookie } from "../security/middleware";
import { CSRF_HEADER, SESSION_COOKIE, SIGN_IN_COOKIE, SIGN_IN_TTL_MS, type SignInService } from "../security/signIn";
import { caseSensitiveRouter } from "./router";
import { json } from "./openapiParts";

/**
 * The session cookie: httpOnly (no script reads it), Secure with the `__Host-` prefix (this host
 * alone, https), SameSite=Strict (no other site's page sends it). The sign-in cookie is Lax, as it
 * must come back on the provider's redirect, a top-level navigation from another site.
 */
const sessionCookie = (maxAgeMs: number): CookieOptions => ({ httpOnly: true, secure: true, sameSite: "strict", path: "/", maxAge: maxAgeMs });
const signInCookie: CookieOptions = { httpOnly: true, secure: true, sameSite: "lax", path: "/", maxAge: SIGN_IN_TTL_MS };

const signInOff = () => notFound("Sign-in through an identity provider is not configured on this service (AUTOMATION_OIDC_ISSUER); send Authorization: Bearer <token> instead (npm run token creates one).");

/** Where the request came from, as the audit trail records it. */
const fromOf = (req: Request) => req.ip ?? "unknown";

export function signInRouter(signIn: SignInService | undefined, o: { loginsPerMinute: number }): Router {
    const r = caseSensitiveRouter();
    // Each start of a sign-in stores a row until it returns or expires: a flood from one address is cut off.
    const loginLimit = rateLimit({
        windowMs: 60_000,
        limit: o.loginsPerMinute,
        standardHeaders: "draft-8",
        legacyHeaders: false,
        handler: (_req, _res, next, opts) => next(new AppError("RATE_LIMITED", 429, `Too many sign-ins started; at most ${opts.limit} a minute from one address.`, { limit: opts.limit })),
    });

    r.get("/auth/login", loginLimit, async (req: Request, res: Response) => {
        if (!signIn) throw signInOff();
        const { cookie, url } = await signIn.begin(req.query.returnTo);
        res.cookie(SIGN_IN_COOKIE, cookie, signInCookie);
        res.set("Cache-Control", "no-store");
        res.redirect(303, url);
    });

    r.get("/auth/callback", async (req: Request, res: Response) => {
        if (!signIn) throw signInOff();
        // The URL the provider sent the person to, as registered: the query is what it added.
        const callback = new URL(signIn.settings.redirectUrl);
        callback.search = new URL(req.originalUrl, "http://callback.invalid").search;
        res.clearCookie(SIGN_IN_COOKIE, { ...signInCookie, maxAge: undefined });
        res.set("Cache-Control", "no-store");
        const { sessionSecret, returnTo } = await signIn.finish(readCookie(req.get("cookie"), SIGN_IN_COOKIE), callback, fromOf(req));
        res.cookie(SESSION_COOKIE, sessionSecret, sessionCookie(signIn.settings.sessionTtlMs));
        res.redirect(303, returnTo);
    });

    // With the session's CSRF token like any change: another site cannot sign someone out either.
    r.post("/auth/logout", async (req: Request, res: Response) => {
        if (!signIn) throw signInOff();
        const secret = readCookie(req.get("cookie"), SESSION_COOKIE);
        res.clearCookie(SESSION_COOKIE, { ...sessionCookie(0), maxAge: undefined });
        if (!secret) {
            res.json({ signedOut: false, message: "No session to end." });
            return;
        }
        const caller = await signIn.resolve(secret, false).catch(() => undefined);
        if (caller) signIn.checkCsrf(caller, req.get(CSRF_HEADER));
        const { providerSignOut } = await signIn.signOut(secret, fromOf(req));
        res.json({ signedOut: true, ...(providerSignOut ? { providerSignOut } : {}) });
    });

    // The landing page asks how one gets in: it needs no credentials, and says nothing else.
    r.get("/v1/auth", (_req: Request, res: Response) => {
        res.json({ oidc: signIn ? { enabled: true, loginUrl: "/auth/login", issuer: signIn.settings.issuer.origin } : { enabled: false }, tokens: true });
    });

    return r;
}

/** This router's routes in the OpenAPI document (put together by http/openapi.ts). */
export function signInOpenApiPaths(): Record<string, unknown> {
    return {
        "/v1/auth": {
            get: {
                summary: "How to sign in here: whether sign-in through an identity provider is on, and where it starts",
                security: [],
                tags: ["auth"],
                responses: { 200: { description: "The ways in.", content: json({ type: "object", required: ["oidc", "tokens"], properties: { oidc: { type: "object", required: ["enabled"], properties: { enabled: { type: "boolean" }, loginUrl: { type: "string" }, issuer: { type: "string" } } }, tokens: { type: "boolean" } } }) } },
            },
        },
        "/auth/login": {
            get: {
                summary: "Starts signing in at the identity provider (a browser navigation; authorization code flow with PKCE)",
                security: [],
                tags: ["auth"],
                parameters: [{ name: "returnTo", in: "query", required: false, schema: { type: "string" }, description: "A path of this service to come back to; anything else goes to /." }],
                responses: { 303: { description: "To the provider, with a short-lived sign-in cookie." }, 404: { description: "Sign-in is not configured." }, 429: { description: "Too many sign-ins started from one address." }, 503: { description: "The provider does not answer." } },
            },
        },
        "/auth/callback": {
            get: {
                summary: "Where the identity provider sends the person back; sets the session cookie",
                security: [],
                tags: ["auth"],
                responses: { 303: { description: "Signed in: to the path the sign-in started from." }, 401: { description: "SIGN_IN_FAILED: the sign-in is unknown, used, too old, or the provider's answer is refused." }, 403: { description: "NO_ROLE: none of the person's groups is given a role." }, 503: { description: "The provider does not answer." } },
            },
        },
        "/auth/logout": {
            post: {
                summary: "Ends the session of the cookie, and offers the provider's own sign-out page",
                security: [],
                tags: ["auth"],
                responses: { 200: { description: "Signed out.", content: json({ type: "object", properties: { signedOut: { type: "boolean" }, providerSignOut: { type: "string" } } }) }, 403: { description: "CSRF_TOKEN_INVALID." } },
            },
        },
    };
}
