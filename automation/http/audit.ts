import { Router, type RequestHandler } from "express";
import { z } from "zod";
import type { AuditTrail, AuditRecord } from "../audit/trail";
import { principalOf } from "../security/middleware";
import { auditNoteOf } from "./auditNote";
import { StackName, parse } from "./schemas";
import { caseSensitiveRouter, type AuthDeps } from "./router";
import { common, errorResponse, json, queryParams, ref } from "./openapiParts";
import { AuditPageSchema } from "./responses/audit";
import { send } from "./responses/registry";

export const AuditQuery = z.strictObject({
    after: z.coerce.number().int().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    stack: StackName.optional(),
    action: z.string().regex(/^[a-z][a-z0-9.-]{0,63}$/, "must be a dotted action such as approval or job.create").optional(),
});

/** `GET /v1/audit` (admin): one page of entries and the verification of the whole chain. */
export function auditRouter(audit: AuditTrail, auth: AuthDeps): Router {
    const r = caseSensitiveRouter();
    r.get("/audit", auth.authenticate, auth.requireRole("admin"), async (req, res) => {
        const q = parse(AuditQuery, req.query, "query");
        send(res, AuditPageSchema, { ...(await audit.page(q)), verification: await audit.verify() });
    });
    return r;
}

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Refusals that anyone can cause by the thousand: sampled, not written one entry each. */
const REFUSALS = new Set([400, 401, 403, 429]);

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
 * Records refused requests without letting a flood fill the disk: the first refusal of each
 * (address, caller, status) in a window is written in full, the others only counted, and one
 * `http.refused-repeats` entry per key gives the count when the window ends. At most `maxKeys`
 * keys are tracked; beyond that, refusals are counted under one overflow key.
 */
export class RefusalSampler {
    private windows = new Map<string, { count: number; since: string; sample: AuditRecord }>();
    private readonly timer: NodeJS.Timeout;

    constructor(
        private readonly audit: Pick<AuditTrail, "append">,
        private readonly options: { windowMs?: number; maxKeys?: number; onRefused?: (status: number) => void; now?: () => Date } = {},
    ) {
        this.timer = setInterval(() => this.flush(), options.windowMs ?? 60_000);
        this.timer.unref();
    }

    record(status: number, record: AuditRecord): void {
        this.options.onRefused?.(status);
        let key = `${record.from}|${record.actor.name}|${status}`;
        if (!this.windows.has(key) && this.windows.size >= (this.options.maxKeys ?? 1000)) key = "overflow";
        const w = this.windows.get(key);
        if (w) {
            w.count++;
            return;
        }
        this.windows.set(key, { count: 0, since: (this.options.now?.() ?? new Date()).toISOString(), sample: record });
        this.audit.append(key === "overflow" ? { ...record, details: { ...record.details, overflow: true } } : record);
    }

    /** Writes the counts of the window that ends now. */
    flush(): void {
        const ended = this.windows;
        this.windows = new Map();
        for (const [key, w] of ended) {
            if (w.count === 0) continue;
            const { actor, from, action } = w.sample;
            this.audit.append({ actor, from, action: "http.refused-repeats", result: "denied", details: { of: action, key, repeats: w.count, since: w.since } });
        }
    }

    close(): void {
        clearInterval(this.timer);
        this.flush();
    }
}

/** The path of a request target, origin-form or absolute-form, without its query. */
function pathOf(target: string): string {
    try {
        return new URL(target, "http://service.invalid").pathname;
    } catch {
        return target.split("?")[0];
    }
}

/**
 * Records every mutating /v1 request, and every refused one (400, 401, 403, 429, through the
 * sampler), when its response is sent: who, what, from where, which preview, and the status.
 * Mount before the routes. Nothing here may throw: it runs after the response.
 */
export function auditRequests(audit: AuditTrail, refusals: RefusalSampler): RequestHandler {
    return (req, res, next) => {
        res.on("finish", () => {
            try {
                // the webhook route records its own, richer entries, rejections included
                if (req.originalUrl.startsWith("/v1/webhooks/")) return;
                const refused = REFUSALS.has(res.statusCode);
                if (!MUTATING.has(req.method) && !refused) return;
                const principal = principalOf(res);
                const location = res.getHeader("location");
                const jobId = typeof location === "string" ? /\/v1\/jobs\/([^/]+)$/.exec(location)?.[1] : undefined;
                const body = (req.body ?? {}) as { previewId?: unknown };
                // As the router matched it: the path alone, whether the request line carried an
                // absolute URL (`POST http://host/v1/...`) or a query.
                const requestPath = pathOf(req.originalUrl);
                const stack = decodedSegment(/^\/v1\/stacks\/([^/]+)/.exec(requestPath)?.[1]);
                const record: AuditRecord = {
                    actor: principal ?? { name: "anonymous", via: "token" },
                    action: `http.${req.method.toLowerCase().slice(0, 10)}`,
                    from: req.ip ?? "unknown",
                    result: res.statusCode === 401 || res.statusCode === 403 ? "denied" : res.statusCode === 429 ? "rate-limited" : res.statusCode < 400 ? "ok" : "failed",
                    ...(stack ? { stack } : {}),
                    ...(jobId ? { jobId } : {}),
                    ...(typeof body.previewId === "string" ? { previewId: body.previewId } : {}),
                    details: { path: requestPath, status: res.statusCode },
                };
                const own = auditNoteOf(res);
                if (own && !refused) Object.assign(record, own, { details: { ...record.details, ...own.details } });
                if (refused) refusals.record(res.statusCode, record);
                else audit.append(record);
            } catch {
                // The response is gone; an audit failure must not take the process with it.
            }
        });
        next();
    };
}

/** This router's routes in the OpenAPI document (put together by http/openapi.ts). */
export function auditOpenApiPaths(): Record<string, unknown> {
    return {
        "/v1/audit": {
            get: {
                summary: "A page of the audit log and the verification of its hash chain (role admin)",
                tags: ["audit"],
                parameters: queryParams(AuditQuery),
                responses: {
                    200: {
                        description: "Entries after `after`; continue with `next`. verification.ok is false with firstBad {line, seq, reason} when a line was edited, removed or inserted.",
                        content: json(ref("AuditPage")),
                    },
                    ...common,
                    422: errorResponse("Invalid query."),
                },
            },
        },
    };
}
