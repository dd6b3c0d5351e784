// What the job service asks of admission: the checks at submit and at start, and what a job that
// applies a preview is admitted with (the preview's plan, refresh and step guard, as one value).
import type { Principal } from "../security/roles";
import type { Job } from "./types";

/** What a guard may answer to an engine event: nothing, or stop the job (with a reason). */
export type GuardVerdict = void | undefined | "stop" | { stop: string };

/**
 * The approved preview an update or destroy applies, as admission found it when the job left
 * the queue: the run holds to this value, and never looks the preview up again.
 */
export interface ApprovedPreview {
    id: string;
    /** The preview refreshed first: an update applying it refreshes too, or its plan would not match. */
    refresh: boolean;
    /** The preview saved an update plan: an update applying it runs under that plan (`--plan`) or not at all (PLAN_MISSING). */
    plan: boolean;
    /**
     * The step guard over the job's engine events, built from the preview's steps when the job
     * started: a step the reviewed preview did not contain stops the job.
     */
    onEvent(event: Record<string, unknown>): GuardVerdict;
}

/**
 * The one admission path of every operation, with its two moments. `admit` runs at submit,
 * before anything is stored: an AppError is the caller's answer. `beforeStart` runs when the
 * job leaves the queue: the same checks against the policy, tokens, approvals and repair state
 * as they are then (the stack, the policy or the caller's token may have changed while the job
 * waited); an AppError fails the job with its code. It answers the approved preview the job
 * applies, if it applies one: the run uses that preview's plan, refresh and step guard.
 */
export interface JobGuard {
    admit(job: Job, principal: Principal): void | Promise<void>;
    beforeStart(job: Job): ApprovedPreview | void | Promise<ApprovedPreview | void>;
}

/** A guard that admits everything, for tests of the job machinery alone. */
export const openGuard: JobGuard = { admit: () => undefined, beforeStart: () => undefined };
