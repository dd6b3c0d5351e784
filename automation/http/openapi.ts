import { z } from "zod";
import { JOB_STATES, OPS } from "../jobs/types";
import { DestroyBody, PreviewBody, RefreshBody, UpdateBody } from "./schemas";

// Request bodies come from the same zod schemas the routes validate with, so the document
// cannot drift from what the service accepts.
const bodySchema = (schema: z.ZodType) => z.toJSONSchema(schema, { target: "openapi-3.0", io: "input" });

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ "application/json": { schema } });
const errorResponse = (description: string) => ({ description, content: json(ref("Error")) });
const stackParam = { name: "stack", in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$" }, description: "A stack with a Pulumi.<stack>.yaml in the project." };
const idParam = { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } };

const common = {
    401: errorResponse("No or unknown bearer token (UNAUTHENTICATED)."),
    403: errorResponse("The token's role is too low (FORBIDDEN)."),
};

function startOp(op: string, role: string, body: z.ZodType, extra = "") {
    return {
        post: {
            summary: `Queue a ${op}${extra}`,
            description: `Role: ${role}. Answers 202 with the job and its Location; the job runs when its stack is free.`,
            tags: ["jobs"],
            parameters: [stackParam],
            requestBody: { required: false, content: json(bodySchema(body)) },
            responses: {
                202: { description: "Queued.", headers: { Location: { schema: { type: "string" } } }, content: json(ref("Job")) },
                ...common,
                404: errorResponse("Unknown stack (STACK_NOT_FOUND)."),
                409: errorResponse("Stack busy with noQueue (STACK_BUSY), queue full (QUEUE_FULL), or a guard refused (e.g. PLAN_STALE)."),
                413: errorResponse("Body too large (PAYLOAD_TOO_LARGE)."),
                422: errorResponse("Invalid input (INVALID_INPUT)."),
            },
        },
    };
}

/** The OpenAPI 3.0 description of the /v1 API, served at /v1/openapi.json. */
export function openApiDocument(): Record<string, unknown> {
    return {
        openapi: "3.0.3",
        info: {
            title: "todobackend automation service",
            version: "1",
            description: "Runs Pulumi previews, updates, refreshes and destroys of this project's stacks as queued jobs. Bearer tokens; roles viewer < operator < approver < admin.",
        },
        components: {
            securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
            schemas: {
                Error: {
                    type: "object",
                    required: ["error"],
                    properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" }, details: { type: "object" } } } },
                },
                Job: {
                    type: "object",
                    required: ["id", "stack", "op", "state", "triggeredBy", "createdAt", "options"],
                    properties: {
                        id: { type: "string", format: "uuid" },
                        stack: { type: "string" },
                        op: { type: "string", enum: [...OPS] },
                        state: { type: "string", enum: [...JOB_STATES] },
                        triggeredBy: { type: "string" },
                        createdAt: { type: "string", format: "date-time" },
                        startedAt: { type: "string", format: "date-time" },
                        finishedAt: { type: "string", format: "date-time" },
                        options: { type: "object" },
                        summary: {
                            type: "object",
                            properties: {
                                counts: { type: "object", additionalProperties: { type: "integer" } },
                                steps: { type: "array", items: { type: "object", properties: { urn: { type: "string" }, type: { type: "string" }, op: { type: "string" } } } },
                                policyViolations: { type: "array", items: { type: "object" } },
                                outputs: { type: "object", description: "Secret outputs are shown as [secret]." },
                                stopReason: { type: "string" },
                            },
                        },
                        error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } } },
                    },
                },
                StackStatus: {
                    type: "object",
                    properties: {
                        name: { type: "string" },
                        state: { type: "string", enum: ["idle", "running", "queued"] },
                        runningJob: { type: "string" },
                        queued: { type: "integer" },
                        lastJob: { type: "object" },
                        outputs: { type: "object" },
                    },
                },
            },
        },
        security: [{ bearer: [] }],
        paths: {
            "/v1/stacks": { get: { summary: "List stacks (role viewer)", tags: ["stacks"], responses: { 200: { description: "Stacks.", content: json({ type: "object", properties: { stacks: { type: "array", items: ref("StackStatus") } } }) }, ...common } } },
            "/v1/stacks/{stack}": { get: { summary: "One stack's state, last job and outputs (role viewer)", tags: ["stacks"], parameters: [stackParam], responses: { 200: { description: "Stack.", content: json(ref("StackStatus")) }, ...common, 404: errorResponse("Unknown stack.") } } },
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
            "/v1/jobs/{id}": { get: { summary: "A job with its change summary (role viewer)", tags: ["jobs"], parameters: [idParam], responses: { 200: { description: "Job.", content: json(ref("Job")) }, ...common, 404: errorResponse("Unknown job (JOB_NOT_FOUND).") } } },
            "/v1/jobs/{id}/log": {
                get: {
                    summary: "A page of the job's log (role viewer)",
                    tags: ["jobs"],
                    parameters: [idParam, { name: "cursor", in: "query", schema: { type: "integer", minimum: 0, default: 0 } }, { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 200 } }],
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
                    parameters: [idParam, { name: "Last-Event-ID", in: "header", schema: { type: "integer" } }],
                    responses: { 200: { description: "text/event-stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...common, 404: errorResponse("Unknown job.") },
                },
            },
            "/v1/jobs/{id}/cancel": {
                post: {
                    summary: "Cancel a job (role operator)",
                    description: "Queued: removed at once (200, cancelled). Running: graceful stop, process group killed after AUTOMATION_CANCEL_GRACE_MS (202).",
                    tags: ["jobs"],
                    parameters: [idParam],
                    responses: { 200: { description: "Cancelled.", content: json(ref("Job")) }, 202: { description: "Stopping.", content: json(ref("Job")) }, ...common, 404: errorResponse("Unknown job."), 409: errorResponse("Already finished (JOB_FINISHED).") },
                },
            },
            "/healthz": { get: { summary: "Liveness", security: [], tags: ["ops"], responses: { 200: { description: "Alive." } } } },
            "/readyz": { get: { summary: "Readiness: CLI version, backend and store writable", security: [], tags: ["ops"], responses: { 200: { description: "Ready." }, 503: { description: "Not ready; checks say why." } } } },
            "/metrics": { get: { summary: "Prometheus metrics", security: [], tags: ["ops"], responses: { 200: { description: "text/plain exposition format" } } } },
        },
    };
}
