import { AppError, conflict, forbidden, invalidInput, withArticle } from "../errors";
import type { Job, Op, ResourceStep } from "../jobs/types";
import { Principal, Role, hasRole } from "../security/roles";
import type { EnvironmentPolicy } from "../environments/policy";

/** One approver's decision on one preview, as stored. */
export interface Approval {
    id: string;
    previewId: string;
    stack: string;
    /** The operation the preview is approved for. */
    operation: "update" | "destroy";
    decision: "approve" | "reject";
    by: string;
    role: string;
    comment?: string;
    at: string;
}

/** Approvals `op` on this stack needs; 0 means it runs without one. */
export function needsApproval(policy: EnvironmentPolicy, op: Op): number {
    return policy.operations[op].approvals;
}

export interface ApprovalContext {
    policy: EnvironmentPolicy;
    operation: "update" | "destroy";
    preview: Job;
    /** The newest succeeded preview of the stack: only it can be approved or applied. */
    latestPreviewId: string | undefined;
    approvals: readonly Approval[];
    now: Date;
    /**
     * The role the approver holds now (undefined once their token is revoked). An approval
     * counts only while its approver could still give it under the current policy.
     * @default every approval keeps the role it was given with
     */
    roleOf?: (name: string) => Role | undefined;
}

const expired = (at: string, ttlMinutes: number, now: Date) => now.getTime() - Date.parse(at) > ttlMinutes * 60_000;

/** Why `preview` cannot be acted on at all, or undefined: not a preview, failed, superseded, too old. */
function previewProblem(ctx: Omit<ApprovalContext, "approvals" | "operation">): AppError | undefined {
    const { preview, policy, now } = ctx;
    if (preview.op !== "preview") return invalidInput(`Job "${preview.id}" is ${withArticle(preview.op)}, not a preview; approvals bind to previews.`, { jobId: preview.id });
    if (preview.stack !== policy.stack) return invalidInput(`Preview "${preview.id}" is of stack "${preview.stack}", not "${policy.stack}".`, { jobId: preview.id });
    if (preview.options.source) {
        const { pullRequest, sha } = preview.options.source;
        return new AppError(
            "PREVIEW_OF_PULL_REQUEST",
            409,
            `Preview "${preview.id}" ran pull request #${pullRequest} at ${sha.slice(0, 12)}, not the service's checkout that an update applies; merge it, then preview the stack and approve that preview.`,
            { previewId: preview.id, source: preview.options.source },
        );
    }
    if (preview.state !== "succeeded") return conflict(`Preview "${preview.id}" is ${preview.state}; only a succeeded preview can be approved or applied.`, { jobId: preview.id, state: preview.state });
    if (ctx.latestPreviewId !== preview.id) {
        return new AppError("PREVIEW_SUPERSEDED", 409, `Preview "${preview.id}" was superseded by the newer preview "${ctx.latestPreviewId}"; approve that one.`, {
            previewId: preview.id,
            latestPreviewId: ctx.latestPreviewId,
        });
    }
    if (expired(preview.finishedAt ?? preview.createdAt, policy.approvalTtlMinutes, now)) {
        return new AppError("PREVIEW_EXPIRED", 409, `Preview "${preview.id}" is older than ${policy.approvalTtlMinutes} minutes (approvalTtlMinutes); run a new preview.`, {
            previewId: preview.id,
        });
    }
    return undefined;
}

/**
 * Throws the reason `principal` may not approve or reject `preview`: the author of the preview
 * can never approve it, the approver needs the policy's role (and name, if listed), and only
 * the latest, unexpired, succeeded preview can be approved, once per approver.
 */
export function checkCanApprove(ctx: ApprovalContext, principal: Pick<Principal, "name" | "role">): void {
    const problem = previewProblem(ctx);
    if (problem) throw problem;
    const rule = ctx.policy.operations[ctx.operation];
    if (principal.name === ctx.preview.triggeredBy) {
        throw new AppError("SELF_APPROVAL", 403, `${principal.name} ran preview "${ctx.preview.id}" and cannot approve it; ask another approver.`, {
            previewId: ctx.preview.id,
        });
    }
    if (!hasRole(principal.role, rule.approverRole)) {
        throw forbidden(`Approving ${withArticle(ctx.operation)} of "${ctx.policy.stack}" needs role ${rule.approverRole}; ${principal.name} has ${principal.role}.`, {
            required: rule.approverRole,
            held: principal.role,
        });
    }
    if (rule.approvers.length > 0 && !rule.approvers.includes(principal.name)) {
        throw forbidden(`Only ${rule.approvers.join(", ")} may approve ${withArticle(ctx.operation)} of "${ctx.policy.stack}" (policy ${ctx.policy.source}).`, {
            approvers: rule.approvers,
        });
    }
    if (ctx.approvals.some((a) => a.previewId === ctx.preview.id && a.operation === ctx.operation && a.by === principal.name)) {
        throw new AppError("ALREADY_DECIDED", 409, `${principal.name} has already decided on preview "${ctx.preview.id}".`, { previewId: ctx.preview.id });
    }
}

export interface ApprovalStatus {
    required: number;
    /** Unexpired approvals from distinct approvers eligible now. */
    approvedBy: string[];
    rejectedBy: string[];
    /** Approvals that no longer count: the approver's token was revoked or lost the role, or the policy's approvers changed. */
    ineligible: { by: string; reason: string }[];
    satisfied: boolean;
}

/** Why `a` no longer counts under the policy and tokens of now, or undefined when it does. */
function ineligibility(ctx: ApprovalContext, a: Approval): string | undefined {
    const rule = ctx.policy.operations[ctx.operation];
    const role = ctx.roleOf ? ctx.roleOf(a.by) : (a.role as Role);
    if (role === undefined) return "the approver's token no longer exists";
    if (!hasRole(role, rule.approverRole)) return `the approver now holds ${role}; the policy needs ${rule.approverRole}`;
    if (rule.approvers.length > 0 && !rule.approvers.includes(a.by)) return `the policy's approvers are now ${rule.approvers.join(", ")}`;
    return undefined;
}

/** Counts what is valid now: approvals expire, approvers must still be eligible, and a rejection vetoes. */
export function approvalStatus(ctx: ApprovalContext): ApprovalStatus {
    const required = needsApproval(ctx.policy, ctx.operation);
    const mine = ctx.approvals.filter((a) => a.previewId === ctx.preview.id && a.operation === ctx.operation && !expired(a.at, ctx.policy.approvalTtlMinutes, ctx.now));
    const ineligible: ApprovalStatus["ineligible"] = [];
    const approvedBy = new Set<string>();
    for (const a of mine) {
        if (a.decision !== "approve" || a.by === ctx.preview.triggeredBy) continue;
        const reason = ineligibility(ctx, a);
        if (reason) ineligible.push({ by: a.by, reason });
        else approvedBy.add(a.by);
    }
    const rejectedBy = [...new Set(mine.filter((a) => a.decision === "reject").map((a) => a.by))];
    return { required, approvedBy: [...approvedBy], rejectedBy, ineligible, satisfied: rejectedBy.length === 0 && approvedBy.size >= required };
}

/**
 * Admission of an update or destroy. Without approval needed and without a preview named it
 * runs as a plain operation. Otherwise the named preview must be the stack's latest succeeded,
 * unexpired one with enough approvals and no rejection. (Fingerprints are checked separately.)
 */
export function checkApplyAllowed(ctx: Omit<ApprovalContext, "preview"> & { preview: Job | undefined; previewId: string | undefined }): void {
    const required = needsApproval(ctx.policy, ctx.operation);
    if (ctx.previewId === undefined) {
        if (required === 0) return;
        throw new AppError("APPROVAL_REQUIRED", 422, `${capitalized(withArticle(ctx.operation))} of "${ctx.policy.stack}" needs ${required} approval(s) of a preview (policy ${ctx.policy.source}); send previewId of an approved preview.`, {
            stack: ctx.policy.stack,
            required,
        });
    }
    if (!ctx.preview) throw invalidInput(`previewId "${ctx.previewId}" names no job.`, { previewId: ctx.previewId });
    const problem = previewProblem({ ...ctx, preview: ctx.preview });
    if (problem) throw problem;
    if (required === 0) return;
    const status = approvalStatus({ ...ctx, preview: ctx.preview });
    if (!status.satisfied) {
        throw new AppError(
            "NOT_APPROVED",
            409,
            status.rejectedBy.length
                ? `Preview "${ctx.preview.id}" was rejected by ${status.rejectedBy.join(", ")}.`
                : `Preview "${ctx.preview.id}" has ${status.approvedBy.length} of ${status.required} approval(s) for ${ctx.operation}${status.ineligible.length ? ` (${status.ineligible.map((i) => `${i.by}'s no longer counts: ${i.reason}`).join("; ")})` : ""}.`,
            { previewId: ctx.preview.id, ...status },
        );
    }
}

/**
 * Provider resources hold configuration only and touch no cloud; a preview does not always
 * list the default provider's create (an update does), so they never stop an update. Any
 * effect a provider change has shows up as steps of real resources, which are checked.
 */
const isProviderUrn = (urn: string) => /::pulumi:providers:[^:]+::/.test(urn);

/** Engine step ops that change nothing and need no approval. */
const HARMLESS_OPS = new Set(["same", "read", "refresh"]);

/**
 * A guard over the engine events of an update applying an approved preview: the first
 * resource step whose (urn, op) the preview did not contain yields the stop reason. What the
 * preview's refresh found (drift: a resource gone is a `delete`) is not a step it planned.
 */
export function stepGuard(approved: readonly ResourceStep[]): (event: Record<string, unknown>) => string | undefined {
    const allowed = new Set(approved.filter((s) => !s.drift).map((s) => `${s.op} ${s.urn}`));
    return (event) => {
        const pre = event.resourcePreEvent as { metadata?: { op?: string; urn?: string } } | undefined;
        const m = pre?.metadata;
        if (!m?.op || !m.urn || HARMLESS_OPS.has(m.op) || isProviderUrn(m.urn)) return undefined;
        if (allowed.has(`${m.op} ${m.urn}`)) return undefined;
        return `The engine started a step the approved preview did not contain: ${m.op} ${m.urn}.`;
    };
}

/** Destroys bound to a preview may only delete. */
export function destroyGuard(): (event: Record<string, unknown>) => string | undefined {
    return (event) => {
        const m = (event.resourcePreEvent as { metadata?: { op?: string; urn?: string } } | undefined)?.metadata;
        if (!m?.op || !m.urn || HARMLESS_OPS.has(m.op) || m.op === "delete") return undefined;
        return `A destroy started ${withArticle(m.op)} of ${m.urn}.`;
    };
}

function capitalized(text: string): string {
    return text.charAt(0).toUpperCase() + text.slice(1);
}
