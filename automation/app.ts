import * as fs from "node:fs";
import express, { type ErrorRequestHandler } from "express";
import type { ApprovalService } from "./approvals/service";
import type { AuditTrail } from "./audit/trail";
import { AppError, badRequest, internal, isAppError, notFound, payloadTooLarge } from "./errors";
import { approvalsRouter } from "./http/approvals";
import { auditRequests, auditRouter, type RefusalSampler } from "./http/audit";
import { notificationsRouter } from "./http/notifications";
import { opsRouter, type Readiness } from "./http/ops";
import { apiReferenceRouter } from "./http/apiReference";
import { openApiDocument } from "./http/openapi";
import { repairRouter } from "./http/repair";
import type { IdempotencyKeys } from "./http/idempotency";
import type { AuthDeps } from "./http/router";
import { stacksAndJobsRouter } from "./http/stacksAndJobs";
import { webhooksRouter } from "./http/webhooks";
import { whoamiRouter } from "./http/whoami";
import { tokensRouter } from "./http/tokens";
import { signInRouter } from "./http/signIn";
import type { SignInService } from "./security/signIn";
import type { TokenAdmin } from "./security/tokenAdmin";
import type { JobService } from "./jobs/service";
import type { Logger } from "./logger";
import type { ServiceMetrics } from "./metrics";
import type { RecoveryService } from "./recovery/service";
import { authenticate, identify, mutationRateLimit, refusalRateLimit, requireRole, type TokenVerifier } from "./security";
import { isTransient } from "./storage/retry";
import { webhookBody } from "./webhooks/body";
import type { WebhookHandler } from "./webhooks/handler";

/** Everything the HTTP layer serves, built by the assembly (assembly.ts); routes do their own auth. */
export interface AppDeps {
    jobs: JobService;
    /** Idempotency-Key of the requests that create jobs; absent, the header is ignored. */
    idempotency?: IdempotencyKeys;
    approvals: ApprovalService;
    audit: AuditTrail;
    recovery: RecoveryService;
    /** Where notifications go and how their deliveries went. */
    notifications: Parameters<typeof notificationsRouter>[0];
    /** Absent when GitHub webhooks are off: the route then answers 404. */
    webhooks?: WebhookHandler;
    tokens: TokenVerifier;
    /** People signing in through the identity provider; absent when sign-in is off (tokens only). */
    signIn?: SignInService;
    /** Listing, creating and revoking tokens over the API (admins). */
    tokenAdmin: TokenAdmin;
    logger: Logger;
    metrics: ServiceMetrics;
    readiness: () => Promise<Readiness>;
    /** Largest accepted JSON body in bytes; larger ones get 413. */
    bodyLimit: number;
    /** Largest accepted GitHub delivery in bytes: GitHub's deliveries are larger than any API request. */
    webhookBodyLimit: number;
    /** Event streams one caller may hold open. */
    streamsPerCaller: number;
    /** Mutating requests per caller per minute. */
    rateLimitPerMinute: number;
    /** Refused requests of any method per caller (per address without a token) per minute. */
    refusalRateLimitPerMinute: number;
    /** Where refused requests are recorded, sampled. */
    refusals: RefusalSampler;
    /** Directory of the dashboard's static files, served at `/`. @default none */
    webDir?: string;
}

/**
 * The dashboard's policy: only its own scripts, styles and API; no inline code, no framing.
 * The page is static files, so nothing else is needed.
 */
export const CONTENT_SECURITY_POLICY =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Builds the HTTP app from its dependencies; listening is the assembly's business. */
export function createApp(deps: AppDeps): express.Application {
    const app = express();
    defineCommonMiddlewares(app, deps);
    defineRoutes(app, deps);
    defineErrorHandling(app, deps);
    return app;
}

/** Where GitHub sends its deliveries. */
const WEBHOOK_PATH = "/v1/webhooks/github";

function defineCommonMiddlewares(app: express.Application, deps: AppDeps): void {
    app.disable("x-powered-by");
    // Before the first route: the app's router matches paths as the API's routers and the audit do.
    app.enable("case sensitive routing");
    app.enable("strict routing");
    app.set("etag", false);
    app.use((req, res, next) => {
        const started = process.hrtime.bigint();
        res.set("X-Content-Type-Options", "nosniff");
        res.on("finish", () => {
            // Route templates, not raw paths, so job ids do not explode the label set.
            const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : "unmatched";
            deps.metrics.observeHttp(req.method, route, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
        });
        next();
    });
    // GitHub deliveries are kept as raw bytes, which their signature covers, under their own
    // limit, and read only when webhooks are on and the headers make the body worth reading.
    if (deps.webhooks) app.use(WEBHOOK_PATH, webhookBody({ limitBytes: deps.webhookBodyLimit }));
    const json = express.json({ limit: deps.bodyLimit, strict: true });
    app.use((req, res, next) => (req.path === WEBHOOK_PATH ? next() : json(req, res, next)));
    // A body in any other format (a form, text) would otherwise be ignored without a word.
    app.use("/v1", (req, _res, next) => {
        const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
        if (hasBody && !req.path.startsWith("/webhooks/") && !req.is("application/json")) {
            next(new AppError("UNSUPPORTED_MEDIA_TYPE", 415, `Send the body as JSON with Content-Type: application/json (got ${req.headers["content-type"] ?? "no Content-Type"}).`));
            return;
        }
        next();
    });
}

function defineRoutes(app: express.Application, deps: AppDeps): void {
    app.use(opsRouter({ readiness: deps.readiness, metrics: deps.metrics }));
    app.get("/v1/openapi.json", (_req, res) => {
        res.json(openApiDocument());
    });
    app.use(apiReferenceRouter());
    const auth: AuthDeps = { authenticate: authenticate(deps.tokens, deps.signIn), requireRole };
    // Every /v1 request is recorded when answered and rate-limited per caller before its route runs.
    app.use(
        "/v1",
        auditRequests(deps.audit, deps.refusals),
        identify(deps.tokens, deps.signIn),
        refusalRateLimit({ limit: deps.refusalRateLimitPerMinute }),
        mutationRateLimit({ limit: deps.rateLimitPerMinute }),
    );
    app.use(signInRouter(deps.signIn, { loginsPerMinute: deps.refusalRateLimitPerMinute }));
    app.use("/v1", stacksAndJobsRouter(deps.jobs, auth, { streamsPerCaller: deps.streamsPerCaller }, { idempotency: deps.idempotency }));
    app.use("/v1", approvalsRouter(deps.approvals, auth));
    app.use("/v1", auditRouter(deps.audit, auth));
    app.use("/v1", notificationsRouter(deps.notifications, auth));
    app.use("/v1", repairRouter(deps.recovery, deps.jobs, auth));
    app.use("/v1", webhooksRouter(deps.webhooks, { unsignedPerMinute: deps.refusalRateLimitPerMinute, refusals: deps.refusals }));
    app.use("/v1", whoamiRouter(auth));
    app.use("/v1", tokensRouter(deps.tokenAdmin, auth));
    if (deps.webDir && fs.existsSync(deps.webDir)) {
        app.use(
            "/",
            (_req, res, next) => {
                res.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
                res.set("Referrer-Policy", "no-referrer");
                next();
            },
            express.static(deps.webDir, { index: "index.html", fallthrough: true }),
        );
    }
    app.use((req, _res, next) => next(notFound(`No route ${req.method} ${req.path}; see /v1/openapi.json.`)));
}

/** Errors from the JSON body parser carry a `type`; map the ones a client can cause. */
function fromBodyParser(err: unknown, limit: number): AppError | undefined {
    const type = (err as { type?: unknown })?.type;
    if (type === "entity.too.large") return payloadTooLarge((err as { limit?: number }).limit ?? limit);
    if (type === "entity.parse.failed") return badRequest("The request body is not valid JSON.");
    if (type === "encoding.unsupported" || type === "charset.unsupported") return new AppError("UNSUPPORTED_MEDIA_TYPE", 415, "Send the body as UTF-8 JSON.");
    // The router could not decode a path parameter (`%ZZ`).
    if (err instanceof URIError) return badRequest("The request path is not valid percent-encoding.");
    return undefined;
}

/**
 * A store that cannot be reached or written (the database away, its connections used up, the
 * disk full) is the service's condition, not a fault of the request: 503 with Retry-After, and
 * nothing was done (a job that cannot be stored is not started).
 */
function fromStore(err: unknown): AppError | undefined {
    if (!isTransient(err)) return undefined;
    return new AppError("STORE_UNAVAILABLE", 503, "The service's store cannot be reached or written right now (its database is away, out of connections, or its disk is full); nothing was done. Retry in a few seconds.", { retryAfterSeconds: 5 });
}

function defineErrorHandling(app: express.Application, deps: AppDeps): void {
    // The one place errors become responses: an AppError renders as itself, anything else is
    // logged in full and answered with a generic 500, never with its message or stack.
    const handler: ErrorRequestHandler = (err, req, res, _next) => {
        const known = isAppError(err) ? err : (fromBodyParser(err, deps.bodyLimit) ?? fromStore(err));
        const error = known ?? internal();
        if (!known) deps.logger.error({ err, method: req.method, path: req.path }, "unhandled error");
        else if (known.code === "STORE_UNAVAILABLE") {
            // The database's own error says why; an answer the service made itself has no more to say than its message.
            deps.logger.warn(isAppError(err) ? { code: known.code, path: req.path } : { err, path: req.path }, known.message);
            res.set("Retry-After", "5");
        }
        else if (error.status >= 500) deps.logger.warn({ code: error.code, path: req.path }, error.message);
        if (res.headersSent) {
            res.end();
            return;
        }
        res.status(error.status).json({ error: error.toJSON() });
    };
    app.use(handler);
}
