import { driftOf } from "../jobs/summary";
import type { Job } from "../jobs/types";
import type { NotificationEvent } from "./destinations";
import { jobView } from "./envelope";

const FAILED = new Set(["failed", "interrupted", "stopped-by-guard"]);

/**
 * The notifications a finished job gives: always `job.finished`; `job.failed` when it failed,
 * was interrupted or stopped by a guard; `drift.detected` for a refresh that found drift;
 * `approval.requested` for a succeeded preview of the service's checkout on a stack whose
 * updates need approvals (`approvalsNeeded` says how many now).
 */
export function notificationsOf(job: Job, approvalsNeeded: (stack: string) => number): Array<[NotificationEvent, Record<string, unknown>]> {
    const base = { stack: job.stack, job: jobView(job) };
    const out: Array<[NotificationEvent, Record<string, unknown>]> = [["job.finished", base]];
    if (FAILED.has(job.state)) out.push(["job.failed", base]);
    const drifted = job.op === "refresh" && job.state === "succeeded" ? driftOf(job.summary) : [];
    if (drifted.length) out.push(["drift.detected", { ...base, resources: drifted }]);
    if (job.op === "preview" && job.state === "succeeded" && !job.options.source) {
        const needed = approvalsNeeded(job.stack);
        if (needed > 0) out.push(["approval.requested", { ...base, approvalsNeeded: needed, approve: `/v1/jobs/${job.id}/approvals` }]);
    }
    return out;
}
