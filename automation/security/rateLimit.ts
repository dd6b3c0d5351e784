import type { Request, RequestHandler } from "express";
import { MemoryStore, rateLimit } from "express-rate-limit";
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
function perCallerLimit(options: MutationRateLimitOptions, what: { skip: (req: Request) => boolean; message: string }): RequestHandler {
    return rateLimit({
        windowMs: options.windowMs ?? 60_000,
        limit: options.limit ?? 60,
        standardHeaders: "draft-8",
        legacyHeaders: false,
        skip: what.skip,
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
    return perCallerLimit(options, { skip: (req) => req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS", message: "Too many mutating requests" });
}

/**
 * Limits refused requests (any status from 400 up) of every method, per caller, or per client
 * address without a valid token: a flood of unauthenticated or malformed requests gets 429
 * after `limit` in a window, whatever its method, while a caller whose requests succeed is never
 * slowed. Counted when the response is sent, so the verdict is the route's own. The signed
 * webhook route has its own limit (http/webhooks.ts): a stranger's flood must not lock GitHub out.
 *
 * The count lives in express-rate-limit's MemoryStore, but only refused answers are added to it:
 * its own `skipSuccessfulRequests` counts every request while it is in flight and takes the
 * successful ones back when they end, so a caller with more than `limit` reads in flight at once
 * (200 req/s at 300 ms) was refused without a single refusal.
 */
export function refusalRateLimit(options: MutationRateLimitOptions = {}): RequestHandler {
    const limit = options.limit ?? 60;
    const windowMs = options.windowMs ?? 60_000;
    const store = new MemoryStore();
    store.init({ windowMs } as Parameters<MemoryStore["init"]>[0]);
    return (req, res, next) => {
        if (req.originalUrl.startsWith("/v1/webhooks/")) return next();
        const key = principalOf(res)?.name ?? `ip:${req.ip}`;
        res.on("finish", () => {
            if (res.statusCode >= 400) void store.increment(key);
        });
        void store.get(key).then(
            (hits) => {
                if ((hits?.totalHits ?? 0) < limit) return next();
                res.setHeader("Retry-After", String(Math.max(1, Math.ceil(((hits?.resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000))));
                next(new AppError("RATE_LIMITED", 429, `Too many refused requests (check the token and the request); at most ${limit} per ${Math.round(windowMs / 1000)} s per caller.`, { limit, windowMs }));
            },
            (err: unknown) => next(err),
        );
    };
}
