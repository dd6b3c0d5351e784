import type { EnvironmentPolicy } from "../environments/policy";
import type { Job } from "../jobs/types";

/** The outputs whose value differs between two snapshots (added and removed ones too), sorted. */
export function changedOutputs(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

/** The stacks that follow `upstream` and read one of `changed`, with the outputs each reads that changed. */
export function dependentsOf(
    policies: ReadonlyArray<Pick<EnvironmentPolicy, "stack" | "dependsOn">>,
    upstream: string,
    changed: readonly string[],
): Array<{ stack: string; run: "preview" | "update"; outputs: string[] }> {
    const out: Array<{ stack: string; run: "preview" | "update"; outputs: string[] }> = [];
    for (const p of policies) {
        const d = p.dependsOn.find((x) => x.stack === upstream);
        if (!d) continue;
        const outputs = d.outputs ? changed.filter((k) => d.outputs!.includes(k)) : [...changed];
        if (outputs.length) out.push({ stack: p.stack, run: d.run, outputs });
    }
    return out;
}

/**
 * The stacks a job's program read through a StackReference, by the reference's name
 * (`org/project/stack` or a plain stack name: its last segment), sorted.
 */
export function stackReferencesOf(job: Pick<Job, "summary">): string[] {
    const names = (job.summary?.steps ?? []).filter((s) => s.type === "pulumi:pulumi:StackReference").map((s) => s.urn.split("::").pop()!.split("/").pop()!);
    return [...new Set(names)].sort();
}

/** Where the declared `dependsOn` and the program's StackReferences disagree, in words; empty when they agree. */
export function referenceWarnings(stack: string, declared: readonly string[], referenced: readonly string[]): string[] {
    const warnings: string[] = [];
    for (const s of referenced) if (!declared.includes(s)) warnings.push(`${stack}'s program reads ${s} through a StackReference, but its policy does not list ${s} in dependsOn: a change of ${s} triggers nothing here`);
    for (const s of declared) if (!referenced.includes(s)) warnings.push(`${stack}'s policy lists ${s} in dependsOn, but its program makes no StackReference to ${s}`);
    return warnings;
}
