import { Router } from "express";
import { principalOf } from "../security/middleware";
import { caseSensitiveRouter, type AuthDeps } from "./router";
import { common, json } from "./openapiParts";

/**
 * `GET /v1/whoami`: the caller's name and role, so the dashboard can hide the buttons a role
 * cannot use. It grants nothing: every action is still checked by its own route.
 */
export function whoamiRouter(auth: AuthDeps): Router {
    const r = caseSensitiveRouter();
    r.get("/whoami", auth.authenticate, auth.requireRole("viewer"), (_req, res) => {
        const principal = principalOf(res);
        // With a session cookie, the CSRF token every change it makes must repeat (X-CSRF-Token).
        const csrfToken = res.locals.csrfToken as string | undefined;
        res.set("Cache-Control", "no-store");
        res.json({ name: principal?.name, role: principal?.role, via: principal?.via, ...(csrfToken ? { csrfToken } : {}) });
    });
    return r;
}

/** This router's routes in the OpenAPI document (put together by http/openapi.ts). */
export function whoamiOpenApiPaths(): Record<string, unknown> {
    return {
        "/v1/whoami": {
            get: {
                summary: "The caller's name, role and how they are signed in (role viewer)",
                description: "For clients that hide what a role cannot do; grants nothing by itself. With a session cookie, also the CSRF token every change made with that cookie must repeat in X-CSRF-Token.",
                tags: ["auth"],
                responses: {
                    200: {
                        description: "The caller.",
                        content: json({
                            type: "object",
                            required: ["name", "role", "via"],
                            properties: {
                                name: { type: "string", description: "A token's name, or sso:<user> for a person signed in." },
                                role: { type: "string", enum: ["viewer", "operator", "approver", "admin"] },
                                via: { type: "string", enum: ["token", "session"] },
                                csrfToken: { type: "string", description: "Only with a session cookie." },
                            },
                        }),
                    },
                    ...common,
                },
            },
        },
    };
}
