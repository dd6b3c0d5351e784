import { Router } from "express";
import { principalOf } from "../security/middleware";
import type { AuthDeps } from "./routes";
import { caseSensitiveRouter } from "./router";

/**
 * `GET /v1/whoami`: the caller's name and role, so the dashboard can hide the buttons a role
 * cannot use. It grants nothing: every action is still checked by its own route.
 */
export function whoamiRouter(auth: AuthDeps): Router {
    const r = caseSensitiveRouter();
    r.get("/whoami", auth.authenticate, auth.requireRole("viewer"), (_req, res) => {
        const principal = principalOf(res);
        res.json({ name: principal?.name, role: principal?.role });
    });
    return r;
}
