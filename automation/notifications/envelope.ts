import type { Job } from "../jobs/types";
import type { LastJobFilter } from "../jobs/store";
import type { NotificationEvent } from "./destinations";

/** The change a job made or plans, as a person counts it. */
export interface ChangeCounts {
    create: number;
    update: number;
    delete: number;
    replace: number;
}

/** How far a preview's approval has come under the policy and tokens of now. */
export interface ApprovalProgress {
    operation: "update" | "destroy";
    required: number;
    /** Approvals that count now (distinct approvers, eligible, unexpired). */
    given: number;
    stillNeeded: number;
}

/**
 * What every notification carries, whatever its event, beside its own fields: the stack, who
 * acted, the job it is about with its link in the dashboard, and the counts of the change.
 */
export interface Envelope {
    stack: string;
    /** Who started the job it is about; the approver for approval.granted; the scheduler for destroy.upcoming. */
    actor: string;
    /** The job in the dashboard; null when the service has no AUTOMATION_PUBLIC_URL (or the stack no job yet). */
    url: string | null;
    /** Of `job`, or for dependency.triggered of the upstream job whose change started it; null when nothing was counted. */
    counts: ChangeCounts | null;
    job: JobView | null;
    /** approval.requested and approval.granted only. */
    approvals?: ApprovalProgress;
}

export type JobView = ReturnType<typeof jobView>;

/** What a notification says of a job: enough to act on, never its log or its options' secrets. */
export function jobView(job: Job) {
    return {
        id: job.id,
        op: job.op,
        state: job.state,
        triggeredBy: job.triggeredBy,
        createdAt: job.createdAt,
        ...(job.startedAt ? { startedAt: job.startedAt } : {}),
        ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
        ...(job.summary?.counts ? { counts: job.summary.counts } : {}),
        ...(job.error ? { error: job.error } : {}),
        ...(job.options.previewId ? { previewId: job.options.previewId } : {}),
        ...(job.options.onBehalfOf ? { onBehalfOf: job.options.onBehalfOf.name } : {}),
    };
}

/**
 * Creates, updates, deletes and replaces from a summary's counts (the engine's own keys); null
 * for a job that counted nothing yet (queued, or failed before its first step).
 */
export function changeCounts(counts: Readonly<Record<string, number>> | undefined): ChangeCounts | null {
    if (!counts || Object.keys(counts).length === 0) return null;
    return { create: counts.create ?? 0, update: counts.update ?? 0, delete: counts.delete ?? 0, replace: counts.replace ?? 0 };
}

/**
 * A job's page in the dashboard: its hash route (`#/jobs/<id>`, which the page opens on load)
 * under the public URL, which may carry a path prefix; null without a public URL.
 */
export function jobUrl(publicUrl: string | undefined, jobId: string): string | null {
    if (!publicUrl) return null;
    return `${publicUrl.replace(/\/+$/, "")}/#/jobs/${encodeURIComponent(jobId)}`;
}

/** Where the envelope's facts are read from (the job store and the approvals, in the assembly). */
export interface EnvelopeSources {
    publicUrl?: string;
    findJob(id: string): Promise<Job | undefined>;
    lastJob(stack: string, filter: LastJobFilter): Promise<Job | undefined>;
    approvalProgress(previewId: string, operation: "update" | "destroy"): Promise<ApprovalProgress>;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** The job an event is about, by its payload; for events of a stack, the job they follow from. */
async function subjectOf(event: NotificationEvent, payload: Record<string, unknown>, stack: string, s: EnvelopeSources): Promise<Job | undefined> {
    const id = str((payload.job as { id?: unknown } | undefined)?.id) ?? str(payload.previewId);
    if (id) return s.findJob(id);
    // The job whose end left the stack needing repair; the update the TTL destroy counts from.
    if (event === "stack.needs-repair") return s.lastJob(stack, { started: true });
    if (event === "destroy.upcoming") return s.lastJob(stack, { states: ["succeeded"], ops: ["update"] });
    return undefined;
}

/**
 * Adds the envelope to an event's payload. Each fact read that fails leaves its field null
 * rather than holding the notification back: a receiver still hears of the event.
 */
export async function withEnvelope(event: NotificationEvent, payload: Record<string, unknown>, s: EnvelopeSources): Promise<Record<string, unknown> & Envelope> {
    const stack = str(payload.stack) ?? "";
    const soft = <T>(p: Promise<T>): Promise<T | undefined> => p.catch(() => undefined);
    const job = await soft(subjectOf(event, payload, stack, s));
    const upstream = event === "dependency.triggered" && str(payload.upstreamJob) ? await soft(s.findJob(str(payload.upstreamJob)!)) : undefined;
    const previewId = str(payload.previewId) ?? (event === "approval.requested" ? job?.id : undefined);
    const operation = payload.operation === "destroy" ? "destroy" : "update";
    const approvals = (event === "approval.requested" || event === "approval.granted") && previewId ? await soft(s.approvalProgress(previewId, operation)) : undefined;
    const actor = event === "approval.granted" ? str(payload.by) : event === "destroy.upcoming" ? "schedule:destroy" : job?.triggeredBy;
    const given = payload.job as JobView | undefined;
    return {
        ...payload,
        stack,
        actor: actor ?? "service",
        url: job ? jobUrl(s.publicUrl, job.id) : null,
        counts: changeCounts((upstream ?? job)?.summary?.counts),
        job: job ? jobView(job) : given && typeof given === "object" && "id" in given ? given : null,
        ...(approvals ? { approvals } : {}),
    };
}

/** An approval status (approvals/rules.ts) as the envelope tells it: how many count, and how many are still needed. */
export function approvalProgressOf(status: { required: number; approvedBy: readonly string[] }, operation: "update" | "destroy"): ApprovalProgress {
    const given = status.approvedBy.length;
    return { operation, required: status.required, given, stillNeeded: Math.max(0, status.required - given) };
}
