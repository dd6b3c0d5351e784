import type { Request, RequestHandler } from "express";
import { rateLimit } from "express-rate-limit";
import { AppError } from "../errors";
import { principalOf } from "./middleware";

export interface MutationRateLimitOptions {
    /** Mutating requests one caller may make per window. @default 60 */
    limit?: number;
    /** Window length in milliseconds. @default 60_000 */
    windowMs?: number;
}

/**
 * A per-caller limit: keyed by the principal, or by the client address before authentication
 * (mount after `identify`, so the key is the caller, not a shared proxy), answering 429
 * RATE_LIMITED in the service's own error shape, rendered by the error middleware.
 */
function perCallerLimit(options: MutationRateLimitOptions, what: { skip: (req: Request) => boolean; countOnlyRefused: boolean; message: string }): RequestHandler {
    return rateLimit({
        windowMs: options.windowMs ?? 60_000,
        limit: options.limit ?? 60,
        standardHeaders: "draft-8",
        legacyHeaders: false,
        skip: what.skip,
        skipSuccessfulRequests: what.countOnlyRefused,
        keyGenerator: (req, res) => principalOf(res)?.name ?? `ip:${req.ip}`,
        handler: (_req, _res, next, opts) =>
            next(new AppError("RATE_LIMITED", 429, `${what.message}; at most ${opts.limit} per ${Math.round(opts.windowMs / 1000)} s per caller.`, { limit: opts.limit, windowMs: opts.windowMs })),
        validate: { keyGeneratorIpFallback: false },
    });
}

/**
 * Limits mutating requests per principal (per client address before authentication), so one
 * runaway script or leaked token cannot flood the job queue. Reads are not limited: the
 * dashboard polls them.
 */
export function mutationRateLimit(options: MutationRateLimitOptions = {}): RequestHandler {
    return perCallerLimit(options, { skip: (req) => req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS", countOnlyRefused: false, message: "Too many mutating requests" });
}

/**
 * Limits refused requests (any status from 400 up) of every method, per caller, or per client
 * address without a valid token: a flood of unauthenticated or malformed requests gets 429
 * after `limit` in a window, whatever its method, while a caller whose requests succeed is never
 * slowed. Counted when the response is sent, so the verdict is the route's own. The signed
 * webhook route has its own limit (http/webhooks.ts): a stranger's flood must not lock GitHub out.
 */
export function refusalRateLimit(options: MutationRateLimitOptions = {}): RequestHandler {
    return perCallerLimit(options, { skip: (req) => req.originalUrl.startsWith("/v1/webhooks/"), countOnlyRefused: true, message: "Too many refused requests (check the token and the request)" });
}
