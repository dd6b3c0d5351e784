import { Router } from "express";
import { AppError } from "../errors";
import type { WebhookHandler } from "../webhooks/handler";

/**
 * `POST /v1/webhooks/github`: authenticated by the HMAC signature, not a bearer token. Without
 * a configured secret the route answers 404 so nothing can be triggered by accident.
 */
export function webhooksRouter(handler: WebhookHandler | undefined): Router {
    const r = Router();
    r.post("/webhooks/github", async (req, res) => {
        if (!handler) throw new AppError("WEBHOOKS_DISABLED", 404, "GitHub webhooks are off; set AUTOMATION_GITHUB_WEBHOOK_SECRET and AUTOMATION_GITHUB_REPOSITORIES.");
        const result = await handler.handle(
            { signature: req.get("x-hub-signature-256"), event: req.get("x-github-event"), delivery: req.get("x-github-delivery") },
            Buffer.isBuffer(req.body) ? req.body : undefined,
            req.ip ?? "unknown",
        );
        res.status(result.status).json(result.body);
    });
    return r;
}
