import type { ApprovalService } from "../approvals/service";
import type { EnvironmentPolicy } from "../environments/policy";
import { checkFreeze, checkRole } from "./policyChecks";
import { AppError, forbidden, needsRepair, queuedTokenExpired, withArticle } from "../errors";

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
import type { ApprovedPreview, JobGuard } from "../jobs/guard";
import type { RepairStatus } from "../jobs/stackView";
import type { Job } from "../jobs/types";
import { actsWithOwnRole, hasRole, type Principal, type Role } from "../security/roles";

export interface AdmissionDeps {
    /** The stack's policy now; throws 503 POLICY_INVALID for a file that never validated. */
    policyOf: (stack: string) => EnvironmentPolicy;
    approvals: Pick<ApprovalService, "checkApply">;
    repair: {
        repairStatus(stack: string): Promise<RepairStatus>;
        /** Resolves when a scan of the stack under way has finished (one follows every failed apply). */
        settled(stack: string): Promise<void>;
    };
    /** The role a token's name holds now; undefined once it is revoked or expired. */
    roleOf: (name: string) => Role | undefined;
    /** When the token of that name expired, if it has (its queued jobs then say so rather than "revoked"). */
    expiredAt?: (name: string) => string | undefined;
    /** Asks the identity provider again about a person (`sso:`) before roleOf answers for them. @default none */
    refreshRole?: (name: string) => Promise<void>;
    now?: () => Date;
}

export type Moment = "submit" | "start";

/**
 * The one admission path of every operation (preview, update, refresh, destroy), applied at
 * both moments: when the job is submitted, for the caller who submits it, and when it leaves
 * the queue, for the caller as the tokens say then. Each time, in this order: the stack's
 * policy must validate; the caller must be allowed the operation (a token's role, or for a
 * GitHub delivery the policy's github section); no freeze window may cover it; the stack must
 * not need repair; an update or destroy must apply an approved, unchanged preview where the
 * policy says so.
 */
export class AdmissionGuard implements JobGuard {
    private readonly now: () => Date;

    constructor(private readonly deps: AdmissionDeps) {
        this.now = deps.now ?? (() => new Date());
    }

    async admit(job: Job, principal: Principal): Promise<void> {
        await this.check(job, principal, "submit");
    }

    /** Answers the approved preview an update or destroy applies (its plan, refresh and step guard). */
    async beforeStart(job: Job): Promise<ApprovedPreview | undefined> {
        // The job ahead of this one may have died mid-apply; its scan decides whether this one may run.
        await this.deps.repair.settled(job.stack);
        // A person who queued a job is not here when it starts: the provider is asked about them
        // now, or someone it dropped meanwhile would still act through their queue.
        for (const who of [job.triggeredVia === "session" ? job.triggeredBy : undefined, job.options.onBehalfOf?.via === "session" ? job.options.onBehalfOf.name : undefined]) {
            if (who) await this.deps.refreshRole?.(who);
        }
        return this.check(job, this.principalNow(job), "start");
    }

    /** Who started `job`, as the tokens say now: a revoked or expired token starts nothing. */
    private principalNow(job: Job): Principal {
        if (job.triggeredVia === "webhook") return { name: job.triggeredBy, role: "operator", via: "webhook" };
        if (job.triggeredVia === "system") return { name: job.triggeredBy, role: "operator", via: "system" };
        const role = this.deps.roleOf(job.triggeredBy);
        const expiredAt = role ? undefined : this.deps.expiredAt?.(job.triggeredBy);
        if (expiredAt) throw queuedTokenExpired(job.triggeredBy, job.op, expiredAt);
        if (!role && job.triggeredVia === "session") {
            throw new AppError("NO_ROLE", 403, `${job.triggeredBy}, who queued this ${job.op}, no longer holds a role here (the identity provider no longer puts them in a group given one); nothing runs on their behalf.`, {
                triggeredBy: job.triggeredBy,
            });
        }
        if (!role) {
            throw new AppError("TOKEN_REVOKED", 403, `The token of ${job.triggeredBy}, who queued this ${job.op}, no longer exists; nothing runs on a revoked token's behalf.`, {
                triggeredBy: job.triggeredBy,
            });
        }
        return { name: job.triggeredBy, role, via: job.triggeredVia };
    }

    /**
     * A job the service starts because of another job (a dependency) may do no more than whoever
     * began the chain could do directly on this stack: a person's role as the tokens say now, a
     * GitHub delivery what the policy's github section lets GitHub start, a schedule what an
     * operator may. A stack's own schedules act on the authority of its own policy (checked in
     * checkServiceTrigger) and carry no one's.
     */
    private checkOnBehalfOf(policy: EnvironmentPolicy, job: Job): void {
        if (!job.triggeredBy.startsWith("dependency:")) return;
        const cause = job.options.onBehalfOf ?? { name: job.triggeredBy, via: "system" as const };
        const refuse = (why: string) =>
            forbidden(`${capitalize(withArticle(job.op))} of "${job.stack}" started because ${job.triggeredBy.slice("dependency:".length)} changed runs on behalf of ${cause.name}, who ${why} (policy ${policy.source}).`, {
                stack: job.stack,
                op: job.op,
                onBehalfOf: cause,
            });
        if (actsWithOwnRole(cause.via)) {
            const role = this.deps.roleOf(cause.name);
            if (!role) throw refuse(cause.via === "session" ? "no longer holds a role here" : "no longer holds a token");
            const need = policy.operations[job.op].role;
            if (!hasRole(role, need)) throw refuse(`may not do it directly (it needs role ${need}; ${cause.name} has ${role})`);
            return;
        }
        if (cause.via === "webhook" && job.op === "update" && !policy.github.updateOnPush) throw refuse("is a GitHub delivery, and this stack's policy does not let GitHub deliveries update it (github.updateOnPush)");
        const need = policy.operations[job.op].role;
        if (!hasRole("operator", need)) throw refuse(`acts with an operator's rights at most (it needs role ${need})`);
    }

    private async check(job: Job, principal: Principal, moment: Moment): Promise<ApprovedPreview | undefined> {
        const policy = this.deps.policyOf(job.stack);
        if (principal.via === "webhook") checkGitHubTrigger(policy, job);
        else if (principal.via === "system") {
            checkServiceTrigger(policy, { ...job, triggeredBy: principal.name });
            this.checkOnBehalfOf(policy, job);
        }
        else checkRole(policy, job.op, principal);
        checkFreeze(policy, job.op, this.now());
        const repair = await this.deps.repair.repairStatus(job.stack);
        if (repair.needed) throw needsRepair(job.stack, job.op, repair.findings);
        return this.deps.approvals.checkApply(job, policy, moment);
    }
}

/**
 * The service starts on its own only what the stack's policy declares, as the policy says now
 * (a schedule removed from the file stops its queued runs): a drift check (a preview-mode
 * refresh) and its remediation under `schedules.driftCheck`, a destroy under
 * `schedules.destroy`, and a preview (or an update, with `run: update`) of a stack that
 * `dependsOn` the one named in `dependency:<stack>`.
 */
export function checkServiceTrigger(policy: EnvironmentPolicy, job: Pick<Job, "op" | "options" | "stack" | "triggeredBy">): void {
    const { driftCheck, destroy } = policy.schedules;
    const upstream = /^dependency:(.+)$/.exec(job.triggeredBy)?.[1];
    const dependency = upstream === undefined ? undefined : policy.dependsOn.find((d) => d.stack === upstream);
    const allowed =
        (job.triggeredBy === "schedule:drift-check" && job.op === "refresh" && job.options.mode !== "apply" && driftCheck !== undefined) ||
        (job.triggeredBy === "schedule:remediation" && (job.op === "update" || job.op === "preview") && driftCheck?.remediate === true) ||
        (job.triggeredBy === "schedule:destroy" && job.op === "destroy" && destroy !== undefined) ||
        (dependency !== undefined && (job.op === "preview" || (job.op === "update" && dependency.run === "update")));
    if (allowed) return;
    throw forbidden(`The policy of "${job.stack}" (${policy.source}) does not let the service start ${withArticle(job.op)} as ${job.triggeredBy} (schedules, dependsOn).`, {
        stack: job.stack,
        op: job.op,
    });
}

/**
 * A GitHub delivery may start only what the stack's policy lets GitHub start: previews of pull
 * requests, and updates on pushes (which the policy allows only without approvals).
 */
export function checkGitHubTrigger(policy: EnvironmentPolicy, job: Pick<Job, "op" | "options" | "stack">): void {
    const allowed = (job.op === "preview" && job.options.source !== undefined && policy.github.previewOnPullRequest) || (job.op === "update" && policy.github.updateOnPush);
    if (allowed) return;
    throw forbidden(`The policy of "${job.stack}" (${policy.source}) does not let GitHub deliveries start ${withArticle(job.op)}${job.op === "preview" ? " (github.previewOnPullRequest)" : job.op === "update" ? " (github.updateOnPush)" : ""}.`, {
        stack: job.stack,
        op: job.op,
    });
}
