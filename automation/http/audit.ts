import { Router, type RequestHandler } from "express";
import { z } from "zod";
import type { AuditLog } from "../audit/log";
import { principalOf } from "../security/middleware";
import type { AuthDeps } from "./routes";
import { StackName, parse } from "./schemas";

export const AuditQuery = z.strictObject({
    after: z.coerce.number().int().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    stack: StackName.optional(),
    action: z.string().regex(/^[a-z][a-z0-9.-]{0,63}$/, "must be a dotted action such as approval or job.create").optional(),
});

/** `GET /v1/audit` (admin): one page of entries and the verification of the whole chain. */
export function auditRouter(audit: AuditLog, auth: AuthDeps): Router {
    const r = Router();
    r.get("/audit", auth.authenticate, auth.requireRole("admin"), (req, res) => {
        const q = parse(AuditQuery, req.query, "query");
        res.json({ ...audit.page(q), verification: audit.verify() });
    });
    return r;
}

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** A path segment decoded, or as sent when it does not decode (`%ZZ`): this runs after the response, where nothing may throw. */
export function decodedSegment(raw: string | undefined): string | undefined {
    if (raw === undefined) return undefined;
    try {
        return decodeURIComponent(raw);
    } catch {
        return raw;
    }
}

/**
 * Records every mutating /v1 request, and every refused one (401/403), when its response is
 * sent: who, what, from where, which preview, and the status. Mount before the routes.
 */
export function auditRequests(audit: AuditLog): RequestHandler {
    return (req, res, next) => {
        res.on("finish", () => {
            // the webhook route records its own, richer entries, rejections included
            if (req.originalUrl.startsWith("/v1/webhooks/")) return;
            const denied = res.statusCode === 401 || res.statusCode === 403;
            if (!MUTATING.has(req.method) && !denied) return;
            const principal = principalOf(res);
            const location = res.getHeader("location");
            const jobId = typeof location === "string" ? /\/v1\/jobs\/([^/]+)$/.exec(location)?.[1] : undefined;
            const body = (req.body ?? {}) as { previewId?: unknown };
            const stack = decodedSegment(/\/v1\/stacks\/([^/?]+)/.exec(req.originalUrl)?.[1]);
            audit.append({
                actor: principal ?? { name: "anonymous", via: "token" },
                action: `http.${req.method.toLowerCase()}`,
                from: req.ip ?? "unknown",
                result: denied ? "denied" : res.statusCode < 400 ? "ok" : "failed",
                ...(stack ? { stack } : {}),
                ...(jobId ? { jobId } : {}),
                ...(typeof body.previewId === "string" ? { previewId: body.previewId } : {}),
                details: { path: req.originalUrl.split("?")[0], status: res.statusCode },
            });
        });
        next();
    };
}
