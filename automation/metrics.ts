import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { JobMetrics } from "./jobs/service";
import type { Job } from "./jobs/types";

export interface ServiceMetrics extends JobMetrics {
    registry: Registry;
    /** Wires the queue gauges to a live source, read at scrape time. */
    watchQueue(depth: () => { running: number; waiting: number }): void;
    observeHttp(method: string, route: string, status: number, seconds: number): void;
    /** A refused request (401, 403, 400, 429): counted, while the audit log keeps only a sample. */
    refused(status: number): void;
}

/** One registry per service instance (tests build several apps in one process). */
export function createMetrics(): ServiceMetrics {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: "automation_" });
    const jobs = new Counter({ name: "automation_jobs_total", help: "Finished jobs by operation, stack and final state.", labelNames: ["op", "stack", "result"], registers: [registry] });
    const duration = new Histogram({
        name: "automation_job_duration_seconds",
        help: "Run time of jobs from worker start to final state.",
        labelNames: ["op", "stack"],
        buckets: [1, 2, 5, 10, 30, 60, 120, 300, 900],
        registers: [registry],
    });
    const spawns = new Counter({ name: "automation_cli_spawns_total", help: "Worker processes started (each runs the Pulumi CLI for one job).", labelNames: ["op"], registers: [registry] });
    const http = new Histogram({
        name: "automation_http_request_duration_seconds",
        help: "HTTP request latency by route template.",
        labelNames: ["method", "route", "status"],
        buckets: [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1],
        registers: [registry],
    });
    const refused = new Counter({ name: "automation_http_refused_total", help: "Requests refused as unauthenticated, forbidden, malformed or rate-limited, by status.", labelNames: ["status"], registers: [registry] });
    let depth = () => ({ running: 0, waiting: 0 });
    new Gauge({
        name: "automation_queue_depth",
        help: "Jobs waiting for their stack or a free slot.",
        registers: [registry],
        collect() {
            this.set(depth().waiting);
        },
    });
    new Gauge({
        name: "automation_jobs_running",
        help: "Jobs running now.",
        registers: [registry],
        collect() {
            this.set(depth().running);
        },
    });
    return {
        registry,
        watchQueue: (d) => (depth = d),
        jobStarted: (job: Job) => spawns.inc({ op: job.op }),
        jobFinished: (job: Job, seconds: number) => {
            jobs.inc({ op: job.op, stack: job.stack, result: job.state });
            if (seconds > 0) duration.observe({ op: job.op, stack: job.stack }, seconds);
        },
        observeHttp: (method, route, status, seconds) => http.observe({ method, route, status: String(status) }, seconds),
        refused: (status) => refused.inc({ status: String(status) }),
    };
}
