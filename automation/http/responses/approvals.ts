// The answers of GET and POST /v1/jobs/{id}/approvals.
import { z } from "zod";
import type { Approval, ApprovalStatus } from "../../approvals/rules";
import { instant } from "./recovery";
import { component, fits } from "./registry";

const d = (description: string) => ({ description });

export const ApprovalSchema = component(
    "Approval",
    z.strictObject({
        id: z.string(),
        previewId: z.uuid(),
        stack: z.string(),
        operation: z.enum(["update", "destroy"]).meta(d("What the preview is approved for.")),
        decision: z.enum(["approve", "reject"]),
        by: z.string(),
        role: z.string(),
        comment: z.string().optional(),
        at: instant(),
    }),
);

export const ApprovalStatusSchema = component(
    "ApprovalStatus",
    z.strictObject({
        required: z.int(),
        approvedBy: z.array(z.string()).meta(d("Unexpired approvals from distinct approvers eligible now.")),
        rejectedBy: z.array(z.string()),
        ineligible: z.array(z.strictObject({ by: z.string(), reason: z.string() })).meta(d("Approvals that no longer count: the approver's token was revoked or lost the role, or the policy's approvers changed.")),
        satisfied: z.boolean(),
    }),
);

export const ApprovalListSchema = component(
    "ApprovalList",
    z.strictObject({
        previewId: z.string(),
        stack: z.string(),
        approvals: z.array(ApprovalSchema),
        unrecorded: z.array(ApprovalSchema).optional().meta(d("Rows the audit chain does not record (written outside the service): they never count.")),
        update: ApprovalStatusSchema,
        destroy: ApprovalStatusSchema,
        latest: z.boolean().meta(d("False once a newer preview of the stack exists (approvals of this one are void).")),
        appliedBy: z
            .strictObject({ jobId: z.string(), op: z.string(), finishedAt: instant().optional() })
            .optional()
            .meta(d("The update or destroy that applied the preview (its approval is used up).")),
        commit: z.string().optional().meta(d("The git commit of the project when the preview ran (kept with its fingerprint; the fingerprint also pins uncommitted files).")),
        staleness: z
            .strictObject({
                checkedAt: instant(),
                stale: z.boolean().optional().meta(d("Absent when the state could not be read (error).")),
                changes: z.array(z.strictObject({ part: z.enum(["state", "program", "config", "preview"]), message: z.string() })),
                error: z.string().optional(),
            })
            .optional()
            .meta(
                d(
                    "For the latest, unapplied preview of the service's checkout: whether the stack's state, program or config changed since it ran, i.e. whether an update or destroy applying it would be refused with 409 PLAN_STALE. The stack's current fingerprint is reused for 5 s (it reads the state); the admission check takes its own.",
                ),
            ),
        resources: z
            .array(z.strictObject({ urn: z.string(), type: z.string() }))
            .optional()
            .meta(d("The resources in the stack's state as the succeeded preview saw them (every step but creates and reads; the stack and providers left out): what a destroy applying it deletes. Absent once its events are pruned (AUTOMATION_JOB_RETENTION).")),
    }),
);

export const ApprovalDecisionSchema = component("ApprovalDecision", z.strictObject({ approval: ApprovalSchema, status: ApprovalStatusSchema }));

fits<Approval, z.infer<typeof ApprovalSchema>>();
fits<ApprovalStatus, z.infer<typeof ApprovalStatusSchema>>();
