import { Router } from "express";
import { z } from "zod";
import { tokenNotFound } from "../errors";
import { ROLES } from "../security/roles";
import type { TokenAdmin } from "../security/tokenAdmin";
import { EXPIRES_IN, expiresInProblem, TOKEN_NAME, tokenNameProblem } from "../security/tokens";
import { auditAs } from "./auditNote";
import { parse } from "./schemas";
import { caseSensitiveRouter, type AuthDeps } from "./router";
import { common as sharedAnswers, errorResponse as error, json, ref } from "./openapiParts";
import { send } from "./responses/registry";
import { CreatedTokenSchema, RevokedTokenSchema, TokenListSchema, TokenSchema } from "./responses/tokens";

/** A problem function as a zod refinement, its message the function's own. */
const checkedBy = (problemOf: (s: string) => string | undefined) => (value: string, ctx: z.RefinementCtx) => {
    const problem = problemOf(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
};

export const TokenName = z.string().regex(TOKEN_NAME, "must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit").superRefine(checkedBy(tokenNameProblem));

export const CreateTokenBody = z.strictObject({
    /** Who or what will use the token: it names them in every job, approval and audit entry. */
    name: TokenName,
    role: z.enum(ROLES),
    /** Lifetime in whole days or hours (`30d`, `12h`); without it the token never expires. */
    expiresIn: z.string().regex(EXPIRES_IN, "must be a whole number of days or hours, such as 30d or 12h").superRefine(checkedBy(expiresInProblem)).optional(),
    /** Rotate an existing token of this name (its current secret stops working); without it, an existing name is 409 TOKEN_EXISTS. */
    replace: z.boolean().optional(),
});

/**
 * `GET /v1/tokens`, `POST /v1/tokens` and `DELETE /v1/tokens/:name`, all role admin: the bearer
 * tokens of machines, as `npm run token` manages them. A created token's secret is in the 201
 * answer only (never stored, listed or audited); creating and revoking are audited as
 * `token.create` and `token.revoke` with the acting admin.
 */
export function tokensRouter(admin: TokenAdmin, auth: AuthDeps): Router {
    const r = caseSensitiveRouter();
    r.get("/tokens", auth.authenticate, auth.requireRole("admin"), async (_req, res) => {
        send(res, TokenListSchema, { tokens: await admin.list() });
    });
    r.post("/tokens", auth.authenticate, auth.requireRole("admin"), async (req, res) => {
        const body = parse(CreateTokenBody, req.body, "body");
        const { token, info, replaced } = await admin.create(body);
        auditAs(res, { action: "token.create", details: { name: info.name, role: info.role, expiresAt: info.expiresAt ?? null, replaced } });
        res.status(201).set("Cache-Control", "no-store").location(`/v1/tokens/${encodeURIComponent(info.name)}`);
        send(res, CreatedTokenSchema, { ...info, token, replaced });
    });
    // Where a created token's Location points: the one token, as the list shows it.
    r.get("/tokens/:name", auth.authenticate, auth.requireRole("admin"), async (req, res) => {
        const name = parse(z.string().min(1).max(100), req.params.name, "path.name");
        const found = (await admin.list()).find((t) => t.name === name);
        if (!found) throw tokenNotFound(name);
        send(res, TokenSchema, found);
    });
    r.delete("/tokens/:name", auth.authenticate, auth.requireRole("admin"), async (req, res) => {
        // Any name the file may hold, even one today's rules would refuse: an old token must stay revocable.
        const name = parse(z.string().min(1).max(100), req.params.name, "path.name");
        const gone = await admin.revoke(name);
        auditAs(res, { action: "token.revoke", details: { name: gone.name, role: gone.role } });
        send(res, RevokedTokenSchema, { ...gone, revoked: true as const });
    });
    return r;
}

// The shared answers of every route, the admin-only wording for 401/403.
const common = {
    ...sharedAnswers,
    401: error("No, unknown or expired bearer token (UNAUTHENTICATED, TOKEN_EXPIRED)."),
    403: error("Not an admin (FORBIDDEN)."),
};

/** The document's entries for these routes, merged into /v1/openapi.json (http/openapi.ts). */
export function tokensOpenApiPaths(): Record<string, unknown> {
    const body = z.toJSONSchema(CreateTokenBody, { target: "openapi-3.0", io: "input" });
    return {
        "/v1/tokens": {
            get: {
                summary: "List the bearer tokens (role admin)",
                description: "Name, role, created, last used and expiry of each token; never a secret or a hash. lastUsedAt is recorded at most once a minute per token (null: not used since it was created or rotated).",
                tags: ["auth"],
                responses: {
                    200: { description: "Tokens.", content: json(ref("TokenList")) },
                    ...common,
                    503: error("The tokens file cannot be read (UNAVAILABLE)."),
                },
            },
            post: {
                summary: "Create (or, with replace, rotate) a token (role admin)",
                description: "Answers 201 with the secret in `token`, shown this once: only its hash is stored. Audited as token.create.",
                tags: ["auth"],
                requestBody: { required: true, content: json(body) },
                responses: {
                    201: { description: "Created; `token` is the secret.", headers: { Location: { schema: { type: "string" } } }, content: json(ref("CreatedToken")) },
                    ...common,
                    409: error("A token of that name exists and replace was not sent (TOKEN_EXISTS)."),
                    422: error("Invalid name (a reserved sso: name, a credential-shaped one), role or expiresIn (INVALID_INPUT)."),
                    503: error("The tokens file cannot be written (UNAVAILABLE); nothing changed."),
                },
            },
        },
        "/v1/tokens/{name}": {
            get: {
                summary: "One token: name, role, created, last used, expiry; never the secret (role admin)",
                tags: ["auth"],
                parameters: [{ name: "name", in: "path", required: true, schema: { type: "string", minLength: 1, maxLength: 100 } }],
                responses: {
                    200: { description: "The token.", content: json(ref("Token")) },
                    ...common,
                    404: error("No token of that name (TOKEN_NOT_FOUND)."),
                },
            },
            delete: {
                summary: "Revoke a token (role admin)",
                description: "Its holder is refused from the next request on, and the jobs it queued do not start (TOKEN_REVOKED). Audited as token.revoke.",
                tags: ["auth"],
                parameters: [{ name: "name", in: "path", required: true, schema: { type: "string", minLength: 1, maxLength: 100 } }],
                responses: {
                    200: { description: "Revoked.", content: json(ref("RevokedToken")) },
                    ...common,
                    404: error("No token of that name (TOKEN_NOT_FOUND)."),
                    503: error("The tokens file cannot be written (UNAVAILABLE); nothing changed."),
                },
            },
        },
    };
}
