// The stacks as the jobs show them: the read model behind GET /v1/stacks and the repair routes.
// Kept apart from the job service's state machine: a caller that needs only whether a stack is
// busy asks `state` (one lookup), not the full status (seven).
import type { DependencyStatus } from "../dependencies/service";
import { stackNotFound } from "../errors";
import type { Finding } from "../recovery/scan";
import type { ScheduleStatus } from "../schedules/service";
import type { JobScheduler } from "./scheduler";
import type { JobStore } from "./store";
import { driftOf } from "./summary";
import { FINAL_STATES, type Job } from "./types";

/** A stack's repair status as the crash recovery last found it. */
export interface RepairStatus {
    /** True while a run that did not finish has left the stack needing an admin's repair. */
    needed: boolean;
    findings: Finding[];
    checkedAt?: string;
}

/** What the stacks' status shows of the crash recovery (the admission guard enforces it). */
export interface RepairView {
    repairStatus(stack: string): Promise<RepairStatus>;
}

/** Whether jobs of this service run or wait on a stack. */
export type StackState = "idle" | "running" | "queued";

export interface StackStatus {
    name: string;
    state: StackState;
    runningJob?: string;
    queued: number;
    lastJob?: Pick<Job, "id" | "op" | "state" | "createdAt" | "finishedAt">;
    /** Outputs after the last successful update, refresh or destroy; secrets masked. */
    outputs?: Record<string, unknown>;
    /** Present when crash recovery runs (the safety layer); `needed` blocks new jobs with 409 NEEDS_REPAIR. */
    repair?: RepairStatus;
    /** What the last refresh found: resources whose real state differs from the stack's state. */
    drift?: Drift;
    /** Who may do what on the stack, in words (environments/<stack>.yaml or the default). */
    policy?: string;
    /** Its schedules, each with its next and last run (schedules/). */
    schedules?: ScheduleStatus;
    /** The stacks it follows and reads, and where the two disagree (dependencies/). */
    dependencies?: DependencyStatus;
}

/** What the modules that act on a stack add to its status. */
export type StackDetails = Pick<StackStatus, "schedules" | "dependencies">;

export interface Drift {
    /** When the refresh that checked finished. */
    checkedAt?: string;
    jobId: string;
    /** "preview": reported only; "apply": the state was updated to match. */
    mode: "preview" | "apply";
    /** Resources that drifted (changed or gone). */
    drifted: number;
    resources: Array<{ urn: string; op: string; properties: string[] }>;
}

export interface StackViewDeps {
    store: Pick<JobStore, "lastJob">;
    /** The line of each stack: its running job and how many wait. */
    line: JobScheduler["line"];
    /** The project's stack allow-list, read fresh on each call. */
    stacks: () => string[];
    /** Shown on each stack's status. */
    repair?: RepairView;
    /** The stack's policy in words, shown with its status. @default none */
    policyInWords?: (stack: string) => string | undefined;
    /** More of the stack's status from the modules that act on it (its schedules, its dependencies). @default none */
    stackDetails?: (stack: string) => Promise<StackDetails>;
}

/** The stacks' status, drift, outputs and policy in words, read from the jobs and the modules that act on stacks. */
export class StackView {
    constructor(private readonly deps: StackViewDeps) {}

    /** Throws 404 STACK_NOT_FOUND for a stack outside the project's allow-list. */
    assertStack(stack: string): void {
        if (!this.deps.stacks().includes(stack)) throw stackNotFound(stack);
    }

    /** Whether a job runs or waits on `stack`: one lookup, for callers that need nothing else. */
    async state(stack: string): Promise<StackState> {
        this.assertStack(stack);
        const { running, waiting } = await this.deps.line(stack);
        return stateOf(running, waiting);
    }

    async status(stack: string): Promise<StackStatus> {
        this.assertStack(stack);
        const { store } = this.deps;
        // Asked at once: on a shared database each is a round trip, and /v1/stacks asks for every stack.
        const [{ running, waiting: queued }, last, outputs, repair, checked, details] = await Promise.all([
            this.deps.line(stack),
            // The last job that ran: a job cancelled while queued, or one still waiting, says nothing of the stack.
            store.lastJob(stack, { started: true, states: FINAL_STATES }),
            store.lastJob(stack, { states: ["succeeded"], ops: ["update", "refresh", "destroy"] }).then((j) => this.lastOutputs(stack, j)),
            this.deps.repair?.repairStatus(stack),
            store.lastJob(stack, { states: ["succeeded"], ops: ["refresh"] }),
            this.deps.stackDetails?.(stack),
        ]);
        const drift: Drift | undefined = checked && {
            checkedAt: checked.finishedAt, jobId: checked.id, mode: checked.options.mode === "apply" ? "apply" : "preview",
            drifted: driftOf(checked.summary).length,
            resources: driftOf(checked.summary),
        };
        return {
            name: stack,
            state: stateOf(running, queued),
            ...(running ? { runningJob: running.id } : {}),
            queued,
            ...(last ? { lastJob: { id: last.id, op: last.op, state: last.state, createdAt: last.createdAt, finishedAt: last.finishedAt } } : {}),
            ...(outputs ? { outputs } : {}),
            ...(repair ? { repair } : {}),
            ...(drift ? { drift } : {}),
            ...this.policyInWords(stack),
            ...details,
        };
    }

    list(): Promise<StackStatus[]> {
        return Promise.all(this.deps.stacks().map((s) => this.status(s)));
    }

    private policyInWords(stack: string): { policy?: string } {
        try {
            const words = this.deps.policyInWords?.(stack);
            return words ? { policy: words } : {};
        } catch {
            return { policy: "the stack's policy file is invalid: every operation is refused until it is fixed" };
        }
    }

    private async lastOutputs(stack: string, job: Job | undefined): Promise<Record<string, unknown> | undefined> {
        // A preview-only refresh records no outputs; look past it to the last job that did.
        if (!job) return undefined;
        if (job.summary?.outputs) return job.summary.outputs;
        const update = await this.deps.store.lastJob(stack, { states: ["succeeded"], ops: ["update", "destroy"] });
        return update?.summary?.outputs;
    }
}

const stateOf = (running: Job | undefined, waiting: number): StackState => (running ? "running" : waiting > 0 ? "queued" : "idle");
