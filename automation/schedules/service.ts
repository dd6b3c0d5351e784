import type { EnvironmentPolicy } from "../environments/policy";
import type { JobReader } from "../jobs/reader";
import { driftOf } from "../jobs/summary";
import type { Job, JobOptions, JobState, Op } from "../jobs/types";
import type { Logger } from "../logger";
import type { NotificationEvent } from "../notifications/destinations";
import type { Principal } from "../security/roles";
import { lastSlot, nextRun } from "./cron";
import type { ScheduleRuns } from "./runs";

export interface ScheduleDeps {
    stacks: () => string[];
    /** Undefined for a stack whose policy does not load (its schedules then do not run). */
    policyOf: (stack: string) => EnvironmentPolicy | undefined;
    runs: ScheduleRuns;
    jobs: Pick<JobReader, "lastJob" | "findJob">;
    submit: (input: { stack: string; op: Op; options: JobOptions; principal: Principal }) => Promise<Job>;
    notify: (event: NotificationEvent, payload: Record<string, unknown>) => void;
    /** This instance's name, recorded with each moment it claims. */
    instance: string;
    logger: Logger;
    now: () => Date;
    /** False while this instance's clock disagrees with the shared one: then it decides nothing. @default always true */
    clockTrusted?: () => boolean;
    /** How often the schedules are looked at. */
    tickMs: number;
}

/** What a schedule's last run did, as the stack's status shows it. */
export type ScheduleRunStatus = {
    /** The moment the run was for (ISO). */
    at: string;
    jobId?: string;
    state?: JobState;
    /** For a drift check that succeeded: the resources that drifted. */
    drifted?: ReturnType<typeof driftOf>;
    /** Why no job started. */
    note?: string;
};

/** A stack's schedules as its status shows them (the `schedules` of GET /v1/stacks/{stack}). */
export type ScheduleStatus = {
    driftCheck?: { cron: string; remediate: boolean; nextRun: string; last?: ScheduleRunStatus };
    destroy?: { ttlMinutes: number; remindMinutesBefore: number; nextRun?: string; last?: ScheduleRunStatus };
};

/** The service's own principal for a kind of scheduled run; the admission guard checks the policy still declares it. */
const scheduler = (what: "drift-check" | "remediation" | "destroy"): Principal => ({ name: `schedule:${what}`, role: "operator", via: "system" });

/** A moment missed by at most this much (a restart, a slow tick) still runs; older ones are skipped, not caught up. */
export const catchUpMs = (tickMs: number) => Math.max(3 * tickMs, 120_000);

/**
 * When a stack's TTL destroy is due, from its last succeeded update: undefined when the stack
 * was never updated, or was destroyed after its last update.
 */
export function destroyDue(ttlMinutes: number, lastUpdate: Job | undefined, lastDestroy: Job | undefined): Date | undefined {
    if (!lastUpdate?.finishedAt) return undefined;
    if (lastDestroy && lastDestroy.createdAt > lastUpdate.finishedAt) return undefined;
    return new Date(Date.parse(lastUpdate.finishedAt) + ttlMinutes * 60_000);
}

/**
 * The stacks' schedules (`schedules:` in environments/<stack>.yaml): drift checks on a cron,
 * their remediation, and TTL destroys with a reminder. Every instance ticks; each moment is
 * claimed once in the database (runs.ts), so it runs exactly once however many tick. Jobs go
 * through the same admission as anyone's: the policy, freeze windows, repair state and
 * approvals apply (a remediation of a stack whose updates need approval is a plan preview
 * waiting for one).
 */
export class ScheduleService {
    private timer?: NodeJS.Timeout;
    private ticking?: Promise<void>;
    /** Moments this instance already claimed or found claimed (a moment's key never comes back). */
    private readonly seen = new Set<string>();

    constructor(private readonly d: ScheduleDeps) {}

    start(): void {
        this.timer = setInterval(() => void this.tick(), this.d.tickMs);
        this.timer.unref();
        void this.tick();
    }

    async stop(): Promise<void> {
        clearInterval(this.timer);
        await this.ticking;
    }

    /** Runs what is due now; one tick at a time. An instance whose clock is off decides nothing (its peers do). */
    tick(): Promise<void> {
        if (this.d.clockTrusted && !this.d.clockTrusted()) return Promise.resolve();
        this.ticking ??= this.dueNow(this.d.now()).finally(() => (this.ticking = undefined));
        return this.ticking;
    }

    private async dueNow(now: Date): Promise<void> {
        for (const stack of this.d.stacks()) {
            const policy = this.d.policyOf(stack);
            if (!policy) continue;
            try {
                const { driftCheck, destroy } = policy.schedules;
                if (driftCheck) {
                    const slot = lastSlot(driftCheck.cron, now);
                    if (now.getTime() - slot.getTime() <= catchUpMs(this.d.tickMs)) {
                        await this.once(stack, "drift-check", slot.toISOString(), now, () =>
                            this.d.submit({ stack, op: "refresh", options: { mode: "preview", message: `scheduled drift check (${driftCheck.cron} UTC)` }, principal: scheduler("drift-check") }),
                        );
                    }
                }
                if (destroy) await this.destroyIfDue(stack, destroy, now);
            } catch (err) {
                this.d.logger.warn({ err, stack }, "looking at the stack's schedules failed");
            }
        }
    }

    /** When the stack's TTL destroy is due, from its jobs (see destroyDue). */
    private async dueOf(stack: string, ttlMinutes: number): Promise<Date | undefined> {
        const [update, destroy] = await Promise.all([
            this.d.jobs.lastJob(stack, { states: ["succeeded"], ops: ["update"] }),
            this.d.jobs.lastJob(stack, { states: ["succeeded", "queued", "running"], ops: ["destroy"] }),
        ]);
        return destroyDue(ttlMinutes, update, destroy);
    }

    private async destroyIfDue(stack: string, destroy: NonNullable<EnvironmentPolicy["schedules"]["destroy"]>, now: Date): Promise<void> {
        const due = await this.dueOf(stack, destroy.ttlMinutes);
        if (!due) return;
        if (now >= due) {
            await this.once(stack, "destroy", due.toISOString(), now, () =>
                this.d.submit({ stack, op: "destroy", options: { message: `scheduled destroy: ${destroy.ttlMinutes} min after the last update` }, principal: scheduler("destroy") }),
            );
        } else if (destroy.remindMinutesBefore > 0 && now.getTime() >= due.getTime() - destroy.remindMinutesBefore * 60_000) {
            await this.once(stack, "destroy-reminder", due.toISOString(), now, async () => {
                this.d.notify("destroy.upcoming", { stack, destroyAt: due.toISOString(), ttlMinutes: destroy.ttlMinutes, keep: `update the stack to push the destroy back ${destroy.ttlMinutes} min` });
                return undefined;
            });
        }
    }

    /** Runs `start` only for the instance that claims the moment, and records what came of it. */
    private async once(stack: string, kind: string, slot: string, now: Date, start: () => Promise<Job | undefined>): Promise<void> {
        // Each tick finds the same moment due until the next: ask the database once per moment.
        const key = `${stack}\n${kind}\n${slot}`;
        if (this.seen.has(key)) return;
        const mine = await this.d.runs.claim(stack, kind, slot, this.d.instance, now);
        // Only an answer is remembered: a claim the database did not answer is tried again next tick.
        this.seen.add(key);
        if (!mine) return;
        try {
            const job = await start();
            await this.d.runs.settle(stack, kind, slot, job ? { jobId: job.id } : { note: "sent" });
            this.d.logger.info({ stack, kind, slot, jobId: job?.id }, "scheduled run started");
        } catch (err) {
            // Refused like anyone's job would be (busy, frozen, needs repair): recorded, not retried.
            const note = (err as Error).message;
            await this.d.runs.settle(stack, kind, slot, { note });
            this.d.logger.warn({ stack, kind, slot, err }, "a scheduled run was refused");
        }
    }

    /** A drift check that found drift, on a stack that remediates: the update that puts it right (once per check). */
    async finished(job: Job): Promise<void> {
        // By the service itself: a token someone named "schedule:drift-check" starts no remediation.
        if (job.triggeredVia !== "system" || job.triggeredBy !== "schedule:drift-check" || job.state !== "succeeded" || driftOf(job.summary).length === 0) return;
        const policy = this.d.policyOf(job.stack);
        if (!policy?.schedules.driftCheck?.remediate) return;
        const approvals = policy.operations.update.approvals;
        const message = `remediation of the drift found by ${job.id}`;
        await this.once(job.stack, "remediation", job.id, this.d.now(), () =>
            this.d.submit({
                stack: job.stack,
                // An update needing approval starts from a reviewed plan: the remediation is that plan, awaiting its approval.
                // --refresh: the state learns what drifted, so the update puts the program's values back.
                ...(approvals > 0
                    ? { op: "preview" as const, options: { mode: "plan" as const, refresh: true, message: `${message}; approve it, then apply it` } }
                    : { op: "update" as const, options: { refresh: true, message } }),
                principal: scheduler("remediation"),
            }),
        );
    }

    /** Each schedule of the stack: what it is, when it runs next, and what its last run did. */
    async view(stack: string): Promise<ScheduleStatus | undefined> {
        const policy = this.d.policyOf(stack);
        if (!policy) return undefined;
        const now = this.d.now();
        const out: ScheduleStatus = {};
        const { driftCheck, destroy } = policy.schedules;
        if (driftCheck) {
            const last = await this.lastRun(stack, "drift-check");
            out.driftCheck = { cron: driftCheck.cron, remediate: driftCheck.remediate, nextRun: nextRun(driftCheck.cron, now).toISOString(), ...(last ? { last } : {}) };
        }
        if (destroy) {
            const due = await this.dueOf(stack, destroy.ttlMinutes);
            const last = await this.lastRun(stack, "destroy");
            out.destroy = { ttlMinutes: destroy.ttlMinutes, remindMinutesBefore: destroy.remindMinutesBefore, ...(due ? { nextRun: due.toISOString() } : {}), ...(last ? { last } : {}) };
        }
        return Object.keys(out).length ? out : undefined;
    }

    private async lastRun(stack: string, kind: string): Promise<ScheduleRunStatus | undefined> {
        const run = await this.d.runs.last(stack, kind);
        if (!run) return undefined;
        const job = run.jobId ? await this.d.jobs.findJob(run.jobId) : undefined;
        return {
            at: run.slot,
            ...(job ? { jobId: job.id, state: job.state, ...(job.op === "refresh" && job.state === "succeeded" ? { drifted: driftOf(job.summary) } : {}) } : {}),
            ...(run.note ? { note: run.note } : {}),
        };
    }
}
