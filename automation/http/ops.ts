import { Router } from "express";
import type { ServiceMetrics } from "../metrics";
import { caseSensitiveRouter } from "./router";

export interface Readiness {
    ready: boolean;
    checks: Record<string, { ok: boolean; detail?: string }>;
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
