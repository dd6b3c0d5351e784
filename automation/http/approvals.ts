import { Router } from "express";
import { z } from "zod";
import type { ApprovalService } from "../approvals/service";
import { callerOf } from "../security/middleware";
import { JobId, parse } from "./schemas";
import { caseSensitiveRouter, type AuthDeps } from "./router";
import { bodySchema, common, errorResponse, idPathParam, json, ref } from "./openapiParts";

export const ApprovalBody = z.strictObject({
    decision: z.enum(["approve", "reject"]),
    /** What the preview is approved for. @default "update" */
    operation: z.enum(["update", "destroy"]).optional(),
    comment: z.string().max(2000).optional(),
});

/** `POST /v1/jobs/:id/approvals` (approver) and `GET /v1/jobs/:id/approvals` (viewer). */
export function approvalsRouter(approvals: ApprovalService, auth: AuthDeps): Router {
    const r = caseSensitiveRouter();
    r.post("/jobs/:id/approvals", auth.authenticate, auth.requireRole("approver"), async (req, res) => {
        const id = parse(JobId, req.params.id, "path.id");
        const body = parse(ApprovalBody, req.body, "body");
        const principal = callerOf(res);
        const result = await approvals.decide(id, principal, { decision: body.decision, operation: body.operation ?? "update", comment: body.comment }, req.ip ?? "unknown");
        res.status(201).json(result);
    });
    r.get("/jobs/:id/approvals", auth.authenticate, auth.requireRole("viewer"), async (req, res) => {
        res.json(await approvals.list(parse(JobId, req.params.id, "path.id")));
    });
    return r;
}

/** This router's routes in the OpenAPI document (put together by http/openapi.ts). */
export function approvalsOpenApiPaths(): Record<string, unknown> {
    return {
        "/v1/jobs/{id}/approvals": {
            get: {
                summary: "A preview's approvals and whether they suffice for an update or destroy (role viewer)",
                tags: ["approvals"],
                parameters: [idPathParam],
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
                parameters: [idPathParam],
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
    };
}
