import { randomUUID } from "node:crypto";
import * as os from "node:os";
import type { Pool } from "pg";
import { jobProcessesAlive } from "../lib/processes";
import type { Logger } from "../logger";
import type { Fences } from "./fences";

const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS automation;
CREATE TABLE IF NOT EXISTS automation.instances (
    id text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    -- graphile-worker's id for this instance's worker pool: what locks its jobs and stack queues
    worker_pool text,
    -- set by the instance that found it silent; the row goes once its jobs and locks are settled
    gone_at timestamptz
);
`;

export interface InstanceInfo {
    id: string;
    host: string;
    pid: number;
    startedAt: string;
    heartbeatAt: string;
    /** Seconds since its last heartbeat, by the database's clock. */
    silentForSeconds: number;
}

export interface InstanceRegistryOptions {
    pool: Pool;
    id: string;
    logger: Logger;
    /** How often this instance says it is alive and looks for silent ones. @default 5000 */
    heartbeatMs?: number;
    /** Silence after which an instance counts as gone. @default 30000 */
    silenceMs?: number;
    /**
     * Settles what silent instances left: their running jobs (by instance id) and their locks (by
     * worker pool id); `hosts` says where each ran. Called again on the next beat if it throws,
     * so it must be idempotent.
     */
    onGone: (instances: readonly string[], workerPools: readonly string[], hosts: ReadonlyMap<string, string>) => Promise<void>;
    /**
     * This instance finds its own row gone: the others declared it dead (it was paused, or cut off
     * longer than the silence) and settled its jobs. Before it takes work again it must stop
     * what it still runs (their processes may be writing a stack another job now owns).
     */
    onLostSelf?: () => Promise<void>;
    /** Fences of interrupted jobs; this instance releases those of dead workers on its host. */
    fences?: Fences;
    /**
     * Another live process now holds this instance's id (it was started under the same
     * AUTOMATION_INSTANCE_ID while this one was paused): this one must stop.
     */
    onDisplaced?: (by: { host: string; pid: number }) => void;
}

/** A second live process under one instance id, refused at its start. */
export class InstanceIdInUse extends Error {
    constructor(id: string, holder: { host: string; pid: number; silentSeconds: number }) {
        super(
            `AUTOMATION_INSTANCE_ID "${id}" is in use by a live instance (pid ${holder.pid} on ${holder.host}, last heartbeat ${holder.silentSeconds.toFixed(1)} s ago); ` +
                "two processes under one id would settle each other's jobs. Stop that one first, or give this one another id.",
        );
        this.name = "InstanceIdInUse";
    }
}

/**
 * The service instances sharing one database, each with a heartbeat. Every beat, each instance
 * also looks for instances silent for `silenceMs` (by the database's clock, so hosts' clocks
 * never disagree) and for running jobs of instances it does not know: it marks the silent ones
 * gone, has their jobs and locks settled (`onGone`), and then removes them. Any live instance
 * may do it; doing it twice changes nothing.
 */
export class InstanceRegistry {
    private timer?: NodeJS.Timeout;
    private beating?: Promise<void>;
    private readonly heartbeatMs: number;
    private readonly silenceMs: number;
    private workerPool?: string;
    private closed = false;
    /** This process's registration: a beat counts only for the process that registered. */
    private readonly incarnation = randomUUID();
    /**
     * Since when this instance's own beats have all gone through, by the monotonic clock. Others
     * are taken for dead only after it has watched them for the whole silence: after an outage
     * of the database nobody could beat, and that is no instance's silence.
     */
    private watchingSince = process.hrtime.bigint();
    /** When a beat last found this instance's row, by the monotonic clock (a pause shows as a gap). */
    private confirmedAt = process.hrtime.bigint();

    private constructor(private readonly o: InstanceRegistryOptions) {
        this.heartbeatMs = o.heartbeatMs ?? 5000;
        this.silenceMs = o.silenceMs ?? 30_000;
    }

    /** Creates the table if missing (under the stores' schema lock, storage/stores.ts). */
    static async createSchema(pool: Pool): Promise<void> {
        await pool.query(SCHEMA);
    }

    static async open(o: InstanceRegistryOptions): Promise<InstanceRegistry> {
        const registry = new InstanceRegistry(o);
        await registry.register();
        return registry;
    }

    private async register(): Promise<void> {
        // The same id under a live process is refused: an instance restarted under its id takes
        // it over only once the old process has been silent for the silence.
        const { rows } = await this.o.pool.query<{ host: string; pid: number; incarnation: string | null; silent: number }>(
            "SELECT host, pid, incarnation, extract(epoch FROM now() - heartbeat_at)::float8 AS silent FROM automation.instances WHERE id = $1 AND gone_at IS NULL",
            [this.o.id],
        );
        const held = rows[0];
        if (held && held.incarnation !== this.incarnation && held.silent * 1000 < this.silenceMs) throw new InstanceIdInUse(this.o.id, { host: held.host, pid: held.pid, silentSeconds: held.silent });
        await this.o.pool.query(
            `INSERT INTO automation.instances (id, host, pid, worker_pool, incarnation) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = now(), heartbeat_at = now(), gone_at = NULL, worker_pool = excluded.worker_pool, incarnation = excluded.incarnation`,
            [this.o.id, os.hostname(), process.pid, this.workerPool ?? null, this.incarnation],
        );
        this.confirmedAt = process.hrtime.bigint();
    }

    /** Starts beating; `workerPool` is graphile-worker's id for this instance's workers. */
    start(workerPool: string | undefined): void {
        this.workerPool = workerPool;
        void this.o.pool.query("UPDATE automation.instances SET worker_pool = $2 WHERE id = $1", [this.o.id, workerPool ?? null]);
        this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
        this.timer.unref();
    }

    /**
     * Before a job starts here: when this instance has not seen its own row for half the silence
     * (it was paused, or the database was away), it beats first, so a job never starts on an
     * instance the others have given up on.
     */
    async ensureLive(): Promise<void> {
        const sinceMs = Number(process.hrtime.bigint() - this.confirmedAt) / 1e6;
        if (sinceMs > this.silenceMs / 2) await this.beat();
    }

    /** One heartbeat and one look for silent instances; beats never overlap. */
    beat(): Promise<void> {
        this.beating ??= this.beatNow().finally(() => (this.beating = undefined));
        return this.beating;
    }

    private async beatNow(): Promise<void> {
        const { pool, id, logger } = this.o;
        try {
            const mine = await pool.query("UPDATE automation.instances SET heartbeat_at = now() WHERE id = $1 AND incarnation = $2 AND gone_at IS NULL RETURNING id", [id, this.incarnation]);
            if (mine.rowCount === 0 && !this.closed) {
                // Declared gone while it could not beat, or its id taken over by a new process:
                // stop what still runs, then come back if the id is free.
                logger.warn({ instance: id, silentMs: this.silenceMs }, "this instance was declared gone by the others (paused or cut off too long); stopping its jobs and registering again");
                await this.o.onLostSelf?.();
                await pool.query("DELETE FROM automation.instances WHERE id = $1 AND gone_at IS NOT NULL", [id]);
                try {
                    await this.register();
                } catch (e) {
                    if (!(e instanceof InstanceIdInUse)) throw e;
                    logger.error({ instance: id, err: e }, "this instance's id now belongs to another live process; stopping");
                    this.closed = true;
                    clearInterval(this.timer);
                    this.o.onDisplaced?.({ host: "", pid: 0 });
                    return;
                }
                this.watchingSince = process.hrtime.bigint();
                logger.info({ instance: id }, "registered again; taking work");
            } else this.confirmedAt = process.hrtime.bigint();
            if (this.o.fences) {
                const released = await this.o.fences.releaseDead(os.hostname(), jobProcessesAlive, id);
                if (released) logger.info({ released }, "released the fences of interrupted jobs whose workers are gone from this host");
            }
            // Others are judged only by an instance that could have seen them beat all along.
            if (Number(process.hrtime.bigint() - this.watchingSince) / 1e6 < this.silenceMs) return;
            const newlyGone = await pool.query<{ id: string }>(
                "UPDATE automation.instances SET gone_at = now() WHERE gone_at IS NULL AND id <> $1 AND heartbeat_at < now() - make_interval(secs => $2) RETURNING id",
                [id, this.silenceMs / 1000],
            );
            for (const r of newlyGone.rows) logger.warn({ instance: r.id, silentMs: this.silenceMs }, "a service instance stopped answering; settling its jobs");
            const gone = await pool.query<{ id: string; worker_pool: string | null; host: string }>("SELECT id, worker_pool, host FROM automation.instances WHERE gone_at IS NOT NULL");
            // Running jobs of an instance with no row at all (removed by hand, or a settle cut short).
            const unknown = await pool.query<{ instance: string }>(
                "SELECT DISTINCT instance FROM automation.jobs j WHERE state = 'running' AND instance IS NOT NULL AND NOT EXISTS (SELECT 1 FROM automation.instances i WHERE i.id = j.instance)",
            );
            const instances = [...gone.rows.map((r) => r.id), ...unknown.rows.map((r) => r.instance)];
            if (!instances.length) return;
            await this.o.onGone(instances, gone.rows.map((r) => r.worker_pool).filter((p): p is string => p !== null), new Map(gone.rows.map((r) => [r.id, r.host])));
            await pool.query("DELETE FROM automation.instances WHERE gone_at IS NOT NULL AND id = ANY($1)", [gone.rows.map((r) => r.id)]);
        } catch (err) {
            this.watchingSince = process.hrtime.bigint();
            logger.warn({ err }, "heartbeat or failover check failed; trying again on the next beat");
        }
    }

    async list(): Promise<InstanceInfo[]> {
        const { rows } = await this.o.pool.query<{ id: string; host: string; pid: number; started_at: Date; heartbeat_at: Date; silent: number }>(
            "SELECT id, host, pid, started_at, heartbeat_at, extract(epoch FROM now() - heartbeat_at)::float8 AS silent FROM automation.instances WHERE gone_at IS NULL ORDER BY started_at",
        );
        return rows.map((r) => ({ id: r.id, host: r.host, pid: r.pid, startedAt: r.started_at.toISOString(), heartbeatAt: r.heartbeat_at.toISOString(), silentForSeconds: Math.round(r.silent * 10) / 10 }));
    }

    /** A graceful stop: the instance leaves (its jobs were settled by the shutdown). */
    async close(): Promise<void> {
        this.closed = true;
        clearInterval(this.timer);
        await this.beating;
        await this.o.pool.query("DELETE FROM automation.instances WHERE id = $1", [this.o.id]).catch(() => undefined);
    }
}
