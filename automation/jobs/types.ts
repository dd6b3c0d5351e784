import type { Via } from "../security/roles";

export const OPS = ["preview", "update", "refresh", "destroy"] as const;
export type Op = (typeof OPS)[number];

/**
 * `cancelling`: a running job someone cancelled, until its worker stops (the engine finishing
 * its in-flight steps, or the kill after the grace period). Never stored: the job service shows it.
 */
export const JOB_STATES = ["queued", "running", "cancelling", "succeeded", "failed", "cancelled", "interrupted", "stopped-by-guard", "superseded"] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINAL_STATES: readonly JobState[] = ["succeeded", "failed", "cancelled", "interrupted", "stopped-by-guard", "superseded"];
export const isFinal = (s: JobState) => FINAL_STATES.includes(s);

/** A pull request's head commit a job runs on instead of the service's own checkout. */
export interface PullRequestSource {
    /** `owner/name`, one of AUTOMATION_GITHUB_REPOSITORIES. */
    repository: string;
    pullRequest: number;
    /** The full head commit sha the delivery named. */
    sha: string;
}

/** What the caller asked for beyond the operation itself. */
export interface JobOptions {
    /** Update: the preview job whose approval this update applies (SAFE's guards check it). */
    previewId?: string;
    /**
     * Refresh: "preview" reports drift only (default); "apply" writes the refreshed state.
     * Preview: "plan" also saves a Pulumi update plan, which an update naming the preview
     * then applies with `--plan` (SAFE's approvals).
     */
    mode?: "preview" | "apply" | "plan";
    /**
     * Preview/update: read the state from the cloud first (`--refresh`), so the run puts drift
     * right. An update applying an approved preview takes the preview's.
     */
    refresh?: boolean;
    /** Refuse with 409 rather than wait when the stack is busy. */
    noQueue?: boolean;
    /** Free-form note from the caller (shown in the dashboard and audit). */
    message?: string;
    /**
     * Preview only, set by the GitHub webhook: run on this pull request's head, checked out
     * for the job. Such a preview can never be approved (updates run the service's checkout).
     */
    source?: PullRequestSource;
    /**
     * Set by the service on a job it starts because of someone else's job (a stack dependency):
     * whose authority it runs with, which the admission guard checks as if that caller had asked
     * for it directly. Carried down a chain of dependencies from the job that began it: a
     * person's token, a GitHub delivery, or a schedule of the upstream stack's policy.
     */
    onBehalfOf?: { name: string; via: Via };
    /** The Idempotency-Key of the request that created it (set by the route, never by a body). */
    idempotencyKey?: string;
}

/** Jobs of one source supersede each other: the same pull request, or the service's checkout. */
export const sourceKey = (options: JobOptions): string => (options.source ? `${options.source.repository}#${options.source.pullRequest}` : "");

/** One changed property of a step, as `pulumi preview --diff` shows it. */
export interface PropertyDiff {
    /** `content`, `tags.Name`, `ingress[0].fromPort`. */
    path: string;
    kind: "add" | "delete" | "update" | "replace";
    /** Before (for a refresh: in the state); secrets `[secret]`, long values elided. Absent for add. */
    old?: unknown;
    /** After (for a refresh: what the provider reads now). Absent for delete. */
    new?: unknown;
}

export interface ResourceStep {
    urn: string;
    type: string;
    op: string;
    /** The properties the step changes (for a refresh: the drifted ones), when the engine showed both sides. */
    diffs?: PropertyDiff[];
    /** For a replacement: the properties that force it. */
    replaceReasons?: string[];
}

export interface PolicyViolation {
    policyPack: string;
    policyName: string;
    enforcementLevel: string;
    message: string;
    urn?: string;
}

export interface JobSummary {
    /** Resources per engine operation, e.g. {"create": 2, "same": 1}. */
    counts: Record<string, number>;
    /** Every resource step the engine took or planned, with its operation. */
    steps: ResourceStep[];
    policyViolations: PolicyViolation[];
    /** Stack outputs after a successful update/refresh/destroy, secrets masked. */
    outputs?: Record<string, unknown>;
    /** For stopped-by-guard: why the guard stopped the job. */
    stopReason?: string;
}

export interface Job {
    id: string;
    stack: string;
    op: Op;
    state: JobState;
    triggeredBy: string;
    /** How `triggeredBy` was authenticated: a bearer token, a verified GitHub delivery, or the service itself (a schedule, a dependency: `schedule:…`, `dependency:<stack>`). */
    triggeredVia: Via;
    createdAt: string;
    startedAt?: string;
    finishedAt?: string;
    /** Who asked to cancel it, while it is `cancelling`. */
    cancelRequestedBy?: string;
    /** The service instance that runs or ran it (several share one database). */
    instance?: string;
    options: JobOptions;
    summary?: JobSummary;
    error?: { code: string; message: string };
}

/** A structured event as stored and streamed: the engine's own events plus the job's state changes. */
export interface StoredEvent {
    seq: number;
    jobId: string;
    type: string;
    at: string;
    data: unknown;
}

export interface LogLine {
    seq: number;
    at: string;
    text: string;
}
