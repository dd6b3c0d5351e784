import { randomUUID } from "node:crypto";
import type { AuditTrail } from "../audit/log";
import { AppError, jobNotFound, planStale, withArticle } from "../errors";
import type { GuardVerdict } from "../jobs/service";
import type { Job } from "../jobs/types";
import type { Principal, Role } from "../security/roles";
import type { ApprovalStore } from "./store";
import { compareFingerprint, Fingerprint } from "./fingerprint";
import type { EnvironmentPolicy } from "./policy";
import { Approval, ApprovalContext, ApprovalStatus, approvalStatus, checkApplyAllowed, checkCanApprove, destroyGuard, stepGuard } from "./rules";

/** The reads of jobs the approvals need (the job service's read side). */
export interface JobLookup {
    findJob(id: string): Promise<Job | undefined>;
    latestPreview(stack: string): Promise<Job | undefined>;
    listJobs(filter: { stack?: string; limit?: number }): Promise<Job[]>;
}

export interface ApprovalServiceDeps {
    store: ApprovalStore;
    jobs: JobLookup;
    audit: AuditTrail;
    /** The stack's policy now (throws 503 POLICY_INVALID for a file that never validated). */
    policyOf: (stack: string) => EnvironmentPolicy;
    /** The current fingerprint of a stack (state read through the engine module). */
    fingerprint: (stack: string) => Promise<Fingerprint>;
    /** The role a name's token holds now; undefined once revoked. */
    roleOf: (name: string) => Role | undefined;
    now?: () => Date;
    onFingerprintError?: (err: unknown, job: Job) => void;
    /** An approval or rejection was recorded (notifications follow it). */
    onDecision?: (approval: Approval) => void;
    /** An approval row the audit chain does not record was found (and is not counted). */
    onUnrecorded?: (approval: Approval) => void;
    /** Applied to a decision's comment before it is stored or served: a pasted token must not reach viewers. @default none */
    redact?: (text: string) => string;
}

type ApplyOp = "update" | "destroy";
export const isApplyOp = (op: Job["op"]): op is ApplyOp => op === "update" || op === "destroy";

/**
 * Approvals bound to previews: decisions, their status under the current policy and tokens,
 * the check that an update or destroy applies an approved, unchanged preview (run by the
 * admission guard at both moments), and the step guard over the engine events of such a job.
 */
export class ApprovalService {
    /** Fingerprints being computed for previews that are running. */
    private readonly pending = new Map<string, Promise<Fingerprint | undefined>>();
    private readonly eventGuards = new Map<string, (event: Record<string, unknown>) => string | undefined>();
    /** Approval rows already reported as missing from the audit chain. */
    private readonly reported = new Set<string>();
    private readonly now: () => Date;

    constructor(private readonly deps: ApprovalServiceDeps) {
        this.now = deps.now ?? (() => new Date());
    }

    /**
     * A preview of the service's checkout has started: its fingerprint is taken now, in
     * parallel with it (the per-stack queue keeps the state still meanwhile, and the preview
     * is not slowed down).
     */
    previewStarted(job: Job): void {
        if (job.op !== "preview" || job.options.source || this.pending.has(job.id)) return;
        const p = this.deps
            .fingerprint(job.stack)
            .then(async (fp) => {
                await this.deps.store.setFingerprint(job.id, job.stack, fp, this.now());
                return fp;
            })
            .catch((err: unknown) => {
                this.deps.onFingerprintError?.(err, job);
                return undefined;
            })
            .finally(() => this.pending.delete(job.id));
        this.pending.set(job.id, p);
    }

    private async context(preview: Job, operation: ApplyOp, policy = this.deps.policyOf(preview.stack)): Promise<ApprovalContext> {
        return {
            policy,
            operation,
            preview,
            latestPreviewId: (await this.deps.jobs.latestPreview(preview.stack))?.id,
            approvals: (await this.recorded(preview.id)).counted,
            now: this.now(),
            roleOf: this.deps.roleOf,
        };
    }

    /**
     * Throws why an update or destroy may not apply now: the named preview must be the stack's
     * latest succeeded, unexpired one, approved enough by approvers eligible under the current
     * policy and tokens, and the stack, program and config unchanged since it ran.
     */
    async checkApply(job: Job, policy: EnvironmentPolicy, moment: "submit" | "start"): Promise<void> {
        if (!isApplyOp(job.op)) return;
        const previewId = job.options.previewId;
        const preview = previewId ? await this.deps.jobs.findJob(previewId) : undefined;
        // The step guard compares the engine's events with the preview's steps as they are now.
        if (moment === "start" && previewId) this.eventGuards.set(job.id, job.op === "destroy" ? destroyGuard() : stepGuard(preview?.summary?.steps ?? []));
        checkApplyAllowed({
            policy,
            operation: job.op,
            previewId,
            preview,
            latestPreviewId: (await this.deps.jobs.latestPreview(job.stack))?.id,
            approvals: previewId ? (await this.recorded(previewId)).counted : [],
            now: this.now(),
            roleOf: this.deps.roleOf,
        });
        if (!preview) return;
        // Said before the staleness, which it would explain wrongly ("the state changed").
        const applied = await this.appliedBy(preview);
        if (applied) {
            throw new AppError("ALREADY_APPLIED", 409, `Preview "${preview.id}" was already applied by ${withArticle(applied.op)} (job ${applied.id}, finished ${applied.finishedAt}); its approval is used up. Run a new preview to change the stack again.`,
                { previewId: preview.id, appliedBy: applied.id });
        }
        const changes = await this.staleness(preview);
        if (changes.length) {
            this.deps.audit.append({
                actor: { name: job.triggeredBy, via: job.triggeredVia },
                action: `${job.op}.refused`,
                from: "service",
                result: "PLAN_STALE",
                stack: job.stack,
                previewId: preview.id,
                ...(job.id ? { jobId: job.id } : {}),
                details: { phase: moment, changes },
            });
            throw planStale(`The stack changed since preview "${preview.id}": ${changes.map((c) => c.message).join("; ")}. Run a new preview and get it approved.`, {
                previewId: preview.id,
                changes,
            });
        }
    }

    /** What changed since `preview` ran; a preview without a fingerprint counts as stale. */
    async staleness(preview: Job): Promise<{ part: string; message: string }[]> {
        const approved = (await this.pending.get(preview.id)) ?? (await this.deps.store.fingerprintOf(preview.id));
        if (!approved) return [{ part: "preview", message: "the preview has no recorded fingerprint (its state could not be read when it ran)" }];
        return compareFingerprint(approved, await this.deps.fingerprint(preview.stack));
    }

    /**
     * The step guard of an update or destroy applying a preview, prepared when the job started
     * (checkApply at "start"); a job that skipped that check is held to a preview of no steps.
     */
    onEvent(job: Job, event: Record<string, unknown>): GuardVerdict {
        if (!isApplyOp(job.op) || !job.options.previewId) return undefined;
        let guard = this.eventGuards.get(job.id);
        if (!guard) {
            guard = job.op === "destroy" ? destroyGuard() : stepGuard([]);
            this.eventGuards.set(job.id, guard);
        }
        const reason = guard(event);
        if (!reason) return undefined;
        this.eventGuards.delete(job.id);
        this.deps.audit.append({
            actor: { name: "step-guard", via: "system" },
            action: "guard.stop",
            from: "service",
            result: "stopped",
            stack: job.stack,
            jobId: job.id,
            previewId: job.options.previewId,
            details: { reason },
        });
        return { stop: reason };
    }

    /** A job has ended: its step guard is no longer needed. */
    jobFinished(job: Job): void {
        this.eventGuards.delete(job.id);
    }

    async decide(
        previewId: string,
        principal: Principal,
        input: { decision: "approve" | "reject"; operation: ApplyOp; comment?: string },
        from: string,
    ): Promise<{ approval: Approval; status: ApprovalStatus }> {
        const preview = await this.lookup(previewId);
        const ctx = await this.context(preview, input.operation);
        try {
            checkCanApprove(ctx, principal);
        } catch (e) {
            if (e instanceof AppError) {
                this.deps.audit.append({
                    actor: principal,
                    action: `approval.${input.decision}`,
                    from,
                    result: e.code,
                    stack: preview.stack,
                    previewId,
                    details: { operation: input.operation },
                });
            }
            throw e;
        }
        const comment = input.comment === undefined ? undefined : (this.deps.redact ?? ((t: string) => t))(input.comment);
        // The audit entry first, durable before the row exists: a row counts only with its entry
        // in the chain, so another instance that sees the row finds the entry too.
        const approvalId = randomUUID();
        this.deps.audit.append({
            actor: principal,
            action: `approval.${input.decision}`,
            from,
            result: "ok",
            stack: preview.stack,
            previewId,
            approvalId,
            details: { operation: input.operation, ...(comment ? { comment } : {}) },
        });
        await this.deps.audit.flush();
        const approval = await this.deps.store.addApproval({
            id: approvalId,
            previewId,
            stack: preview.stack,
            operation: input.operation,
            decision: input.decision,
            by: principal.name,
            role: principal.role,
            ...(comment ? { comment } : {}),
            at: this.now().toISOString(),
        });
        this.deps.onDecision?.(approval);
        return { approval, status: approvalStatus({ ...ctx, approvals: (await this.recorded(previewId)).counted }) };
    }

    /**
     * The decisions stored for a preview, split into those the audit chain records (`counted`)
     * and rows that reached the table some other way (`unrecorded`: written straight into the
     * database, not through the service), which never count. Each unrecorded row is reported
     * once, as a tampering entry in the audit log and an error in the service log.
     */
    private async recorded(previewId: string): Promise<{ counted: Approval[]; unrecorded: Approval[] }> {
        const rows = await this.deps.store.approvalsOf(previewId);
        if (rows.length === 0) return { counted: [], unrecorded: [] };
        const entries = await this.deps.audit.recordedApprovals(previewId);
        const counted: Approval[] = [];
        const unrecorded: Approval[] = [];
        for (const row of rows) {
            const matches = entries.some((e) => e.approvalId === row.id && e.by === row.by && e.decision === row.decision && e.operation === row.operation);
            (matches ? counted : unrecorded).push(row);
        }
        for (const row of unrecorded) {
            if (this.reported.has(row.id)) continue;
            this.reported.add(row.id);
            this.deps.onUnrecorded?.(row);
            this.deps.audit.append({
                actor: { name: "approvals", via: "system" },
                action: "approval.unrecorded",
                from: "service",
                result: "tampered",
                stack: row.stack,
                previewId,
                approvalId: row.id,
                details: { by: row.by, decision: row.decision, operation: row.operation, at: row.at },
            });
        }
        return { counted, unrecorded };
    }

    async list(previewId: string): Promise<{ previewId: string; stack: string; approvals: Approval[]; unrecorded?: Approval[]; update: ApprovalStatus; destroy: ApprovalStatus; latest: boolean;
        appliedBy?: { jobId: string; op: string; finishedAt?: string } }> {
        const preview = await this.lookup(previewId);
        const base = await this.context(preview, "update");
        const applied = await this.appliedBy(preview);
        const { unrecorded } = await this.recorded(previewId);
        return {
            previewId,
            stack: preview.stack,
            approvals: base.approvals as Approval[],
            ...(unrecorded.length ? { unrecorded } : {}),
            update: approvalStatus(base),
            destroy: approvalStatus({ ...base, operation: "destroy" }),
            latest: base.latestPreviewId === previewId,
            ...(applied ? { appliedBy: { jobId: applied.id, op: applied.op, finishedAt: applied.finishedAt } } : {}),
        };
    }

    /** The update or destroy that already applied `preview`, using up its approval. */
    private async appliedBy(preview: Job): Promise<Job | undefined> {
        return (await this.deps.jobs.listJobs({ stack: preview.stack, limit: 200 }))
            .find((j) => (j.op === "update" || j.op === "destroy") && j.state === "succeeded" && j.options.previewId === preview.id);
    }

    private async lookup(previewId: string): Promise<Job> {
        const preview = await this.deps.jobs.findJob(previewId);
        if (!preview) throw jobNotFound(previewId);
        return preview;
    }
}
