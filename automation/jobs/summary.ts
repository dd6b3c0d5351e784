import type { JobSummary } from "./types";

export const emptySummary = (): JobSummary => ({ counts: {}, steps: [], policyViolations: [] });

/** The engine event's kind: the one payload key besides sequence and timestamp. */
export function eventType(event: Record<string, unknown>): string {
    return Object.keys(event).find((k) => k !== "sequence" && k !== "timestamp") ?? "unknown";
}

/**
 * Folds one engine event into the job's change summary. Steps come from `resourcePreEvent`
 * (what the engine is about to do, in previews too); the counts from the engine's closing
 * `summaryEvent` when it arrives, else from the steps, so a cancelled job still has counts.
 */
export function foldEvent(summary: JobSummary, event: Record<string, unknown>): JobSummary {
    const type = eventType(event);
    const body = event[type] as Record<string, any> | undefined;
    if (!body) return summary;
    if (type === "resourcePreEvent") {
        const m = body.metadata as { op?: string; urn?: string; type?: string } | undefined;
        if (m?.op && m.urn && m.op !== "same") {
            summary.steps.push({ urn: m.urn, type: m.type ?? "", op: m.op });
            summary.counts[m.op] = (summary.counts[m.op] ?? 0) + 1;
        }
    } else if (type === "summaryEvent") {
        const changes = body.resourceChanges as Record<string, number> | undefined;
        if (changes) summary.counts = { ...changes };
    } else if (type === "policyEvent") {
        summary.policyViolations.push({
            policyPack: String(body.policyPackName ?? ""),
            policyName: String(body.policyName ?? ""),
            enforcementLevel: String(body.enforcementLevel ?? ""),
            message: String(body.message ?? ""),
            ...(body.resourceUrn ? { urn: String(body.resourceUrn) } : {}),
        });
    }
    return summary;
}
