import type { RequestHandler } from "express";
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
 * Limits mutating requests per principal (per client address before authentication), so one
 * runaway script or leaked token cannot flood the job queue. Reads are not limited: the
 * dashboard polls them. Mount after `authenticate` so the key is the caller, not a shared proxy.
 */
export function mutationRateLimit(options: MutationRateLimitOptions = {}): RequestHandler {
    return rateLimit({
        windowMs: options.windowMs ?? 60_000,
        limit: options.limit ?? 60,
        standardHeaders: "draft-8",
        legacyHeaders: false,
        skip: (req) => req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS",
        keyGenerator: (req, res) => principalOf(res)?.name ?? `ip:${req.ip}`,
        // Our own error shape, rendered by the core's error middleware like every other error.
        handler: (_req, _res, next, opts) =>
            next(new AppError("RATE_LIMITED", 429, `Too many mutating requests; at most ${opts.limit} per ${Math.round(opts.windowMs / 1000)} s per caller.`, { limit: opts.limit, windowMs: opts.windowMs })),
        validate: { keyGeneratorIpFallback: false },
    });
}

/**
 * Limits refused requests (any status from 400 up) of every method, per caller, or per client
 * address without a valid token: a flood of unauthenticated or malformed requests gets 429
 * after `limit` in a window, whatever its method, while a caller whose requests succeed is never
 * slowed. Counted when the response is sent, so the verdict is the route's own. The signed
 * webhook route is not limited here: a stranger's flood from one address must not lock GitHub out.
 */
export function refusalRateLimit(options: MutationRateLimitOptions = {}): RequestHandler {
    return rateLimit({
        windowMs: options.windowMs ?? 60_000,
        limit: options.limit ?? 60,
        standardHeaders: "draft-8",
        legacyHeaders: false,
        skipSuccessfulRequests: true,
        skip: (req) => req.originalUrl.startsWith("/v1/webhooks/"),
        keyGenerator: (req, res) => principalOf(res)?.name ?? `ip:${req.ip}`,
        handler: (_req, _res, next, opts) =>
            next(new AppError("RATE_LIMITED", 429, `Too many refused requests; at most ${opts.limit} per ${Math.round(opts.windowMs / 1000)} s per caller. Check the token and the request.`, { limit: opts.limit, windowMs: opts.windowMs })),
        validate: { keyGeneratorIpFallback: false },
    });
}
