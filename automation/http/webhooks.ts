import { Router } from "express";
import { rateLimit } from "express-rate-limit";
import type { RefusalSampler } from "./audit";
import { AppError } from "../errors";
import type { WebhookHandler } from "../webhooks/handler";
import { caseSensitiveRouter } from "./router";
import { errorResponse, json } from "./openapiParts";

/**
 * `POST /v1/webhooks/github`: authenticated by the HMAC signature, not a bearer token. Without
 * a configured secret the route answers 404 so nothing can be triggered by accident. Requests
 * without a valid signature are limited per address (`unsignedPerMinute`, then 429, sampled in
 * the audit log); a signed delivery is never counted, so a stranger's flood from a shared
 * address cannot lock GitHub out.
 */
export function webhooksRouter(handler: WebhookHandler | undefined, options: { unsignedPerMinute: number; refusals: RefusalSampler }): Router {
    const r = caseSensitiveRouter();
    const signed = (req: { body: unknown; get(name: string): string | undefined }) => handler?.isSigned(Buffer.isBuffer(req.body) ? req.body : undefined, req.get("x-hub-signature-256")) ?? false;
    const unsignedLimit = rateLimit({
        windowMs: 60_000,
        limit: options.unsignedPerMinute,
        standardHeaders: "draft-8",
        legacyHeaders: false,
        // The signature is checked once per request, here; the handler is told the answer.
        skip: (req, res) => (res.locals.webhookSigned = signed(req)),
        keyGenerator: (req) => `ip:${req.ip}`,
        handler: (req, _res, next, opts) => {
            options.refusals.record(429, { actor: { name: "anonymous", via: "webhook" }, action: "webhook.rejected", from: req.ip ?? "unknown", result: "RATE_LIMITED" });
            next(new AppError("RATE_LIMITED", 429, `Too many requests with a bad signature from this address; at most ${opts.limit} per minute.`, { limit: opts.limit }));
        },
        validate: { keyGeneratorIpFallback: false },
    });
    r.post("/webhooks/github", unsignedLimit, async (req, res) => {
        if (!handler) throw new AppError("WEBHOOKS_DISABLED", 404, "GitHub webhooks are off; set AUTOMATION_GITHUB_WEBHOOK_SECRET and AUTOMATION_GITHUB_REPOSITORIES.");
        const result = await handler.handle(
            { signature: req.get("x-hub-signature-256"), event: req.get("x-github-event"), delivery: req.get("x-github-delivery") },
            Buffer.isBuffer(req.body) ? req.body : undefined,
            req.ip ?? "unknown",
            res.locals.webhookSigned === true,
        );
        res.status(result.status).json(result.body);
    });
    return r;
}

/** This router's routes in the OpenAPI document (put together by http/openapi.ts). */
export function webhooksOpenApiPaths(): Record<string, unknown> {
    return {
        "/v1/webhooks/github": {
            post: {
                summary: "GitHub webhook: pull_request → previews, push to the policy's branch → updates",
                description: "Authenticated by the HMAC X-Hub-Signature-256 over the raw body, not a bearer token. 404 WEBHOOKS_DISABLED without AUTOMATION_GITHUB_WEBHOOK_SECRET.",
                security: [],
                tags: ["webhooks"],
                parameters: [
                    { name: "X-Hub-Signature-256", in: "header", required: true, schema: { type: "string" } },
                    { name: "X-GitHub-Event", in: "header", required: true, schema: { type: "string" } },
                    { name: "X-GitHub-Delivery", in: "header", required: true, schema: { type: "string" } },
                ],
                requestBody: { required: true, content: json({ type: "object", description: "GitHub's event payload." }) },
                responses: {
                    200: { description: "Handled; lists the jobs started (or why none)." },
                    202: { description: "Jobs started." },
                    401: errorResponse("Bad or missing signature (BAD_SIGNATURE)."),
                    403: errorResponse("Repository not on the allow-list (REPOSITORY_NOT_ALLOWED)."),
                    404: errorResponse("Webhooks are off (WEBHOOKS_DISABLED)."),
                    409: errorResponse("Delivery id seen before (DUPLICATE_DELIVERY)."),
                    400: errorResponse("Missing GitHub headers or a body that is not JSON (BAD_REQUEST)."),
                    411: errorResponse("No Content-Length (LENGTH_REQUIRED)."),
                    413: errorResponse("A body over the limit (PAYLOAD_TOO_LARGE)."),
                    429: errorResponse("Too many deliveries with a bad signature from this address (RATE_LIMITED)."),
                    503: errorResponse("Too many bodies being received at once (BUSY), or the service is stopping; GitHub retries."),
                },
            },
        },
    };
}
