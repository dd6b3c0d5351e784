import { StepMetadata, stepDiffs } from "./diffs";
import type { JobSummary } from "./types";

const REPLACE_OPS = new Set(["replace", "create-replacement", "delete-replaced"]);

/** Summaries whose counts came from the engine's own summaryEvent (authoritative). */
const sawSummary = new WeakSet<JobSummary>();

/**
 * Counts per operation until the engine's own arrive. A refresh job's steps are all drift, and
 * count; a preview or update with refresh counts only what it plans (the engine does not count
 * the drift its refresh found either), also while its refresh or program still runs. Without
 * the job's operation: the planned steps once there are any.
 */
function countSteps(steps: JobSummary["steps"], op?: string): Record<string, number> {
    const planned = steps.filter((s) => !s.drift);
    const counted = op === "refresh" ? steps : op !== undefined || planned.length ? planned : steps;
    const counts: Record<string, number> = {};
    for (const s of counted) counts[s.op] = (counts[s.op] ?? 0) + 1;
    return counts;
}

/**
 * Drops the dynamic providers' serialised source (`__provider`, kilobytes per resource and
 * per event) from an engine event before it is stored or streamed: it is code, not state.
 */
export function compactEvent<T>(value: T): T {
    if (Array.isArray(value)) return value.map((v) => compactEvent(v)) as T;
    if (value && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).filter(([k]) => k !== "__provider").map(([k, v]) => [k, compactEvent(v)])) as T;
    }
    return value;
}

export const emptySummary = (): JobSummary => ({ counts: {}, steps: [], policyViolations: [] });

/** The engine event's kind: the one payload key besides sequence and timestamp. */
export function eventType(event: Record<string, unknown>): string {
    return Object.keys(event).find((k) => k !== "sequence" && k !== "timestamp") ?? "unknown";
}

/**
 * Folds one engine event into the job's change summary. Steps come from `resourcePreEvent`
 * (what the engine is about to do, in previews too); the counts from the engine's closing
 * `summaryEvent` when it arrives, else from the steps, so a cancelled job still has counts
 * (`op`, the job's operation, says which steps count until then).
 */
export function foldEvent(summary: JobSummary, event: Record<string, unknown>, op?: string): JobSummary {
    const type = eventType(event);
    const body = event[type] as Record<string, any> | undefined;
    if (!body) return summary;
    if (type === "resourcePreEvent") {
        const m = body.metadata as (StepMetadata & { urn?: string; type?: string }) | undefined;
        // Provider registrations are bookkeeping, not changes: the engine leaves them out of its counts too.
        if (m?.op && m.urn && m.op !== "same" && !m.type?.startsWith("pulumi:providers:")) {
            // A refresh step's changes are known only with its outputs (below).
            const changed = m.op === "update" || REPLACE_OPS.has(m.op) ? stepDiffs(m) : undefined;
            // A refresh step is marked: with refresh, a preview or update lists the resource again
            // for what it then plans, and the two must not read as one change made twice.
            summary.steps.push({ urn: m.urn, type: m.type ?? "", op: m.op,
                ...(changed?.diffs.length ? { diffs: changed.diffs } : {}), ...(changed?.replaceReasons ? { replaceReasons: changed.replaceReasons } : {}),
                ...(m.op === "refresh" ? { drift: true as const } : {}) });
            if (!sawSummary.has(summary)) summary.counts = countSteps(summary.steps, op);
        }
    } else if (type === "resOutputsEvent") {
        // A refresh step only says "refresh"; its outcome arrives with the resource's outputs. A
        // refresh job's engine names it (same, update = drift, delete = gone); the refresh a
        // preview or update with refresh runs first says "refresh" again, and its outcome is read
        // the engine's way: the state's outputs (old) against what the provider read (new; none
        // when the resource is gone). Outputs of a step the operation then planned for the same
        // resource never touch its drift step.
        const m = body.metadata as (StepMetadata & { urn?: string }) | undefined;
        const i = summary.steps.findIndex((s) => s.urn === m?.urn && s.drift && s.op === "refresh");
        const planned = summary.steps.some((s) => s.urn === m?.urn && !s.drift);
        if (i >= 0 && m?.op && !planned) {
            // (Events mask secrets: a drift of a secret output alone reads as "same" here, where
            // the engine, comparing real values, would say update; a refresh job reports it.)
            const found = m.op !== "refresh" ? m.op : !m.new ? "delete" : stepDiffs(m, true).diffs.length ? "update" : "same";
            if (found === "same") summary.steps.splice(i, 1);
            else {
                // Drift: what the state holds against what the provider reads now.
                const drift = found === "update" ? stepDiffs(m, true).diffs : [];
                summary.steps[i] = { ...summary.steps[i], op: found, ...(drift.length ? { diffs: drift } : {}) };
            }
            if (!sawSummary.has(summary)) summary.counts = countSteps(summary.steps, op);
        }
    } else if (type === "summaryEvent") {
        const changes = body.resourceChanges as Record<string, number> | undefined;
        if (changes) {
            summary.counts = { ...changes };
            sawSummary.add(summary);
        }
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

/**
 * What a refresh found drifted: each resource whose state differs from the cloud, with the
 * properties that differ. Jobs stored before steps were marked `drift` are refresh jobs whose
 * every step is drift.
 */
export function driftOf(summary: JobSummary | undefined): Array<{ urn: string; op: string; properties: string[] }> {
    const steps = summary?.steps ?? [];
    const marked = steps.some((s) => s.drift);
    return steps.filter((s) => s.op !== "refresh" && s.op !== "same" && (s.drift || !marked)).map((s) => ({ urn: s.urn, op: s.op, properties: (s.diffs ?? []).map((d) => d.path) }));
}

/** A resource operation the engine started and has not reported finished. */
export interface InFlightStep {
    urn: string;
    op: string;
}

/**
 * The resource operations under way after `events` (a job's engine events, in order): each
 * `resourcePreEvent` starts one, its `resOutputsEvent` or `resOpFailedEvent` ends it. What a
 * kill would cut off in the middle, and leave as pending operations in the state.
 */
export function inFlightSteps(events: readonly { type: string; data: unknown }[]): InFlightStep[] {
    const open = new Map<string, string>();
    for (const e of events) {
        const body = (e.data as Record<string, any> | undefined)?.[e.type] as Record<string, any> | undefined;
        const m = body?.metadata as { urn?: string; op?: string; type?: string; new?: { custom?: boolean } | null; old?: { custom?: boolean } | null } | undefined;
        if (!m?.urn) continue;
        // The stack and other components are bookkeeping the engine does itself: no provider call
        // to cut off. (`custom` is left out of the event when false.)
        const custom = (m.new ?? m.old)?.custom === true;
        if (e.type === "resourcePreEvent" && custom && m.op && m.op !== "same" && m.op !== "read" && !m.type?.startsWith("pulumi:providers:")) open.set(m.urn, m.op);
        else if (e.type === "resOutputsEvent" || e.type === "resOpFailedEvent") open.delete(m.urn);
    }
    return [...open].map(([urn, op]) => ({ urn, op }));
}
