import { Router } from "express";
import { principalOf } from "../security/middleware";
import { caseSensitiveRouter, type AuthDeps } from "./router";

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
