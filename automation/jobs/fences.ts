import type { Pool } from "pg";

/** A job a failover interrupted while the instance running it may still be alive (paused, cut off). */
export interface Fence {
    jobId: string;
    stack: string;
    instance: string;
    host?: string;
    workerPid?: number;
    since: string;
}

/**
 * When a peer declares an instance gone, that instance may only be paused (a stopped VM, a
 * SIGSTOP, a partition): its job's CLI can resume and write the stack's state again. Each such
 * job is fenced until somebody knows its process is gone: the instance itself when it comes
 * back (it kills its jobs' process trees first, then releases its fences), or a peer on the
 * same host that finds the worker's process no longer exists. While a fence holds, unlocking or
 * repairing the stack is refused unless an admin says the process is gone (recovery/service.ts).
 * The table is created by schema migration 4 (storage/migrations.ts).
 */
export class Fences {
    constructor(private readonly pool: Pool) {}

    async fence(jobs: readonly { id: string; stack: string; instance?: string }[], whereOf: (instance: string) => { host?: string }, workerPid: (jobId: string) => Promise<number | undefined>): Promise<void> {
        for (const job of jobs) {
            if (!job.instance) continue;
            await this.pool.query(
                "INSERT INTO automation.fences (job_id, stack, instance, host, worker_pid) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id) DO NOTHING",
                [job.id, job.stack, job.instance, whereOf(job.instance).host ?? null, (await workerPid(job.id)) ?? null],
            );
        }
    }

    /** The instance came back and killed what it ran: its fences go. */
    async releaseInstance(instance: string): Promise<number> {
        const r = await this.pool.query("UPDATE automation.fences SET released_at = now(), released_by = $1 WHERE instance = $1 AND released_at IS NULL", [instance]);
        return r.rowCount ?? 0;
    }

    /** Fences of jobs on `host` whose processes are all gone (`alive` judges a worker pid and its session), released by `by`, an instance on that host. */
    async releaseDead(host: string, alive: (pid: number) => boolean, by: string): Promise<number> {
        const { rows } = await this.pool.query<{ job_id: string; worker_pid: number | null }>("SELECT job_id, worker_pid FROM automation.fences WHERE host = $1 AND released_at IS NULL", [host]);
        const dead = rows.filter((r) => r.worker_pid === null || !alive(r.worker_pid)).map((r) => r.job_id);
        if (!dead.length) return 0;
        await this.pool.query("UPDATE automation.fences SET released_at = now(), released_by = $2 WHERE job_id = ANY($1) AND released_at IS NULL", [dead, by]);
        return dead.length;
    }

    /** An admin overrode the fences of `stack`. */
    async releaseStack(stack: string, by: string): Promise<void> {
        await this.pool.query("UPDATE automation.fences SET released_at = now(), released_by = $2 WHERE stack = $1 AND released_at IS NULL", [stack, by]);
    }

    async holding(stack: string): Promise<Fence[]> {
        const { rows } = await this.pool.query<{ job_id: string; stack: string; instance: string; host: string | null; worker_pid: number | null; since: Date }>(
            "SELECT job_id, stack, instance, host, worker_pid, since FROM automation.fences WHERE stack = $1 AND released_at IS NULL ORDER BY since",
            [stack],
        );
        return rows.map((r) => ({ jobId: r.job_id, stack: r.stack, instance: r.instance, ...(r.host ? { host: r.host } : {}), ...(r.worker_pid ? { workerPid: r.worker_pid } : {}), since: r.since.toISOString() }));
    }
}
