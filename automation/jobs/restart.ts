// What becomes of the jobs a process was running when it died (a restart) or when the others
// took its instance for gone (a failover): settled `interrupted`, never retried, since a
// half-applied update must be looked at; the `finished` moment then has the stack scanned for
// repair. Kept apart from the run/cancel state machine (service.ts), which it only settles.
import { engineError } from "../errors";
import type { Logger } from "../logger";
import type { Cluster } from "./cluster";
import type { JobRecord } from "./record";
import type { JobStore } from "./store";
import type { Job, JobState } from "./types";

/**
 * How long a worker that outlived the previous service process gets to stop on its own (it
 * cancels itself when its parent goes) before its group is killed, when no cancel grace is set.
 */
const ORPHAN_GRACE_MS = 15_000;

export interface JobRestartDeps {
    cluster: Pick<Cluster, "leftRunning" | "leftQueued">;
    store: Pick<JobStore, "workerPid" | "runningJobsOf">;
    record: Pick<JobRecord, "event">;
    logger: Logger;
    cancelGraceMs: number;
    /** Settles a job still `running` as `state` (the job service's one way to settle); undefined when it no longer runs. */
    settleIf(id: string, state: JobState, error: { code: string; message: string }): Promise<Job | undefined>;
}

export class JobRestart {
    constructor(private readonly deps: JobRestartDeps) {}

    /**
     * After a restart: settle jobs the dead process was running, and list the queued ones to
     * line up again. A worker that outlived the old service (it cancels itself when its parent
     * goes) gets the cancel grace period to release its stack's lock, then its group is killed,
     * so the next job on that stack does not meet a live lock.
     */
    async recover(): Promise<{ interrupted: Job[]; requeued: Job[] }> {
        const running = await this.deps.cluster.leftRunning();
        await Promise.all(running.map((j) => this.reapOrphan(j)));
        const interrupted = await Promise.all(running.map((j) => {
            const e = engineError.interrupted();
            return this.deps.settleIf(j.id, "interrupted", { code: e.code, message: e.message });
        }));
        const requeued = await this.deps.cluster.leftQueued();
        return { interrupted: interrupted.filter((j): j is Job => j !== undefined), requeued };
    }

    /**
     * Settles the running jobs of instances that stopped answering (failover). Their workers ran
     * on other hosts: nothing to reap here. Settling twice changes nothing (only `running` jobs).
     */
    async interruptAbandoned(instances: readonly string[], why: string): Promise<Job[]> {
        const out: Job[] = [];
        for (const job of await this.deps.store.runningJobsOf(instances)) {
            const settled = await this.deps.settleIf(job.id, "interrupted", { code: "INTERRUPTED", message: why });
            if (settled) out.push(settled);
        }
        return out;
    }

    private async reapOrphan(job: Job): Promise<void> {
        const pid = await this.deps.store.workerPid(job.id);
        const alive = () => {
            try {
                process.kill(-pid!, 0);
                return true;
            } catch {
                return false;
            }
        };
        if (!pid || !alive()) return;
        this.deps.logger.warn({ jobId: job.id, pid }, "worker of an interrupted job still running; giving it the cancel grace period");
        try {
            process.kill(pid, "SIGINT");
        } catch {
            /* gone meanwhile */
        }
        const grace = this.deps.cancelGraceMs || ORPHAN_GRACE_MS;
        const until = Date.now() + grace;
        while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
        if (alive()) {
            await this.deps.record.event(job.id, "forceKill", { afterMs: grace, orphan: true });
            try {
                process.kill(-pid, "SIGKILL");
            } catch {
                /* gone meanwhile */
            }
        }
    }
}
