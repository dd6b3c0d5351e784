import { z } from "zod";
import { ERROR_CODES } from "../errorCodes";
import { withArticle } from "../errors";
import { JOB_STATES, OPS } from "../jobs/types";
import { STACK_NAME_PATTERN } from "../pulumi/stacks";
import { ApprovalBody } from "./approvals";
import { AuditQuery } from "./audit";
import { DeliveriesQuery } from "./notifications";
import { RepairBody, UnlockBody } from "./repair";
import { DestroyBody, PreviewBody, RefreshBody, UpdateBody } from "./schemas";
import { tokensOpenApiPaths } from "./tokens";

// Request bodies come from the same zod schemas the routes validate with, so the document
// cannot drift from what the service accepts.
const bodySchema = (schema: z.ZodType) => z.toJSONSchema(schema, { target: "openapi-3.0", io: "input" });

/** Query parameters from a zod object schema, one per field. */
function queryParams(schema: z.ZodObject): Record<string, unknown>[] {
    const properties = (bodySchema(schema) as { properties?: Record<string, unknown> }).properties ?? {};
    return Object.entries(properties).map(([name, schema]) => ({ name, in: "query", schema }));
}
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ "application/json": { schema } });
const errorResponse = (description: string) => ({ description, content: json(ref("Error")) });
const stackParam = { name: "stack", in: "path", required: true, schema: { type: "string", pattern: `^${STACK_NAME_PATTERN}$` }, description: "A stack with a Pulumi.<stack>.yaml in the project." };
const idParam = { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } };

const common = {
    // Any /v1 request with a body: checked before its route (app.ts), whatever the operation.
    400: errorResponse("The body is not valid JSON (BAD_REQUEST)."),
    415: errorResponse("A body that is not JSON (UNSUPPORTED_MEDIA_TYPE)."),
    401: errorResponse("No or unknown bearer token (UNAUTHENTICATED)."),
    403: errorResponse("The token's role is too low (FORBIDDEN)."),
    429: errorResponse("Too many mutating or refused requests from this caller (RATE_LIMITED)."),
};

function startOp(op: string, role: string, body: z.ZodType, extra = "") {
    return {
        post: {
            summary: `Queue ${withArticle(op)}${extra}`,
            description: `Role: ${role}. Answers 202 with the job and its Location; the job runs when its stack is free.`,
            tags: ["jobs"],
            parameters: [
                stackParam,
                {
                    name: "Idempotency-Key",
                    in: "header",
                    required: false,
                    schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$" },
                    description: "Send the same key when retrying: the same caller, path and body answer the job the first request created (Idempotent-Replayed: true), another body 409 IDEMPOTENCY_KEY_REUSED. A refused request keeps nothing. Kept 24 h.",
                },
            ],
            requestBody: { required: false, content: json(bodySchema(body)) },
            responses: {
                202: { description: "Queued.", headers: { Location: { schema: { type: "string" } } }, content: json(ref("Job")) },
                ...common,
                404: errorResponse("Unknown stack (STACK_NOT_FOUND)."),
                409: errorResponse("Stack busy with noQueue (STACK_BUSY), queue full (QUEUE_FULL), stack needs repair (NEEDS_REPAIR: see /v1/stacks/{stack}/repair), a guard refused (e.g. PLAN_STALE, FROZEN), or the Idempotency-Key was used for another request (IDEMPOTENCY_KEY_REUSED) or its first request is still being admitted (IDEMPOTENCY_IN_PROGRESS)."),
                413: errorResponse("Body too large (PAYLOAD_TOO_LARGE)."),
                422: errorResponse("Invalid input (INVALID_INPUT), or an approval the stack's policy needs is missing (APPROVAL_REQUIRED)."),
                503: errorResponse("The service is shutting down (SHUTTING_DOWN), or the stack's policy file has never validated (POLICY_INVALID)."),
            },
        },
    };
}

/** The OpenAPI 3.0 description of the /v1 API, served at /v1/openapi.json. */
export function openApiDocument(): Record<string, unknown> {
    return withPathParameterRefusals({
        openapi: "3.0.3",
        info: {
            title: "todobackend automation service",
            version: "1",
            description: "Runs Pulumi previews, updates, refreshes and destroys of this project's stacks as queued jobs. Bearer tokens for machines, or a person's session cookie from sign-in (/auth/login; changes also carry X-CSRF-Token); roles viewer < operator < approver < admin. Every error code: docs/errors.md.",
        },
        components: {
            securitySchemes: {
                bearer: { type: "http", scheme: "bearer" },
                session: { type: "apiKey", in: "cookie", name: "__Host-automation-session", description: "A person signed in through the identity provider; every change made with it repeats the session's CSRF token in X-CSRF-Token (GET /v1/whoami gives it)." },
            },
            schemas: {
                Error: {
                    type: "object",
                    required: ["error"],
                    properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string", enum: Object.keys(ERROR_CODES), description: "Stable, for machines; each is explained in docs/errors.md." }, message: { type: "string" }, details: { type: "object" } } } },
                },
                Job: {
                    type: "object",
                    required: ["id", "stack", "op", "state", "triggeredBy", "triggeredVia", "createdAt", "options"],
                    properties: {
                        id: { type: "string", format: "uuid" },
                        stack: { type: "string" },
                        op: { type: "string", enum: [...OPS] },
                        state: { type: "string", enum: [...JOB_STATES] },
                        triggeredBy: { type: "string" },
                        triggeredVia: { type: "string", enum: ["token", "session", "webhook", "system"], description: "How triggeredBy was authenticated (system: the service's own schedules and stack dependencies, triggeredBy schedule:… or dependency:<stack>); when the job leaves the queue it is checked again as the tokens (or the policy's github section) say then." },
                        createdAt: { type: "string", format: "date-time" },
                        startedAt: { type: "string", format: "date-time" },
                        finishedAt: { type: "string", format: "date-time" },
                        cancelRequestedBy: { type: "string", description: "Who asked to cancel the job, while it is cancelling." },
                        leavesBehind: {
                            type: "object",
                            description: "Only in the answer to a force-cancel (or its dryRun): the resource operations the kill cuts off and whether the stack then needs repair.",
                            required: ["inFlight", "needsRepair", "message"],
                            properties: {
                                inFlight: { type: "array", items: { type: "object", required: ["urn", "op"], properties: { urn: { type: "string" }, op: { type: "string" } } } },
                                needsRepair: { type: "boolean" },
                                message: { type: "string" },
                            },
                        },
                        instance: { type: "string", description: "The service instance that runs or ran the job (AUTOMATION_INSTANCE_ID, or host-pid-random)." },
                        options: {
                            type: "object",
                            properties: {
                                previewId: { type: "string", format: "uuid" },
                                mode: { type: "string", enum: ["preview", "apply", "plan"] },
                                refresh: { type: "boolean", description: "Preview/update: the state was read from the cloud first (--refresh)." },
                                noQueue: { type: "boolean" },
                                message: { type: "string" },
                                idempotencyKey: { type: "string", description: "The Idempotency-Key header of the request that created the job." },
                                source: {
                                    type: "object",
                                    description: "Set by the GitHub webhook: the preview ran this pull request's head commit, checked out for the job, and cannot be approved.",
                                    properties: { repository: { type: "string" }, pullRequest: { type: "integer" }, sha: { type: "string" } },
                                },
                                onBehalfOf: {
                                    type: "object",
                                    description: "Set by the service on a job a stack dependency started: whose authority it runs with (the caller, GitHub delivery or schedule that began the chain).",
                                    properties: { name: { type: "string" }, via: { type: "string", enum: ["token", "session", "webhook", "system"] } },
                                },
                            },
                        },
                        summary: {
                            type: "object",
                            properties: {
                                counts: { type: "object", additionalProperties: { type: "integer" } },
                                steps: {
                                    type: "array",
                                    items: {
                                        type: "object",
                                        required: ["urn", "type", "op"],
                                        properties: {
                                            urn: { type: "string" },
                                            type: { type: "string" },
                                            op: { type: "string", description: "create, update, delete, replace, create-replacement, delete-replaced, …; for a refresh: update (drift) or delete (gone)" },
                                            diffs: {
                                                type: "array",
                                                description: "The properties the step changes (for a refresh: the drifted ones), as `pulumi preview --diff` shows them; secrets [secret], long values elided.",
                                                items: {
                                                    type: "object",
                                                    required: ["path", "kind"],
                                                    properties: { path: { type: "string" }, kind: { type: "string", enum: ["add", "delete", "update", "replace"] }, old: { description: "Before (absent for add)." }, new: { description: "After (absent for delete)." } },
                                                },
                                            },
                                            replaceReasons: { type: "array", items: { type: "string" }, description: "For a replacement: the properties that force it." },
                                        },
                                    },
                                },
                                policyViolations: { type: "array", items: { type: "object" } },
                                outputs: { type: "object", description: "Secret outputs are shown as [secret]." },
                                stopReason: { type: "string" },
                            },
                        },
                        error: { type: "object", required: ["code", "message"], properties: { code: { type: "string", enum: Object.keys(ERROR_CODES), description: "docs/errors.md" }, message: { type: "string" }, details: { type: "object" } } },
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
                        policy: { type: "string", description: "who may do what on the stack, in words" },
                        drift: { type: "object", description: "What the last successful refresh found: checkedAt, jobId, mode, drifted (count), resources [{urn, op, properties}]" },
                        outputs: { type: "object" },
                        schedules: {
                            type: "object",
                            description: "The stack's schedules (schedules: in its policy file), each with its next run and its last run (at, jobId, state, drifted resources for a drift check, or a note why no job started).",
                            properties: {
                                driftCheck: { type: "object", properties: { cron: { type: "string" }, remediate: { type: "boolean" }, nextRun: { type: "string", format: "date-time" }, last: { type: "object" } } },
                                destroy: { type: "object", properties: { ttlMinutes: { type: "integer" }, remindMinutesBefore: { type: "integer" }, nextRun: { type: "string", format: "date-time" }, last: { type: "object" } } },
                            },
                        },
                        dependencies: {
                            type: "object",
                            description: "The stacks this one follows (dependsOn: [{stack, outputs?, run}]), the StackReferences its program was last seen making, and warnings where the two disagree.",
                            properties: { dependsOn: { type: "array", items: { type: "object" } }, references: { type: "array", items: { type: "string" } }, warnings: { type: "array", items: { type: "string" } } },
                        },
                        repair: {
                            type: "object",
                            description: "Present when crash recovery runs (npm start). needed: a run that did not finish left pending operations or a lock nobody may clear; new jobs get 409 NEEDS_REPAIR until POST /v1/stacks/{stack}/repair clears it.",
                            required: ["needed", "findings"],
                            properties: { needed: { type: "boolean" }, findings: { type: "array", items: ref("Finding") }, checkedAt: { type: "string", format: "date-time" } },
                        },
                    },
                },
                Finding: {
                    type: "object",
                    required: ["kind"],
                    properties: {
                        kind: { type: "string", enum: ["stale-lock", "live-lock", "foreign-lock", "unreadable-lock", "pending-operations"] },
                        lock: { type: "object", properties: { file: { type: "string" }, pid: { type: "integer" }, username: { type: "string" }, hostname: { type: "string" }, timestamp: { type: "string" } } },
                        cleared: { type: "boolean" },
                        operations: { type: "array", items: { type: "object", properties: { type: { type: "string" }, urn: { type: "string" } } } },
                    },
                },
                Approval: {
                    type: "object",
                    properties: {
                        id: { type: "string" },
                        previewId: { type: "string", format: "uuid" },
                        stack: { type: "string" },
                        operation: { type: "string", enum: ["update", "destroy"] },
                        decision: { type: "string", enum: ["approve", "reject"] },
                        by: { type: "string" },
                        role: { type: "string" },
                        comment: { type: "string" },
                        at: { type: "string", format: "date-time" },
                    },
                },
                ApprovalStatus: {
                    type: "object",
                    properties: { required: { type: "integer" }, approvedBy: { type: "array", items: { type: "string" } }, rejectedBy: { type: "array", items: { type: "string" } }, satisfied: { type: "boolean" } },
                },
            },
        },
        security: [{ bearer: [] }, { session: [] }],
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
                    parameters: [idParam],
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
            "/v1/jobs/{id}/approvals": {
                get: {
                    summary: "A preview's approvals and whether they suffice for an update or destroy (role viewer)",
                    tags: ["approvals"],
                    parameters: [idParam],
                    responses: {
                        200: {
                            description: "Approvals of the preview.",
                            content: json({ type: "object", properties: { previewId: { type: "string" }, stack: { type: "string" }, approvals: { type: "array", items: ref("Approval") }, unrecorded: { type: "array", items: ref("Approval"), description: "Rows the audit chain does not record (written outside the service): they never count." }, update: ref("ApprovalStatus"), destroy: ref("ApprovalStatus"), latest: { type: "boolean", description: "False once a newer preview of the stack exists (approvals of this one are void)." },
                                appliedBy: { type: "object", description: "The update or destroy that applied the preview (its approval is used up).", properties: { jobId: { type: "string" }, op: { type: "string" }, finishedAt: { type: "string", format: "date-time" } } },
                                commit: { type: "string", description: "The git commit of the project when the preview ran (kept with its fingerprint; the fingerprint also pins uncommitted files)." },
                                staleness: {
                                    type: "object",
                                    description: "For the latest, unapplied preview of the service's checkout: whether the stack's state, program or config changed since it ran, i.e. whether an update or destroy applying it would be refused with 409 PLAN_STALE. The stack's current fingerprint is reused for 5 s (it reads the state); the admission check takes its own.",
                                    required: ["checkedAt", "changes"],
                                    properties: {
                                        checkedAt: { type: "string", format: "date-time" },
                                        stale: { type: "boolean", description: "Absent when the state could not be read (error)." },
                                        changes: { type: "array", items: { type: "object", properties: { part: { type: "string", enum: ["state", "program", "config", "preview"] }, message: { type: "string" } } } },
                                        error: { type: "string" },
                                    },
                                },
                                resources: {
                                    type: "array",
                                    description: "The resources in the stack's state as the succeeded preview saw them (every step but creates and reads; the stack and providers left out): what a destroy applying it deletes. Absent once its events are pruned (AUTOMATION_JOB_RETENTION).",
                                    items: { type: "object", properties: { urn: { type: "string" }, type: { type: "string" } } },
                                },
                            } }),
                        },
                        ...common,
                        404: errorResponse("Unknown job."),
                    },
                },
                post: {
                    summary: "Approve or reject a preview (role approver; the stack's policy may name the approvers)",
                    description: "The preview's author cannot approve it. Approvals expire (approvalTtlMinutes) and are void once a newer preview of the stack exists.",
                    tags: ["approvals"],
                    parameters: [idParam],
                    requestBody: { required: true, content: json(bodySchema(ApprovalBody)) },
                    responses: {
                        201: { description: "Recorded.", content: json({ type: "object", properties: { approval: ref("Approval"), status: ref("ApprovalStatus") } }) },
                        ...common,
                        403: errorResponse("Role too low or not a listed approver (FORBIDDEN), or the preview's own author (SELF_APPROVAL)."),
                        404: errorResponse("Unknown job."),
                        409: errorResponse("Not a preview that can be approved now (CONFLICT: not succeeded, superseded, expired) or already decided by this caller (ALREADY_DECIDED)."),
                        422: errorResponse("Invalid body (INVALID_INPUT)."),
                    },
                },
            },
            "/v1/stacks/{stack}/repair": {
                get: {
                    summary: "What crash recovery last found on the stack (role viewer)",
                    tags: ["stacks"],
                    parameters: [stackParam],
                    responses: {
                        200: { description: "Findings.", content: json({ type: "object", properties: { stack: { type: "string" }, state: { type: "string", enum: ["ok", "needs-repair"] }, findings: { type: "array", items: ref("Finding") }, checkedAt: { type: "string", format: "date-time" } } }) },
                        ...common,
                        404: errorResponse("Unknown stack."),
                    },
                },
                post: {
                    summary: "Repair the stack (role admin): back up the exported state, then clear pending operations",
                    description: "method strip (default) removes pending operations and imports the state; refresh runs refresh --clear-pending-creates first. Audited.",
                    tags: ["stacks"],
                    parameters: [stackParam],
                    requestBody: { required: false, content: json(bodySchema(RepairBody)) },
                    responses: {
                        200: {
                            description: "Repaired; lists what was dropped (a pending create may have made a resource Pulumi no longer tracks: import it).",
                            content: json({ type: "object", properties: { stack: { type: "string" }, method: { type: "string" }, backup: { type: "string" }, clearedLocks: { type: "array", items: { type: "string" } }, droppedOperations: { type: "array", items: { type: "object" } }, after: { type: "object" } } }),
                        },
                        ...common,
                        404: errorResponse("Unknown stack (STACK_NOT_FOUND)."),
                        409: errorResponse("A job of the stack runs (STACK_BUSY) or a live process holds its lock (STACK_LOCKED, with the holder)."),
                        422: errorResponse("Invalid body."),
                        500: errorResponse("The repair failed (REPAIR_FAILED); the state before it is backed up."),
                    },
                },
            },
            "/v1/stacks/{stack}/unlock": {
                post: {
                    summary: "Remove the stack's locks (role admin): the override for a lock the service may not clear itself",
                    description:
                        'For a lock held by a live process or another host (repair answers 409 STACK_LOCKED), or on a backend the service cannot inspect. Runs pulumi cancel; does not stop the holder, so make sure it is gone. Needs {"confirm": "<stack>"}. Audited with the holders removed.',
                    tags: ["stacks"],
                    parameters: [stackParam],
                    requestBody: { required: true, content: json(bodySchema(UnlockBody)) },
                    responses: {
                        200: {
                            description: "Unlocked; the locks removed (file backends) and the stack's health after.",
                            content: json({ type: "object", properties: { stack: { type: "string" }, removedLocks: { type: "array", items: { type: "object" } }, after: { type: "object" } } }),
                        },
                        ...common,
                        404: errorResponse("Unknown stack, or not in the backend (STACK_NOT_FOUND)."),
                        409: errorResponse("A job of this service runs on the stack (STACK_BUSY)."),
                        422: errorResponse("Missing or wrong confirm (INVALID_INPUT)."),
                        500: errorResponse("pulumi cancel failed (UNLOCK_FAILED)."),
                    },
                },
            },
            "/v1/audit": {
                get: {
                    summary: "A page of the audit log and the verification of its hash chain (role admin)",
                    tags: ["audit"],
                    parameters: queryParams(AuditQuery),
                    responses: {
                        200: {
                            description: "Entries after `after`; continue with `next`. verification.ok is false with firstBad {line, seq, reason} when a line was edited, removed or inserted.",
                            content: json({ type: "object", properties: { entries: { type: "array", items: { type: "object" } }, next: { type: "integer" }, verification: { type: "object", properties: { ok: { type: "boolean" }, entries: { type: "integer" }, firstBad: { type: "object" } } } } }),
                        },
                        ...common,
                        422: errorResponse("Invalid query."),
                    },
                },
            },
            "/v1/notifications/deliveries": {
                get: {
                    summary: "Where notifications go (URLs shown as scheme and host only, never a secret) and the latest deliveries (role admin)",
                    tags: ["audit"],
                    parameters: queryParams(DeliveriesQuery),
                    responses: {
                        200: {
                            description: "destinations [{name, url, format, signed, events}]; deliveries newest first [{id, destination, event, status pending|delivered|failed, attempts, lastStatus, lastError, createdAt, updatedAt}].",
                            content: json({ type: "object", properties: { destinations: { type: "array", items: { type: "object" } }, deliveries: { type: "array", items: { type: "object" } } } }),
                        },
                        ...common,
                        422: errorResponse("Invalid query."),
                    },
                },
            },
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
                    },
                },
            },
            "/v1/whoami": {
                get: {
                    summary: "The caller's name, role and how they are signed in (role viewer)",
                    description: "For clients that hide what a role cannot do; grants nothing by itself. With a session cookie, also the CSRF token every change made with that cookie must repeat in X-CSRF-Token.",
                    tags: ["auth"],
                    responses: {
                        200: {
                            description: "The caller.",
                            content: json({
                                type: "object",
                                required: ["name", "role", "via"],
                                properties: {
                                    name: { type: "string", description: "A token's name, or sso:<user> for a person signed in." },
                                    role: { type: "string", enum: ["viewer", "operator", "approver", "admin"] },
                                    via: { type: "string", enum: ["token", "session"] },
                                    csrfToken: { type: "string", description: "Only with a session cookie." },
                                },
                            }),
                        },
                        ...common,
                    },
                },
            },
            "/v1/auth": {
                get: {
                    summary: "How to sign in here: whether sign-in through an identity provider is on, and where it starts",
                    security: [],
                    tags: ["auth"],
                    responses: { 200: { description: "The ways in.", content: json({ type: "object", required: ["oidc", "tokens"], properties: { oidc: { type: "object", required: ["enabled"], properties: { enabled: { type: "boolean" }, loginUrl: { type: "string" }, issuer: { type: "string" } } }, tokens: { type: "boolean" } } }) } },
                },
            },
            "/auth/login": {
                get: {
                    summary: "Starts signing in at the identity provider (a browser navigation; authorization code flow with PKCE)",
                    security: [],
                    tags: ["auth"],
                    parameters: [{ name: "returnTo", in: "query", required: false, schema: { type: "string" }, description: "A path of this service to come back to; anything else goes to /." }],
                    responses: { 303: { description: "To the provider, with a short-lived sign-in cookie." }, 404: { description: "Sign-in is not configured." }, 429: { description: "Too many sign-ins started from one address." }, 503: { description: "The provider does not answer." } },
                },
            },
            "/auth/callback": {
                get: {
                    summary: "Where the identity provider sends the person back; sets the session cookie",
                    security: [],
                    tags: ["auth"],
                    responses: { 303: { description: "Signed in: to the path the sign-in started from." }, 401: { description: "SIGN_IN_FAILED: the sign-in is unknown, used, too old, or the provider's answer is refused." }, 403: { description: "NO_ROLE: none of the person's groups is given a role." }, 503: { description: "The provider does not answer." } },
                },
            },
            "/auth/logout": {
                post: {
                    summary: "Ends the session of the cookie, and offers the provider's own sign-out page",
                    security: [],
                    tags: ["auth"],
                    responses: { 200: { description: "Signed out.", content: json({ type: "object", properties: { signedOut: { type: "boolean" }, providerSignOut: { type: "string" } } }) }, 403: { description: "CSRF_TOKEN_INVALID." } },
                },
            },
            ...tokensOpenApiPaths(),
            "/v1/openapi.json": { get: { summary: "This document", security: [], tags: ["ops"], responses: { 200: { description: "OpenAPI 3.0 JSON." } } } },
            "/api": { get: { summary: "This document for people: the API reference page (Redoc)", security: [], tags: ["docs"], responses: { 200: { description: "text/html" } } } },
            "/api/redoc.standalone.js": { get: { summary: "The API reference page's renderer (Redoc, from the service's node_modules)", security: [], tags: ["docs"], responses: { 200: { description: "text/javascript" } } } },
            "/api/reference.js": { get: { summary: "The API reference page's start-up script", security: [], tags: ["docs"], responses: { 200: { description: "text/javascript" } } } },
            "/healthz": { get: { summary: "Liveness", security: [], tags: ["ops"], responses: { 200: { description: "Alive." } } } },
            "/readyz": { get: { summary: "Readiness: CLI version, backend and store writable", security: [], tags: ["ops"], responses: { 200: { description: "Ready." }, 503: { description: "Not ready; checks say why." } } } },
            "/metrics": { get: { summary: "Prometheus metrics", security: [], tags: ["ops"], responses: { 200: { description: "text/plain exposition format" } } } },
        },
    });
}

/**
 * Every operation with a path parameter answers 422 INVALID_INPUT for a malformed one (a stack
 * name outside the pattern, an id that is not a UUID) before it looks anything up.
 */
function withPathParameterRefusals(doc: Record<string, unknown>): Record<string, unknown> {
    for (const item of Object.values(doc.paths as Record<string, Record<string, { parameters?: Array<{ in?: string }>; responses?: Record<string, unknown> }>>)) {
        for (const op of Object.values(item)) {
            if (op.parameters?.some((p) => p.in === "path") && op.responses && !op.responses["422"]) {
                op.responses["422"] = errorResponse("A malformed path parameter (INVALID_INPUT).");
            }
        }
    }
    return doc;
}
