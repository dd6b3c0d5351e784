import { Router } from "express";
import { z } from "zod";
import type { ApprovalService } from "../approvals/service";
import { callerOf } from "../security/middleware";
import { JobId, parse } from "./schemas";
import { caseSensitiveRouter, type AuthDeps } from "./router";

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
