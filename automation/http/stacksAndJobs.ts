import { Router, type RequestHandler, type Response } from "express";
import { AppError, forbidden, invalidInput } from "../errors";
import type { JobService } from "../jobs/service";
import { JOB_STATES, type Job, type JobOptions, type Op } from "../jobs/types";
import { hasRole } from "../security/roles";
import { callerOf, principalOf } from "../security/middleware";
import { CancelBody, DestroyBody, JobId, JobsQuery, LogQuery, PreviewBody, RefreshBody, StackName, UpdateBody, parse } from "./schemas";
import { auditAs } from "./auditNote";
import { IdempotencyKeys, idempotencyKeyOf, keyInProgress, keyReused, STUCK_CLAIM_MS } from "./idempotency";
import { streamJobEvents } from "./sse";
import { caseSensitiveRouter, type AuthDeps } from "./router";
import { common, errorResponse, idPathParam, json, ref, stackPathParam, startOp } from "./openapiParts";
import { send } from "./responses/registry";
import { StackListSchema, StackStatusSchema } from "./responses/stacks";

/** Event streams one caller may hold open at once. */
export const DEFAULT_STREAMS_PER_CALLER = 10;

const stackParam = (raw: unknown) => parse(StackName, raw, "path.stack");
const jobParam = (raw: unknown) => parse(JobId, raw, "path.id");

function accepted(res: Response, job: Job): void {
    res.status(202).location(`/v1/jobs/${job.id}`).json(job);
}

/**
 * The stacks and their jobs under /v1: list and read stacks, start previews, updates, refreshes
 * and destroys, and read, follow and cancel jobs. Thin handlers that validate, call the job
 * service and render.
 */
export function stacksAndJobsRouter(service: JobService, auth: AuthDeps, limits: { streamsPerCaller?: number } = {}, deps: { idempotency?: IdempotencyKeys } = {}): Router {
    const r = caseSensitiveRouter();
    const streams = new Map<string, number>();
    const streamsPerCaller = limits.streamsPerCaller ?? DEFAULT_STREAMS_PER_CALLER;
    const viewer = [auth.authenticate, auth.requireRole("viewer")];
    const operator = [auth.authenticate, auth.requireRole("operator")];
    const admin = [auth.authenticate, auth.requireRole("admin")];
    const who = (res: Response) => principalOf(res)?.name ?? "unknown";

    r.get("/stacks", ...viewer, async (_req, res) => {
        send(res, StackListSchema, { stacks: await service.listStacks() });
    });
    r.get("/stacks/:stack", ...viewer, async (req, res) => {
        send(res, StackStatusSchema, await service.stackStatus(stackParam(req.params.stack)));
    });

    const start = (op: Op, body: (raw: unknown, stack: string) => { noQueue?: boolean; message?: string; previewId?: string; mode?: JobOptions["mode"] }): RequestHandler =>
        async (req, res) => {
            const stack = stackParam(req.params.stack);
            service.assertStack(stack);
            const options = body(req.body, stack);
            const principal = callerOf(res);
            const key = idempotencyKeyOf(req.get("idempotency-key"));
            if (key === undefined || !deps.idempotency) {
                accepted(res, await service.submit({ stack, op, options, principal }));
                return;
            }
            // A retried request gets the job its first attempt created, never a second one.
            let claim = await deps.idempotency.claim(principal.name, key, IdempotencyKeys.requestHash(req.method, req.path, req.body));
            if (claim.kind === "mismatch") throw keyReused(key);
            if (claim.kind === "in-progress" && claim.sinceMs > STUCK_CLAIM_MS) {
                // Its first attempt died after claiming the key: it may or may not have created the job.
                const created = await service.jobOfIdempotencyKey(principal.name, key);
                if (created) {
                    await deps.idempotency.complete(principal.name, key, created.id);
                    claim = { kind: "replay", jobId: created.id };
                } else if (await deps.idempotency.takeOver(principal.name, key)) claim = { kind: "new" };
            }
            if (claim.kind === "in-progress") {
                res.set("Retry-After", "1");
                throw keyInProgress(key);
            }
            if (claim.kind === "replay") {
                res.set("Idempotent-Replayed", "true");
                accepted(res, await service.getJob(claim.jobId));
                return;
            }
            let job: Job;
            try {
                // The key goes with the job, so a retry after this process dies finds it.
                job = await service.submit({ stack, op, options: { ...options, idempotencyKey: key }, principal });
            } catch (e) {
                await deps.idempotency.release(principal.name, key);
                throw e;
            }
            await deps.idempotency.complete(principal.name, key, job.id);
            accepted(res, job);
        };
    r.post("/stacks/:stack/previews", ...operator, start("preview", (b) => parse(PreviewBody, b, "body")));
    r.post("/stacks/:stack/updates", ...operator, start("update", (b) => parse(UpdateBody, b, "body")));
    r.post("/stacks/:stack/refreshes", ...operator, start("refresh", (b) => parse(RefreshBody, b, "body")));
    r.post(
        "/stacks/:stack/destroys",
        ...admin,
        start("destroy", (b, stack) => {
            // Asked in our words before the schema's, which would only say the field is missing.
            if (typeof (b as { confirm?: unknown } | undefined)?.confirm !== "string") {
                throw invalidInput(`Destroying "${stack}" needs {"confirm": "${stack}"} in the body.`, { problems: [{ field: "body.confirm", problem: `must equal "${stack}"` }] });
            }
            const { confirm, ...rest } = parse(DestroyBody, b, "body");
            // Typing the stack's name is the guard against destroying the wrong one by a slip.
            if (confirm !== stack) throw invalidInput(`Destroying "${stack}" needs {"confirm": "${stack}"} in the body.`, { problems: [{ field: "body.confirm", problem: `must equal "${stack}"` }] });
            return rest;
        }),
    );

    r.get("/jobs", ...viewer, async (req, res) => {
        const q = parse(JobsQuery, req.query, "query");
        res.json({ jobs: await service.listJobs(q) });
    });
    r.get("/jobs/:id", ...viewer, async (req, res) => {
        res.json(await service.getJob(jobParam(req.params.id)));
    });
    r.get("/jobs/:id/log", ...viewer, async (req, res) => {
        const id = jobParam(req.params.id);
        const job = await service.getJob(id);
        const q = parse(LogQuery, req.query, "query");
        const page = await service.logPage(id, q.cursor ?? 0, q.limit ?? 200);
        res.json({ jobId: id, state: job.state, ...page });
    });
    r.get("/jobs/:id/events", ...viewer, async (req, res) => {
        const id = jobParam(req.params.id);
        await service.getJob(id);
        const raw = req.get("last-event-id") ?? (typeof req.query.lastEventId === "string" ? req.query.lastEventId : undefined);
        const after = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : 0;
        // Each open stream holds a socket and a store reader: a caller gets a bounded number.
        const name = who(res);
        const open = streams.get(name) ?? 0;
        if (open >= streamsPerCaller) throw new AppError("TOO_MANY_STREAMS", 429, `${name} already has ${open} event streams open; close one first (at most ${streamsPerCaller} per caller).`, { limit: streamsPerCaller });
        streams.set(name, open + 1);
        res.once("close", () => {
            const left = (streams.get(name) ?? 1) - 1;
            if (left > 0) streams.set(name, left);
            else streams.delete(name);
        });
        streamJobEvents(service, id, after, req, res);
    });
    r.post("/jobs/:id/cancel", ...operator, async (req, res) => {
        const id = jobParam(req.params.id);
        const { force, dryRun } = parse(CancelBody, req.body, "body");
        if (force) {
            // A kill mid-step can cut an approved prod update in half: admins only, said first.
            const principal = callerOf(res);
            if (!hasRole(principal.role, "admin")) {
                throw forbidden(`Force-cancel kills job "${id}" in the middle of its steps and can leave its stack needing repair, so it needs an admin; a cancel without force lets the running steps finish.`, { id, required: "admin" });
            }
            const { job, leavesBehind } = dryRun ? await service.forceCancelPreview(id) : await service.forceCancel(id, principal.name);
            if (!dryRun) auditAs(res, { action: "job.force-cancel", stack: job.stack, jobId: id, details: { leavesBehind } });
            res.status(dryRun ? 200 : 202).json({ ...job, leavesBehind });
            return;
        }
        if (dryRun) throw invalidInput(`dryRun only goes with force: {"force": true, "dryRun": true} says what a force-cancel would leave behind.`, { problems: [{ field: "body.dryRun", problem: "needs force" }] });
        const job = await service.cancel(id, who(res));
        res.status(job.state === "cancelled" ? 200 : 202).json(job);
    });
    return r;
}

/** This router's routes in the OpenAPI document (put together by http/openapi.ts). */
export function stacksAndJobsOpenApiPaths(): Record<string, unknown> {
    return {
        "/v1/stacks": { get: { summary: "List stacks (role viewer)", tags: ["stacks"], responses: { 200: { description: "Stacks.", content: json(ref("StackList")) }, ...common } } },
        "/v1/stacks/{stack}": { get: { summary: "One stack's state, last job and outputs (role viewer)", tags: ["stacks"], parameters: [stackPathParam], responses: { 200: { description: "Stack.", content: json(ref("StackStatus")) }, ...common, 404: errorResponse("Unknown stack.") } } },
        "/v1/stacks/{stack}/previews": startOp("preview", "operator", PreviewBody, "; a newer preview supersedes a waiting one"),
        "/v1/stacks/{stack}/updates": startOp("update", "operator", UpdateBody, "; previewId binds it to an approved preview"),
        "/v1/stacks/{stack}/refreshes": startOp("refresh", "operator", RefreshBody, "; mode preview (default) only reports drift"),
        "/v1/stacks/{stack}/destroys": startOp("destroy", "admin", DestroyBody, '; needs {"confirm": "<stack>"}'),
        "/v1/jobs": {
            get: {
                summary: "List jobs, newest first (role viewer)",
                tags: ["jobs"],
                parameters: [
                    { name: "stack", in: "query", schema: { type: "string" } },
                    { name: "state", in: "query", schema: { type: "string", enum: [...JOB_STATES] } },
                    { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 50 } },
                ],
                responses: { 200: { description: "Jobs.", content: json({ type: "object", properties: { jobs: { type: "array", items: ref("Job") } } }) }, ...common, 422: errorResponse("Invalid query.") },
            },
        },
        "/v1/jobs/{id}": { get: { summary: "A job with its change summary (role viewer)", tags: ["jobs"], parameters: [idPathParam], responses: { 200: { description: "Job.", content: json(ref("Job")) }, ...common, 404: errorResponse("Unknown job (JOB_NOT_FOUND).") } } },
        "/v1/jobs/{id}/log": {
            get: {
                summary: "A page of the job's log (role viewer)",
                tags: ["jobs"],
                parameters: [idPathParam, { name: "cursor", in: "query", schema: { type: "integer", minimum: 0, default: 0 } }, { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 200 } }],
                responses: {
                    200: { description: "Lines after the cursor; pass nextCursor to continue.", content: json({ type: "object", properties: { jobId: { type: "string" }, state: { type: "string" }, lines: { type: "array", items: { type: "object", properties: { seq: { type: "integer" }, at: { type: "string" }, text: { type: "string" } } } }, nextCursor: { type: "integer" } } }) },
                    ...common,
                    404: errorResponse("Unknown job."),
                },
            },
        },
        "/v1/jobs/{id}/events": {
            get: {
                summary: "Server-Sent Events of the job (role viewer)",
                description: "Stored engine events and state changes, then live ones; each `id` is the event's sequence number. Reconnect with Last-Event-ID (header or ?lastEventId=) to resume. Ends after the final state event.",
                tags: ["jobs"],
                parameters: [idPathParam, { name: "Last-Event-ID", in: "header", schema: { type: "integer" } }],
                responses: {
                    200: { description: "text/event-stream", content: { "text/event-stream": { schema: { type: "string" } } } },
                    ...common,
                    404: errorResponse("Unknown job."),
                    429: errorResponse("The caller already holds AUTOMATION_SSE_STREAMS_PER_CALLER open streams (TOO_MANY_STREAMS), or too many refused requests (RATE_LIMITED)."),
                },
            },
        },
        "/v1/jobs/{id}/cancel": {
            post: {
                summary: "Cancel a job (role operator)",
                description: "Queued: removed at once (200, cancelled). Running: graceful stop, the resource operations in flight finish (202); killed only after AUTOMATION_CANCEL_GRACE_MS when set. force (admin): kills a cancelling job now; with dryRun only says what that leaves behind (leavesBehind).",
                tags: ["jobs"],
                parameters: [idPathParam],
                requestBody: { required: false, content: json({ type: "object", additionalProperties: false, properties: { force: { type: "boolean", description: "Admin: kill a job already cancelling now." }, dryRun: { type: "boolean", description: "With force: only say what the kill would leave behind." } } }) },
                responses: {
                    200: { description: "Cancelled; or, for a dry run, the job with leavesBehind {inFlight: [{urn, op}], needsRepair, message}.", content: json(ref("Job")) },
                    202: { description: "Stopping; a force-cancel adds leavesBehind.", content: json(ref("Job")) },
                    ...common,
                    403: errorResponse("force without the admin role (FORBIDDEN)."),
                    404: errorResponse("Unknown job."),
                    409: errorResponse("Already finished (JOB_FINISHED), or force on a job not being cancelled (CONFLICT)."),
                },
            },
        },
    };
}
