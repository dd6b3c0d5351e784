import { Router } from "express";
import type { ServiceMetrics } from "../metrics";
import { caseSensitiveRouter } from "./router";
import { json } from "./openapiParts";

export interface Readiness {
    ready: boolean;
    checks: Record<string, { ok: boolean; detail?: string }>;
}

/**
 * The checks a readiness report says fail, each with its detail (the fix, where the check knows
 * it), for the start-up log; none when the service is ready.
 */
export function failingChecks(report: Readiness): Array<{ name: string; detail: string }> {
    return Object.entries(report.checks)
        .filter(([, check]) => !check.ok)
        .map(([name, check]) => ({ name, detail: check.detail ?? "failed" }));
}

/** The start-up log line of a service that is not ready, or undefined when it is. */
export function notReadyMessage(report: Readiness): string | undefined {
    const failing = failingChecks(report);
    if (!failing.length) return undefined;
    return `not ready: ${failing.map((c) => `${c.name}: ${c.detail}`).join("; ")}. GET /readyz answers 503 and jobs may fail until these pass`;
}

/** Liveness, readiness and Prometheus metrics: unauthenticated, for probes and scrapers. */
export function opsRouter(deps: { readiness: () => Promise<Readiness>; metrics: ServiceMetrics }): Router {
    const r = caseSensitiveRouter();
    r.get("/healthz", (_req, res) => {
        res.json({ status: "ok" });
    });
    r.get("/readyz", async (_req, res) => {
        const report = await deps.readiness();
        res.status(report.ready ? 200 : 503).json(report);
    });
    r.get("/metrics", async (_req, res) => {
        res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    });
    return r;
}

/** This router's routes in the OpenAPI document (put together by http/openapi.ts). */
export function opsOpenApiPaths(): Record<string, unknown> {
    return {
        "/v1/openapi.json": { get: { summary: "This document", security: [], tags: ["ops"], responses: { 200: { description: "OpenAPI 3.0 JSON." } } } },
        "/healthz": { get: { summary: "Liveness", security: [], tags: ["ops"], responses: { 200: { description: "Alive." } } } },
        "/readyz": { get: { summary: "Readiness: CLI version, backend and store writable", security: [], tags: ["ops"], responses: { 200: { description: "Ready." }, 503: { description: "Not ready; checks say why." } } } },
        "/metrics": { get: { summary: "Prometheus metrics", security: [], tags: ["ops"], responses: { 200: { description: "text/plain exposition format" } } } },
    };
}
