import * as fs from "node:fs";
import express, { type ErrorRequestHandler, type Router } from "express";
import { AppError, badRequest, internal, isAppError, notFound, payloadTooLarge } from "./errors";
import { opsRouter, type Readiness } from "./http/ops";
import { openApiDocument } from "./http/openapi";
import { apiRouter, type AuthDeps } from "./http/routes";
import { whoamiRouter } from "./http/whoami";
import type { JobService } from "./jobs/service";
import type { Logger } from "./logger";
import type { ServiceMetrics } from "./metrics";

export interface AppDeps {
    service: JobService;
    logger: Logger;
    auth: AuthDeps;
    metrics: ServiceMetrics;
    readiness: () => Promise<Readiness>;
    /** Largest accepted JSON body in bytes; larger ones get 413. */
    bodyLimit: number;
    /** Directory of the dashboard's static files, served at `/`. @default none */
    webDir?: string;
    /** Further routers under /v1 (approvals, audit, webhooks, repair); each does its own auth. */
    routers?: Router[];
}

/**
 * The dashboard's policy: only its own scripts, styles and API; no inline code, no framing.
 * The page is static files, so nothing else is needed.
 */
export const CONTENT_SECURITY_POLICY =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Builds the HTTP app from its dependencies; listening is server.ts's business. */
export function createApp(deps: AppDeps): express.Application {
    const app = express();
    defineCommonMiddlewares(app, deps);
    defineRoutes(app, deps);
    defineErrorHandling(app, deps);
    return app;
}

function defineCommonMiddlewares(app: express.Application, deps: AppDeps): void {
    app.disable("x-powered-by");
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
    // The raw bytes are kept for routes that verify a signature over them (GitHub webhooks).
    app.use(express.json({ limit: deps.bodyLimit, strict: true, verify: (req, _res, buf) => void ((req as { rawBody?: Buffer }).rawBody = buf) }));
}

function defineRoutes(app: express.Application, deps: AppDeps): void {
    app.use(opsRouter({ readiness: deps.readiness, metrics: deps.metrics }));
    app.get("/v1/openapi.json", (_req, res) => {
        res.json(openApiDocument());
    });
    for (const router of deps.routers ?? []) app.use("/v1", router);
    app.use("/v1", apiRouter(deps.service, deps.auth));
    app.use("/v1", whoamiRouter(deps.auth));
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
    if (type === "entity.too.large") return payloadTooLarge(limit);
    if (type === "entity.parse.failed") return badRequest("The request body is not valid JSON.");
    if (type === "encoding.unsupported" || type === "charset.unsupported") return new AppError("UNSUPPORTED_MEDIA_TYPE", 415, "Send the body as UTF-8 JSON.");
    return undefined;
}

function defineErrorHandling(app: express.Application, deps: AppDeps): void {
    // The one place errors become responses: an AppError renders as itself, anything else is
    // logged in full and answered with a generic 500, never with its message or stack.
    const handler: ErrorRequestHandler = (err, req, res, _next) => {
        const known = isAppError(err) ? err : fromBodyParser(err, deps.bodyLimit);
        const error = known ?? internal();
        if (!known) deps.logger.error({ err, method: req.method, path: req.path }, "unhandled error");
        else if (error.status >= 500) deps.logger.warn({ code: error.code, path: req.path }, error.message);
        if (res.headersSent) {
            res.end();
            return;
        }
        res.status(error.status).json({ error: error.toJSON() });
    };
    app.use(handler);
}
