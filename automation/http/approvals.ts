import { Router } from "express";
import { z } from "zod";
import type { ApprovalService } from "../approvals/service";
import { callerOf } from "../security/middleware";
import { JobId, parse } from "./schemas";
import { caseSensitiveRouter, type AuthDeps } from "./router";
import { bodySchema, common, errorResponse, idPathParam, json, ref } from "./openapiParts";
import { ApprovalDecisionSchema, ApprovalListSchema } from "./responses/approvals";
import { send } from "./responses/registry";

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
        res.status(201);
        send(res, ApprovalDecisionSchema, result);
    });
    r.get("/jobs/:id/approvals", auth.authenticate, auth.requireRole("viewer"), async (req, res) => {
        send(res, ApprovalListSchema, await approvals.list(parse(JobId, req.params.id, "path.id")));
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
                        content: json(ref("ApprovalList")),
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
                    201: { description: "Recorded.", content: json(ref("ApprovalDecision")) },
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
