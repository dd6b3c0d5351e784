import type { EnvironmentPolicy } from "../environments/policy";
import type { JobReader } from "../jobs/reader";
import type { Job, JobOptions, Op } from "../jobs/types";
import type { Logger } from "../logger";
import type { NotificationEvent } from "../notifications/destinations";
import type { Principal } from "../security/roles";
import { changedOutputs, dependentsOf, referenceWarnings, stackReferencesOf } from "./changes";
import type { StackLinks } from "./store";

export interface DependencyDeps {
    stacks: () => string[];
    /** Undefined for a stack whose policy does not load (it then neither triggers nor is triggered). */
    policyOf: (stack: string) => EnvironmentPolicy | undefined;
    links: StackLinks;
    jobs: Pick<JobReader, "listJobs">;
    submit: (input: { stack: string; op: Op; options: JobOptions; principal: Principal }) => Promise<Job>;
    notify: (event: NotificationEvent, payload: Record<string, unknown>) => void;
    logger: Logger;
    now: () => Date;
}

/** What a stack follows and reads, as its status shows it (the `dependencies` of GET /v1/stacks/{stack}). */
export type DependencyStatus = {
    dependsOn: EnvironmentPolicy["dependsOn"];
    /** The stacks its program was last seen reading through a StackReference. */
    references?: string[];
    /** Where dependsOn and the references disagree. */
    warnings?: string[];
};

/** Jobs whose success changes a stack's outputs. */
const changesOutputs = (job: Job) => job.op === "update" || job.op === "destroy" || (job.op === "refresh" && job.options.mode === "apply");

/**
 * Stacks that follow the stacks they read (`dependsOn:` in environments/<stack>.yaml). When a
 * job changes an upstream stack's outputs, each dependent reading a changed output gets a
 * preview (or, with `run: update`, an update; a plan preview awaiting approval where its
 * updates need one). Unchanged outputs trigger nothing; a burst of upstream updates is
 * measured once, after its last job, against the outputs before it, and a dependent that
 * already has such a job waiting gets no second one. Every successful preview or update also
 * records the StackReferences the program made, so a mismatch with `dependsOn` is shown.
 */
export class DependencyService {
    constructor(private readonly d: DependencyDeps) {}

    private policies(): EnvironmentPolicy[] {
        return this.d.stacks().flatMap((s) => this.d.policyOf(s) ?? []);
    }

    async finished(job: Job): Promise<void> {
        if (job.state !== "succeeded" || job.options.source) return;
        try {
            if (job.op === "preview" || job.op === "update") await this.recordReferences(job);
            if (changesOutputs(job)) await this.upstreamChanged(job);
        } catch (err) {
            this.d.logger.warn({ err, jobId: job.id, stack: job.stack }, "following the stack's dependencies failed");
        }
    }

    private async recordReferences(job: Job): Promise<void> {
        if (!job.summary?.steps.length) return;
        const references = stackReferencesOf(job);
        const before = (await this.d.links.get(job.stack))?.references;
        await this.d.links.setReferences(job.stack, references, this.d.now());
        if (JSON.stringify(before) === JSON.stringify(references)) return;
        const declared = this.d.policyOf(job.stack)?.dependsOn.map((x) => x.stack) ?? [];
        for (const warning of referenceWarnings(job.stack, declared, references)) this.d.logger.warn({ stack: job.stack, jobId: job.id }, warning);
    }

    private async upstreamChanged(job: Job): Promise<void> {
        const upstream = job.stack;
        // The rest of a burst is still waiting: its last job measures the whole burst at once.
        const waiting = await this.d.jobs.listJobs({ stack: upstream, state: "queued", limit: 500 });
        if (waiting.some(changesOutputs)) return;
        const baseline = (await this.d.links.get(upstream))?.outputs ?? (await this.previousOutputs(job));
        const outputs = job.op === "destroy" ? {} : (job.summary?.outputs ?? {});
        const changed = changedOutputs(baseline, outputs);
        await this.d.links.setOutputs(upstream, outputs, job.id, this.d.now());
        for (const dependent of dependentsOf(this.policies(), upstream, changed)) await this.trigger(dependent, job);
    }

    /** Without a baseline yet: the outputs of the stack's last successful change before `job`. */
    private async previousOutputs(job: Job): Promise<Record<string, unknown>> {
        const earlier = (await this.d.jobs.listJobs({ stack: job.stack, state: "succeeded", limit: 50 })).find(
            (j) => j.id !== job.id && changesOutputs(j) && (j.finishedAt ?? "") <= (job.finishedAt ?? ""),
        );
        return earlier?.op === "destroy" ? {} : (earlier?.summary?.outputs ?? {});
    }

    private async trigger(dependent: { stack: string; run: "preview" | "update"; outputs: string[] }, upstreamJob: Job): Promise<void> {
        const by = `dependency:${upstreamJob.stack}`;
        const waiting = await this.d.jobs.listJobs({ stack: dependent.stack, state: "queued", limit: 500 });
        if (waiting.some((j) => j.triggeredVia === "system" && j.triggeredBy === by)) {
            this.d.logger.info({ stack: dependent.stack, upstream: upstreamJob.stack }, "a dependent's triggered job is still waiting; it will read the newest outputs");
            return;
        }
        const approvals = this.d.policyOf(dependent.stack)?.operations.update.approvals ?? 0;
        const message = `${upstreamJob.stack} changed ${dependent.outputs.join(", ")} (job ${upstreamJob.id})`;
        // The authority of whoever began the chain travels with it (the guard checks it).
        const onBehalfOf = upstreamJob.options.onBehalfOf ?? { name: upstreamJob.triggeredBy, via: upstreamJob.triggeredVia };
        const preview = { op: "preview" as const, options: approvals > 0 ? { mode: "plan" as const, message, onBehalfOf } : { message, onBehalfOf } };
        const input = dependent.run === "update" && approvals === 0 ? { op: "update" as const, options: { message, onBehalfOf } } : preview;
        const principal = { name: by, role: "operator" as const, via: "system" as const };
        let job: Job;
        try {
            job = await this.d.submit({ stack: dependent.stack, ...input, principal });
        } catch (err) {
            if (input.op !== "update" || (err as { code?: string }).code !== "FORBIDDEN") {
                this.d.logger.warn({ err, stack: dependent.stack, upstream: upstreamJob.stack }, "a dependent stack's job was refused");
                return;
            }
            // Whoever began the chain may not update this stack: they get what they may do, a
            // preview showing the change, and its message says why it is not an update.
            this.d.logger.warn({ err, stack: dependent.stack, upstream: upstreamJob.stack, onBehalfOf }, "a dependent's update was refused on behalf of its cause; previewing instead");
            try {
                job = await this.d.submit({ stack: dependent.stack, op: "preview", options: { ...preview.options, message: `${message}; not updated: ${(err as Error).message}` }, principal });
            } catch (again) {
                this.d.logger.warn({ err: again, stack: dependent.stack, upstream: upstreamJob.stack }, "a dependent stack's job was refused");
                return;
            }
        }
        this.d.notify("dependency.triggered", { stack: dependent.stack, upstream: upstreamJob.stack, upstreamJob: upstreamJob.id, outputs: dependent.outputs, onBehalfOf, job: { id: job.id, op: job.op, state: job.state } });
    }

    /** What the stack follows, the StackReferences its program was last seen making, and where the two disagree. */
    async view(stack: string): Promise<DependencyStatus | undefined> {
        const policy = this.d.policyOf(stack);
        const references = (await this.d.links.get(stack))?.references;
        if (!policy?.dependsOn.length && !references?.length) return undefined;
        const declared = policy?.dependsOn ?? [];
        return {
            dependsOn: declared,
            ...(references ? { references, warnings: referenceWarnings(stack, declared.map((x) => x.stack), references) } : {}),
        };
    }
}
