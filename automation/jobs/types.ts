import { z } from "zod";
import { VIAS } from "../security/roles";

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

// A job as the API answers it and the store keeps it, in zod: the TypeScript types are inferred
// from these schemas, and the OpenAPI document's Job schema is generated from them (io "output"),
// so the three cannot drift apart.

const d = (description: string) => ({ description });
// As the store gives them back (SQLite's text, Postgres's timestamps): an ISO 8601 instant.
const instant = () => z.string().meta({ format: "date-time" });

/** A pull request's head commit a job runs on instead of the service's own checkout. */
export const PullRequestSourceSchema = z.object({
    repository: z.string().meta(d("`owner/name`, one of AUTOMATION_GITHUB_REPOSITORIES.")),
    pullRequest: z.number().int(),
    sha: z.string().meta(d("The full head commit sha the delivery named.")),
});
export type PullRequestSource = z.infer<typeof PullRequestSourceSchema>;

/** What the caller asked for beyond the operation itself. */
export const JobOptionsSchema = z.object({
    previewId: z.uuid().optional().meta(d("Update or destroy: the preview job whose approval it applies.")),
    mode: z.enum(["preview", "apply", "plan"]).optional().meta(d('Refresh: "preview" reports drift only (default); "apply" writes the refreshed state. Preview: "plan" also saves a Pulumi update plan, which an update naming the preview then applies with --plan.')),
    refresh: z.boolean().optional().meta(d("Preview/update: the state was read from the cloud first (--refresh); an update applying an approved preview takes the preview's.")),
    noQueue: z.boolean().optional().meta(d("Refuse with 409 rather than wait when the stack is busy.")),
    message: z.string().optional().meta(d("Free-form note from the caller (shown in the dashboard and audit).")),
    source: PullRequestSourceSchema.optional().meta(d("Set by the GitHub webhook: the preview ran this pull request's head commit, checked out for the job, and cannot be approved.")),
    onBehalfOf: z
        .object({ name: z.string(), via: z.enum(VIAS) })
        .optional()
        .meta(d("Set by the service on a job a stack dependency started: whose authority it runs with (the caller, GitHub delivery or schedule that began the chain).")),
    idempotencyKey: z.string().optional().meta(d("The Idempotency-Key header of the request that created the job (set by the route, never by a body).")),
});
export type JobOptions = z.infer<typeof JobOptionsSchema>;

/** Jobs of one source supersede each other: the same pull request, or the service's checkout. */
export const sourceKey = (options: JobOptions): string => (options.source ? `${options.source.repository}#${options.source.pullRequest}` : "");

/** One changed property of a step, as `pulumi preview --diff` shows it. */
export const PropertyDiffSchema = z.object({
    path: z.string().meta(d("`content`, `tags.Name`, `ingress[0].fromPort`.")),
    kind: z.enum(["add", "delete", "update", "replace"]),
    old: z.unknown().optional().meta(d("Before (for a refresh: in the state); secrets [secret], long values elided. Absent for add.")),
    new: z.unknown().optional().meta(d("After (for a refresh: what the provider reads now). Absent for delete.")),
});
export type PropertyDiff = z.infer<typeof PropertyDiffSchema>;

export const ResourceStepSchema = z.object({
    urn: z.string(),
    type: z.string(),
    op: z.string().meta(d("create, update, delete, replace, create-replacement, delete-replaced, …; for a refresh: update (drift) or delete (gone)")),
    diffs: z.array(PropertyDiffSchema).optional().meta(d("The properties the step changes (for a refresh: the drifted ones), when the engine showed both sides.")),
    replaceReasons: z.array(z.string()).optional().meta(d("For a replacement: the properties that force it.")),
    drift: z.literal(true).optional().meta(d("Found by a refresh (a refresh job, or the refresh a preview or update with refresh runs first): op is the drift, the state against the cloud (update: changed, delete: gone). The step the preview or update then plans for the resource is listed on its own.")),
});
export type ResourceStep = z.infer<typeof ResourceStepSchema>;

export const PolicyViolationSchema = z.object({
    policyPack: z.string(),
    policyName: z.string(),
    enforcementLevel: z.string(),
    message: z.string(),
    urn: z.string().optional(),
});
export type PolicyViolation = z.infer<typeof PolicyViolationSchema>;

export const JobSummarySchema = z.object({
    counts: z.record(z.string(), z.number().int()).meta(d('Resources per engine operation, e.g. {"create": 2, "same": 1}.')),
    steps: z.array(ResourceStepSchema).meta(d("Every resource step the engine took or planned, with its operation.")),
    policyViolations: z.array(PolicyViolationSchema),
    outputs: z.record(z.string(), z.unknown()).optional().meta(d("Stack outputs after a successful update/refresh/destroy; secrets [secret].")),
    stopReason: z.string().optional().meta(d("For stopped-by-guard: why the guard stopped the job.")),
});
export type JobSummary = z.infer<typeof JobSummarySchema>;

export const JobSchema = z.object({
    id: z.uuid(),
    stack: z.string(),
    op: z.enum(OPS),
    state: z.enum(JOB_STATES),
    triggeredBy: z.string(),
    triggeredVia: z.enum(VIAS).meta(d("How triggeredBy was authenticated (system: the service's own schedules and stack dependencies, triggeredBy schedule:… or dependency:<stack>); when the job leaves the queue it is checked again as the tokens (or the policy's github section) say then.")),
    createdAt: instant(),
    startedAt: instant().optional(),
    finishedAt: instant().optional(),
    cancelRequestedBy: z.string().optional().meta(d("Who asked to cancel the job, while it is cancelling.")),
    instance: z.string().optional().meta(d("The service instance that runs or ran the job (AUTOMATION_INSTANCE_ID, or host-pid-random).")),
    options: JobOptionsSchema,
    summary: JobSummarySchema.optional(),
    error: z.object({ code: z.string().meta(d("docs/errors.md")), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }).optional(),
});
export type Job = z.infer<typeof JobSchema>;

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
