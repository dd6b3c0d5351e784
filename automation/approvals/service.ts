import type { AuditLog } from "../audit/log";
import { AppError, jobNotFound, planStale } from "../errors";
import type { GuardVerdict, Guards } from "../jobs/service";
import type { Job, Op } from "../jobs/types";
import type { Principal, Role } from "../security/roles";
import { compareFingerprint, Fingerprint } from "./fingerprint";
import type { EnvironmentPolicy } from "./policy";
import { defaultPolicy } from "./policy";
import { Approval, ApprovalStatus, approvalStatus, checkApplyAllowed, checkCanApprove, checkMayStart, destroyGuard, stepGuard } from "./rules";
import type { SafetyStore } from "./store";

/** The slice of the core's job store the approvals need. */
export interface JobLookup {
    getJob(id: string): Job | undefined;
    lastJob(stack: string, states?: readonly Job["state"][], ops?: readonly Op[], ownCheckoutOnly?: boolean): Job | undefined;
}

export interface ApprovalServiceDeps {
    store: SafetyStore;
    audit: AuditLog;
    policyOf: (stack: string) => EnvironmentPolicy;
    /** The current fingerprint of a stack (state read through the engine module). */
    fingerprint: (stack: string) => Promise<Fingerprint>;
    /** Role of a job's `triggeredBy`, to apply the policy's per-operation role. */
    roleOf: (name: string) => Role | undefined;
    now?: () => Date;
    onGuardError?: (err: unknown, job: Job) => void;
}

type ApplyOp = "update" | "destroy";
const isApplyOp = (op: Op): op is ApplyOp => op === "update" || op === "destroy";

/**
 * Approvals bound to previews, and the guards that enforce them on the job service:
 * admission and start of updates/destroys check approvals and the preview's fingerprint;
 * engine events of an update applying a preview are checked against its steps.
 */
export class ApprovalService implements Guards {
    private jobs: JobLookup | undefined;
    /** Fingerprints being computed for previews that are running. */
    private readonly pending = new Map<string, Promise<Fingerprint | undefined>>();
    private readonly eventGuards = new Map<string, (event: Record<string, unknown>) => string | undefined>();
    private readonly now: () => Date;

    constructor(private readonly deps: ApprovalServiceDeps) {
        this.now = deps.now ?? (() => new Date());
    }

    /**
     * The job store arrives after the service is built (the core creates it). A preview's
     * fingerprint is taken when it starts running, in parallel with it: the per-stack queue
     * keeps the state still meanwhile, and the preview is not slowed down.
     */
    bind(jobs: JobLookup & { onJobChange?(listener: (job: Job) => void): () => void }): void {
        this.jobs = jobs;
        jobs.onJobChange?.((job) => {
            if (job.op === "preview" && !job.options.source && job.state === "running" && !this.pending.has(job.id)) this.capture(job);
        });
    }

    private capture(job: Job): void {
        const p = this.deps
            .fingerprint(job.stack)
            .then((fp) => {
                this.deps.store.setFingerprint(job.id, job.stack, fp, this.now());
                return fp;
            })
            .catch((err: unknown) => {
                this.deps.onGuardError?.(err, job);
                return undefined;
            })
            .finally(() => this.pending.delete(job.id));
        this.pending.set(job.id, p);
    }

    /**
     * Request-time checks of any operation, before the job is created: the policy's role for
     * the operation, freeze windows, and for a destroy the same approval and fingerprint checks
     * an update gets from the job service's guard.
     */
    async checkRequest(stack: string, op: Op, principal: Pick<Principal, "name" | "role">, previewId: string | undefined): Promise<void> {
        checkMayStart(this.policy(stack), op, principal, this.now());
        if (op === "destroy") {
            await this.beforeStart({ id: "", stack, op, state: "queued", triggeredBy: principal.name, createdAt: this.now().toISOString(), options: previewId ? { previewId } : {} }, "admit");
        }
    }

    private lookup(): JobLookup {
        if (!this.jobs) throw new Error("ApprovalService used before bind(jobs)");
        return this.jobs;
    }

    private policy(stack: string): EnvironmentPolicy {
        return this.deps.policyOf(stack) ?? defaultPolicy(stack);
    }

    private latestPreviewId(stack: string): string | undefined {
        // A pull request's preview shows code the service does not run, so it never supersedes.
        return this.lookup().lastJob(stack, ["succeeded"], ["preview"], true)?.id;
    }

    // ---- Guards -------------------------------------------------------------------------

    async beforeStart(job: Job, phase: "admit" | "start"): Promise<void> {
        const policy = this.policy(job.stack);
        const role = this.deps.roleOf(job.triggeredBy);
        if (phase === "admit" && role) checkMayStart(policy, job.op, { name: job.triggeredBy, role }, this.now());
        if (phase === "start" && job.op !== "preview") {
            // a freeze may have begun while the job waited in the queue
            checkMayStart(policy, job.op, { name: job.triggeredBy, role: "admin" }, this.now());
        }
        if (job.op === "preview" && !job.options.source && phase === "start" && job.id && !this.pending.has(job.id)) {
            this.capture(job);
            return;
        }
        if (!isApplyOp(job.op)) return;
        const previewId = job.options.previewId;
        const preview = previewId ? this.lookup().getJob(previewId) : undefined;
        checkApplyAllowed({
            policy,
            operation: job.op,
            previewId,
            preview,
            latestPreviewId: this.latestPreviewId(job.stack),
            approvals: previewId ? this.deps.store.approvalsOf(previewId) : [],
            now: this.now(),
        });
        if (!preview) return;
        const changes = await this.staleness(preview);
        if (changes.length) {
            this.deps.audit.append({
                actor: { name: job.triggeredBy, via: "token" },
                action: `${job.op}.refused`,
                from: "service",
                result: "PLAN_STALE",
                stack: job.stack,
                previewId: preview.id,
                ...(job.id ? { jobId: job.id } : {}),
                details: { phase, changes },
            });
            throw planStale(`The stack changed since preview "${preview.id}": ${changes.map((c) => c.message).join("; ")}. Run a new preview and get it approved.`, {
                previewId: preview.id,
                changes,
            });
        }
    }

    /** What changed since `preview` ran; a preview without a fingerprint counts as stale. */
    async staleness(preview: Job): Promise<{ part: string; message: string }[]> {
        const approved = (await this.pending.get(preview.id)) ?? this.deps.store.fingerprintOf(preview.id);
        if (!approved) return [{ part: "preview", message: "the preview has no recorded fingerprint (it ran before the safety layer or its state could not be read)" }];
        return compareFingerprint(approved, await this.deps.fingerprint(preview.stack));
    }

    onEvent(job: Job, event: Record<string, unknown>): GuardVerdict {
        if (!isApplyOp(job.op) || !job.options.previewId) return undefined;
        let guard = this.eventGuards.get(job.id);
        if (!guard) {
            const preview = this.lookup().getJob(job.options.previewId);
            guard = job.op === "destroy" ? destroyGuard() : stepGuard(preview?.summary?.steps ?? []);
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

    // ---- Approvals ----------------------------------------------------------------------

    decide(
        previewId: string,
        principal: Principal,
        input: { decision: "approve" | "reject"; operation: ApplyOp; comment?: string },
        from: string,
    ): { approval: Approval; status: ApprovalStatus } {
        const preview = this.lookup().getJob(previewId);
        if (!preview) throw jobNotFound(previewId);
        const policy = this.policy(preview.stack);
        const ctx = {
            policy,
            operation: input.operation,
            preview,
            latestPreviewId: this.latestPreviewId(preview.stack),
            approvals: this.deps.store.approvalsOf(previewId),
            now: this.now(),
        };
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
        const approval = this.deps.store.addApproval({
            previewId,
            stack: preview.stack,
            operation: input.operation,
            decision: input.decision,
            by: principal.name,
            role: principal.role,
            ...(input.comment ? { comment: input.comment } : {}),
            at: this.now().toISOString(),
        });
        this.deps.audit.append({
            actor: principal,
            action: `approval.${input.decision}`,
            from,
            result: "ok",
            stack: preview.stack,
            previewId,
            approvalId: approval.id,
            details: { operation: input.operation, ...(input.comment ? { comment: input.comment } : {}) },
        });
        return { approval, status: approvalStatus({ ...ctx, approvals: this.deps.store.approvalsOf(previewId) }) };
    }

    list(previewId: string): { previewId: string; stack: string; approvals: Approval[]; update: ApprovalStatus; destroy: ApprovalStatus; latest: boolean } {
        const preview = this.lookup().getJob(previewId);
        if (!preview) throw jobNotFound(previewId);
        const policy = this.policy(preview.stack);
        const approvals = this.deps.store.approvalsOf(previewId);
        const latestPreviewId = this.latestPreviewId(preview.stack);
        const base = { policy, preview, latestPreviewId, approvals, now: this.now() };
        return {
            previewId,
            stack: preview.stack,
            approvals,
            update: approvalStatus({ ...base, operation: "update" }),
            destroy: approvalStatus({ ...base, operation: "destroy" }),
            latest: latestPreviewId === previewId,
        };
    }
}
