import { ERROR_CODES } from "../errorCodes";
import { JOB_STATES, OPS } from "../jobs/types";
import { apiReferenceOpenApiPaths } from "./apiReference";
import { approvalsOpenApiPaths } from "./approvals";
import { auditOpenApiPaths } from "./audit";
import { notificationsOpenApiPaths } from "./notifications";
import { opsOpenApiPaths } from "./ops";
import { errorResponse, json, ref } from "./openapiParts";
import { repairOpenApiPaths } from "./repair";
import { signInOpenApiPaths } from "./signIn";
import { stacksAndJobsOpenApiPaths } from "./stacksAndJobs";
import { tokensOpenApiPaths } from "./tokens";
import { webhooksOpenApiPaths } from "./webhooks";
import { whoamiOpenApiPaths } from "./whoami";

// The document is put together from each router's own part (its …OpenApiPaths(), next to the
// routes it describes) and the shared schemas below; request bodies and queries come from the
// zod schemas the routes validate with (openapiParts.ts), so neither can drift from the service.

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
            ...stacksAndJobsOpenApiPaths(),
            ...approvalsOpenApiPaths(),
            ...repairOpenApiPaths(),
            ...auditOpenApiPaths(),
            ...notificationsOpenApiPaths(),
            ...webhooksOpenApiPaths(),
            ...whoamiOpenApiPaths(),
            ...signInOpenApiPaths(),
            ...tokensOpenApiPaths(),
            ...apiReferenceOpenApiPaths(),
            ...opsOpenApiPaths(),
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
