import { Router, type RequestHandler } from "express";
import type { Role } from "../security/roles";

/** How every router checks its callers: who they are, then the role a route needs. */
export interface AuthDeps {
    authenticate: RequestHandler;
    requireRole: (role: Role) => RequestHandler;
}

/**
 * Every router of the API: paths match case-sensitively and strictly (no trailing slash), as
 * the app's own routes do and as the audit reads them, so `/V1/STACKS/dev/refreshes` or
 * `/v1/stacks/dev/previews/` is no route (404) rather than a request that runs under one
 * spelling and is recorded under another.
 */
export const caseSensitiveRouter = (): Router => Router({ caseSensitive: true, strict: true });
