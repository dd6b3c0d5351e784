import { randomUUID } from "node:crypto";
import type { AuditTrail } from "../audit/trail";
import { AppError, jobNotFound, planStale, withArticle } from "../errors";
import type { ApprovedPreview, GuardVerdict } from "../jobs/guard";
import type { Job, StoredEvent } from "../jobs/types";
import type { Principal, Role } from "../security/roles";
import { SSO_PREFIX } from "../security/tokens";
import type { ApprovalStore } from "./store";
import { compareFingerprint, Fingerprint } from "./fingerprint";
import type { EnvironmentPolicy } from "../environments/policy";
import { Approval, ApprovalContext, ApprovalStatus, approvalStatus, checkApplyAllowed, checkCanApprove, destroyGuard, stepGuard } from "./rules";

/** The reads of jobs the approvals need (the job service's read side). */
export interface JobLookup {
    findJob(id: string): Promise<Job | undefined>;
    latestPreview(stack: string): Promise<Job | undefined>;
    listJobs(filter: { stack?: string; limit?: number }): Promise<Job[]>;
    /** A job's stored events after `afterSeq`, oldest first; without it a preview's resources are not listed. */
    eventsAfter?(id: string, afterSeq: number, limit?: number): Promise<StoredEvent[]>;
}

/** Whether the stack still is what a preview saw, as the approvals answer says it. */
export interface PreviewStaleness {
    /** When the stack's current fingerprint was taken (reused for STALENESS_CACHE_MS). */
    checkedAt: string;
    /** True when the state, program or config changed since the preview: applying it would answer 409 PLAN_STALE. Absent when it could not be checked. */
    stale?: boolean;
    /** What changed, worded as the 409 PLAN_STALE answer words it (part: state, program, config, or preview). */
    changes: { part: string; message: string }[];
    /** Why it could not be checked (the state could not be read). */
    error?: string;
}

/** A resource of the stack's state, as a preview saw it. */
export interface StateResource {
    urn: string;
    type: string;
}

/**
 * How long the approvals answer reuses a stack's current fingerprint: taking one reads the state
 * with the CLI and hashes the program, and a dashboard asks every few seconds while a preview
 * is open. The admission check never uses it: it takes its own.
 */
export const STALENESS_CACHE_MS = 5000;

/** Preview steps of resources already in the state: everything but what it would create or only read. */
const IN_STATE_OPS = new Set(["same", "update", "replace", "delete", "delete-replaced", "refresh"]);
/** The stack itself and providers: no cloud resource of their own. */
const isBookkeeping = (type: string) => type.startsWith("pulumi:pulumi:") || type.startsWith("pulumi:providers:");
/** Previews whose resources are kept in memory (they never change once the preview ended). */
const RESOURCE_CACHE_SIZE = 50;

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
    /** Asks the identity provider again about a person (`sso:`) before roleOf answers for them. @default none */
    refreshRole?: (name: string) => Promise<void>;
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
 * admission guard at both moments), which answers the preview the job is admitted to apply,
 * with the step guard over the job's engine events.
 */
export class ApprovalService {
    /** Fingerprints being computed for previews that are running. */
    private readonly pending = new Map<string, Promise<Fingerprint | undefined>>();
    /** Approval rows already reported as missing from the audit chain. */
    private readonly reported = new Set<string>();
    private readonly now: () => Date;
    /** Each stack's current fingerprint for the approvals answer, with when it was taken. */
    private readonly current = new Map<string, { at: number; checkedAt: string; fingerprint: Promise<Fingerprint> }>();
    /** The state's resources as finished previews saw them. */
    private readonly resourcesSeen = new Map<string, StateResource[] | undefined>();

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
     * policy and tokens, and the stack, program and config unchanged since it ran. Answers that
     * preview as the job is to apply it (undefined when it names none): the one lookup of the
     * preview between admission and the end of the run.
     */
    async checkApply(job: Job, policy: EnvironmentPolicy, moment: "submit" | "start"): Promise<ApprovedPreview | undefined> {
        if (!isApplyOp(job.op)) return undefined;
        const previewId = job.options.previewId;
        const preview = previewId ? await this.deps.jobs.findJob(previewId) : undefined;
        const approvals = previewId ? (await this.recorded(previewId)).counted : [];
        // People who approved are not here when their approval is used: the provider is asked about them now.
        for (const by of new Set(approvals.filter((a) => a.decision === "approve" && a.by.startsWith(SSO_PREFIX)).map((a) => a.by))) await this.deps.refreshRole?.(by);
        checkApplyAllowed({
            policy,
            operation: job.op,
            previewId,
            preview,
            latestPreviewId: (await this.deps.jobs.latestPreview(job.stack))?.id,
            approvals,
            now: this.now(),
            roleOf: this.deps.roleOf,
        });
        if (!preview) return undefined;
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
        return {
            id: preview.id,
            refresh: preview.options.refresh === true,
            plan: preview.options.mode === "plan",
            // The step guard compares the engine's events with the preview's steps as they are now.
            onEvent: this.stepGuardOf(job, preview),
        };
    }

    /** What changed since `preview` ran; a preview without a fingerprint counts as stale. */
    async staleness(preview: Job): Promise<{ part: string; message: string }[]> {
        const approved = (await this.pending.get(preview.id)) ?? (await this.deps.store.fingerprintOf(preview.id));
        if (!approved) return [{ part: "preview", message: "the preview has no recorded fingerprint (its state could not be read when it ran)" }];
        return compareFingerprint(approved, await this.deps.fingerprint(preview.stack));
    }

    /**
     * The step guard of an update or destroy applying `preview`: each stop is audited, and after
     * one the job is held to a preview of no steps.
     */
    private stepGuardOf(job: Job, preview: Job): (event: Record<string, unknown>) => GuardVerdict {
        let guard = job.op === "destroy" ? destroyGuard() : stepGuard(preview.summary?.steps ?? []);
        return (event) => {
            const reason = guard(event);
            if (!reason) return undefined;
            guard = job.op === "destroy" ? destroyGuard() : stepGuard([]);
            this.deps.audit.append({
                actor: { name: "step-guard", via: "system" },
                action: "guard.stop",
                from: "service",
                result: "stopped",
                stack: job.stack,
                jobId: job.id,
                previewId: preview.id,
                details: { reason },
            });
            return { stop: reason };
        };
    }

    /** A job has ended: its stack may have changed. */
    jobFinished(job: Job): void {
        if (job.op !== "preview") this.current.delete(job.stack);
    }

    /** The stack's fingerprint now, reused for STALENESS_CACHE_MS; concurrent askers share one computation. */
    private currentFingerprint(stack: string): { checkedAt: string; fingerprint: Promise<Fingerprint> } {
        const now = performance.now();
        const hit = this.current.get(stack);
        if (hit && now - hit.at < STALENESS_CACHE_MS) return hit;
        const entry = { at: now, checkedAt: this.now().toISOString(), fingerprint: this.deps.fingerprint(stack) };
        this.current.set(stack, entry);
        // A failure is not kept: the next asker tries again.
        entry.fingerprint.catch(() => {
            if (this.current.get(stack) === entry) this.current.delete(stack);
        });
        return entry;
    }

    /** Whether `preview` would still apply as far as its fingerprint goes, said before anyone approves it. */
    private async stalenessOf(preview: Job, approved: Fingerprint | undefined): Promise<PreviewStaleness> {
        const { checkedAt, fingerprint } = this.currentFingerprint(preview.stack);
        if (!approved) return { checkedAt, stale: true, changes: [{ part: "preview", message: "the preview has no recorded fingerprint (its state could not be read when it ran)" }] };
        try {
            const changes = compareFingerprint(approved, await fingerprint);
            return { checkedAt, stale: changes.length > 0, changes };
        } catch (err) {
            this.deps.onFingerprintError?.(err, preview);
            // The CLI's own words stay in the service log: a response never carries them.
            return { checkedAt, changes: [], error: "the stack's current state could not be read; the service log says why" };
        }
    }

    /**
     * The resources in the stack's state as a succeeded preview saw them (its steps on existing
     * resources, deletes included, without the stack and its providers): what a destroy applying
     * the preview deletes. Undefined when its events are no longer kept (retention).
     */
    private async stateResources(preview: Job): Promise<StateResource[] | undefined> {
        if (preview.state !== "succeeded" || !this.deps.jobs.eventsAfter) return undefined;
        if (this.resourcesSeen.has(preview.id)) return this.resourcesSeen.get(preview.id);
        const found = new Map<string, string>();
        let after = 0;
        let events = 0;
        for (;;) {
            const page = await this.deps.jobs.eventsAfter(preview.id, after, 1000);
            for (const e of page) {
                events++;
                if (e.type !== "resourcePreEvent") continue;
                const m = (e.data as { resourcePreEvent?: { metadata?: { op?: string; urn?: string; type?: string } } })?.resourcePreEvent?.metadata;
                if (m?.urn && m.op && IN_STATE_OPS.has(m.op) && !isBookkeeping(m.type ?? "")) found.set(m.urn, m.type ?? "");
            }
            if (page.length < 1000) break;
            after = page[page.length - 1].seq;
        }
        const resources = events === 0 ? undefined : [...found].map(([urn, type]) => ({ urn, type })).sort((a, b) => a.urn.localeCompare(b.urn));
        if (this.resourcesSeen.size >= RESOURCE_CACHE_SIZE) this.resourcesSeen.delete(this.resourcesSeen.keys().next().value as string);
        this.resourcesSeen.set(preview.id, resources);
        return resources;
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

    /**
     * A preview's decisions and what they allow, with what a reader needs before deciding: the
     * commit it previewed, whether the stack changed since (the latest, unapplied preview of the
     * service's checkout only: nothing else can be applied), and the resources a destroy
     * applying it would delete.
     */
    async list(previewId: string): Promise<{ previewId: string; stack: string; approvals: Approval[]; unrecorded?: Approval[]; update: ApprovalStatus; destroy: ApprovalStatus; latest: boolean;
        appliedBy?: { jobId: string; op: string; finishedAt?: string }; commit?: string; staleness?: PreviewStaleness; resources?: StateResource[] }> {
        const preview = await this.lookup(previewId);
        const base = await this.context(preview, "update");
        const applied = await this.appliedBy(preview);
        const { unrecorded } = await this.recorded(previewId);
        const approved = preview.op === "preview" ? ((await this.pending.get(previewId)) ?? (await this.deps.store.fingerprintOf(previewId))) : undefined;
        const open = preview.op === "preview" && preview.state === "succeeded" && !preview.options.source && base.latestPreviewId === previewId && !applied;
        const staleness = open ? await this.stalenessOf(preview, approved) : undefined;
        const resources = preview.op === "preview" ? await this.stateResources(preview) : undefined;
        return {
            previewId,
            stack: preview.stack,
            approvals: base.approvals as Approval[],
            ...(unrecorded.length ? { unrecorded } : {}),
            update: approvalStatus(base),
            destroy: approvalStatus({ ...base, operation: "destroy" }),
            latest: base.latestPreviewId === previewId,
            ...(applied ? { appliedBy: { jobId: applied.id, op: applied.op, finishedAt: applied.finishedAt } } : {}),
            ...(approved?.program.commit ? { commit: approved.program.commit } : {}),
            ...(staleness ? { staleness } : {}),
            ...(resources ? { resources } : {}),
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
