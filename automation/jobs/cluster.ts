// What the job service does differently when several instances share one database, behind one
// interface: the single process (the embedded default, SQLite) and the shared cluster (Postgres:
// a shared queue, a bus between the instances, plans kept in the database, a lease on life).
import * as fs from "node:fs";
import type { SharedPlans } from "./plans";
import { localScheduler, type JobScheduler, type RunJob } from "./scheduler";
import type { JobStore } from "./store";
import type { Job } from "./types";

/**
 * How the instances sharing one database tell each other what their store cannot: a job has new
 * events (its watchers elsewhere read them), and a job running elsewhere is to be cancelled.
 */
export interface JobBus {
    publish(channel: "events" | "cancel", payload: string): void;
    subscribe(channel: "events" | "cancel", listener: (payload: string) => void): void;
}

/** A cancel sent to the instance that runs the job; `force` kills its process group now. */
export interface CancelMessage {
    id: string;
    by: string;
    force?: boolean;
}

/** The job service's place among the instances: alone, or one of several on a shared database. */
export interface Cluster {
    /** This instance's name, recorded on the jobs it runs. */
    readonly instance: string;
    /** Who decides when jobs run. */
    scheduler(run: RunJob): JobScheduler;
    /**
     * True when the others may settle this instance's running jobs (they took it for gone): a
     * result of its own run is then recorded only while the job is still running.
     */
    readonly failover: boolean;
    /** How long a worker may find itself paused before it kills its CLI and leaves (the others have given up on it by then). */
    readonly pauseLimitMs?: number;
    /** Resolves once this instance knows it is still counted alive: a job starts only then. */
    ensureLive(): Promise<void>;
    /** Follows the others: new events of a job written elsewhere, and cancels of jobs that may run here. */
    listen(on: { events(jobId: string): void; cancel(message: CancelMessage): void }): void;
    /** Tells the others that `jobId` has new stored events. */
    announce(jobId: string): void;
    /** True when another instance runs `jobId` (it then gets the cancel). */
    runsElsewhere(jobId: string): Promise<boolean>;
    /** Hands a cancel to the instance that runs the job. */
    sendCancel(message: CancelMessage): void;
    /** At start: the jobs left running that this instance settles as interrupted. */
    leftRunning(): Promise<Job[]>;
    /** At start: the queued jobs this instance lines up again. */
    leftQueued(): Promise<Job[]>;
    /** A succeeded preview's update plan at `file`, kept where any instance's update finds it. */
    keepPlan(previewId: string, file: string): Promise<void>;
    /** Before an update applying `previewId`: its plan at `file`, fetched if this instance lacks it. */
    fetchPlan(previewId: string, file: string): Promise<void>;
    /** After that update: the plan file fetched for it is not kept here. */
    releasePlan(file: string): void;
}

/** One process: its own queue, every job in the store is its own, plans stay in the plans dir. */
export function singleProcess(options: { store: Pick<JobStore, "jobsInStates">; concurrency: number; queueLimit: number; instance?: string }): Cluster {
    const { store } = options;
    return {
        instance: options.instance ?? "local",
        scheduler: (run) => localScheduler({ concurrency: options.concurrency, queueLimit: options.queueLimit }, run),
        failover: false,
        ensureLive: async () => undefined,
        listen: () => undefined,
        announce: () => undefined,
        runsElsewhere: async () => false,
        sendCancel: () => undefined,
        leftRunning: () => store.jobsInStates(["running"]),
        leftQueued: () => store.jobsInStates(["queued"]),
        keepPlan: async () => undefined,
        fetchPlan: async () => undefined,
        releasePlan: () => undefined,
    };
}

export interface SharedClusterDeps {
    store: Pick<JobStore, "getJob" | "runningJobsOf">;
    /** This instance's name, kept across restarts (its jobs are found by it). */
    instance: string;
    /** The shared queue's scheduler (jobs/sharedQueue.ts). */
    scheduler: (run: RunJob) => JobScheduler;
    bus: JobBus;
    plans: Pick<SharedPlans, "save" | "restore">;
    /** This instance's standing with the others (jobs/instances.ts). */
    lease: { ensureLive(): Promise<void>; pauseLimitMs: number };
}

/** Several instances on one Postgres database. */
export class SharedCluster implements Cluster {
    readonly instance: string;
    readonly failover = true;
    readonly pauseLimitMs: number;
    /** Jobs whose new events are to be announced to the other instances, throttled. */
    private readonly announcing = new Map<string, NodeJS.Timeout>();

    constructor(private readonly deps: SharedClusterDeps) {
        this.instance = deps.instance;
        this.pauseLimitMs = deps.lease.pauseLimitMs;
    }

    scheduler(run: RunJob): JobScheduler {
        return this.deps.scheduler(run);
    }

    ensureLive(): Promise<void> {
        return this.deps.lease.ensureLive();
    }

    listen(on: { events(jobId: string): void; cancel(message: CancelMessage): void }): void {
        this.deps.bus.subscribe("events", (jobId) => on.events(jobId));
        this.deps.bus.subscribe("cancel", (payload) => {
            let message: { id?: unknown; by?: unknown; force?: unknown };
            try {
                message = JSON.parse(payload) as typeof message;
            } catch {
                return;
            }
            if (typeof message.id !== "string" || typeof message.by !== "string") return;
            on.cancel({ id: message.id, by: message.by, ...(message.force === true ? { force: true } : {}) });
        });
    }

    /** At most every 100 ms per job. */
    announce(jobId: string): void {
        if (this.announcing.has(jobId)) return;
        this.announcing.set(jobId, setTimeout(() => {
            this.announcing.delete(jobId);
            this.deps.bus.publish("events", jobId);
        }, 100));
    }

    async runsElsewhere(jobId: string): Promise<boolean> {
        const job = await this.deps.store.getJob(jobId);
        return job?.state === "running" && job.instance !== undefined && job.instance !== this.instance;
    }

    sendCancel(message: CancelMessage): void {
        this.deps.bus.publish("cancel", JSON.stringify(message));
    }

    /** Only this instance's own jobs (under a name kept across restarts); the failover settles those of instances that went silent. */
    leftRunning(): Promise<Job[]> {
        return this.deps.store.runningJobsOf([this.instance]);
    }

    /** The shared queue keeps its waiting jobs itself. */
    async leftQueued(): Promise<Job[]> {
        return [];
    }

    /** Kept once, in the database: the update applying it fetches it from there. */
    async keepPlan(previewId: string, file: string): Promise<void> {
        if (!fs.existsSync(file)) return;
        await this.deps.plans.save(previewId, file);
        fs.rmSync(file, { force: true });
    }

    async fetchPlan(previewId: string, file: string): Promise<void> {
        if (!fs.existsSync(file)) await this.deps.plans.restore(previewId, file);
    }

    /** The database keeps the plan. */
    releasePlan(file: string): void {
        fs.rmSync(file, { force: true });
    }
}
