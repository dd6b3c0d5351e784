import { Client, type Pool } from "pg";
import type { JobBus } from "../jobs/cluster";
import type { Logger } from "../logger";

/**
 * Messages between the service instances on one Postgres, over LISTEN/NOTIFY: a job has new
 * events (channel `automation_events`, payload the job id) and a job is to be cancelled
 * (`automation_cancel`, JSON). One connection of its own listens; it reconnects after a drop,
 * and watchers catch up from the store on the next message, since a stream reads the store
 * and never the message itself.
 */
export class PgBus implements JobBus {
    private listener?: Client;
    private closed = false;
    private readonly listeners = new Map<string, Set<(payload: string) => void>>();

    private constructor(
        private readonly url: string,
        private readonly pool: Pool,
        private readonly logger: Logger,
    ) {}

    static async open(url: string, pool: Pool, logger: Logger): Promise<PgBus> {
        const bus = new PgBus(url, pool, logger);
        await bus.connect();
        return bus;
    }

    private async connect(): Promise<void> {
        const client = new Client({ connectionString: this.url });
        client.on("notification", (m) => {
            const channel = m.channel.replace(/^automation_/, "");
            for (const l of this.listeners.get(channel) ?? []) l(m.payload ?? "");
        });
        const reconnect = () => {
            if (this.closed || this.listener !== client) return;
            this.listener = undefined;
            this.logger.warn("the database connection for instance messages dropped; reconnecting");
            const retry = () => void this.connect().catch(() => setTimeout(retry, 1000).unref());
            setTimeout(retry, 200).unref();
        };
        client.on("error", reconnect);
        client.on("end", reconnect);
        await client.connect();
        await client.query("LISTEN automation_events; LISTEN automation_cancel");
        this.listener = client;
    }

    publish(channel: "events" | "cancel", payload: string): void {
        this.pool.query("SELECT pg_notify($1, $2)", [`automation_${channel}`, payload]).catch((err: unknown) => this.logger.warn({ err, channel }, "telling the other instances failed"));
    }

    subscribe(channel: "events" | "cancel", listener: (payload: string) => void): void {
        let set = this.listeners.get(channel);
        if (!set) this.listeners.set(channel, (set = new Set()));
        set.add(listener);
    }

    async close(): Promise<void> {
        this.closed = true;
        await this.listener?.end().catch(() => undefined);
    }
}
