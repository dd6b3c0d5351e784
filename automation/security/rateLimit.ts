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
