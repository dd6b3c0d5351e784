import { createHmac, randomUUID } from "node:crypto";
import type { Logger } from "../logger";
import type { NotificationDeliveries } from "./deliveries";
import { shownUrl, type Destination, type NotificationEvent } from "./destinations";
import type { Envelope } from "./envelope";
import { slackMessage } from "./slack";

export interface NotifierOptions {
    destinations: readonly Destination[];
    deliveries: NotificationDeliveries;
    logger: Logger;
    /** Applied to every payload and recorded error (the service's redactor), after the envelope is added. */
    redact: <T>(value: T) => T;
    /** Adds what every notification carries (notifications/envelope.ts); without it, payloads go as given. */
    envelope?: (event: NotificationEvent, payload: Record<string, unknown>) => Promise<Record<string, unknown>>;
    now?: () => Date;
    /** Attempts per delivery, the first backoff (doubled each time) and each attempt's timeout. @default 4, 500 ms, 5000 ms */
    retry?: { attempts: number; baseMs: number; timeoutMs: number };
}

/** The HMAC-SHA256 signature header of a delivery: `t=<unix seconds>,v1=<hex of HMAC(secret, "<t>.<body>")>`, as Stripe signs. */
export function signature(secret: string, body: string, at: Date): string {
    const t = Math.floor(at.getTime() / 1000);
    return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;
}

/**
 * Tells the configured destinations what happened, off the path of every job: `notify` returns
 * at once, each delivery is recorded, sent with a timeout, and retried with exponential backoff
 * on a network error or a 5xx (a 4xx is the receiver's answer and is not retried), so a slow or
 * dead receiver costs a job nothing. Signed with the destination's secret when it has one.
 */
export class Notifier {
    private readonly inFlight = new Set<Promise<void>>();
    private readonly now: () => Date;
    private readonly retry: NonNullable<NotifierOptions["retry"]>;
    private closed = false;

    constructor(private readonly o: NotifierOptions) {
        this.now = o.now ?? (() => new Date());
        this.retry = o.retry ?? { attempts: 4, baseMs: 500, timeoutMs: 5000 };
    }

    notify(event: NotificationEvent, payload: Record<string, unknown>): void {
        if (this.closed) return;
        const targets = this.o.destinations.filter((d) => d.events.includes(event));
        if (targets.length === 0) return;
        // The envelope is read once for all destinations; what it reads passes the redactor with the rest.
        const envelope = this.o.envelope;
        const ready = (envelope ? envelope(event, payload) : Promise.resolve(payload))
            .catch((err: unknown) => {
                this.o.logger.warn({ err, event }, "reading a notification's job, counts or approvals failed; it goes without them");
                return payload;
            })
            .then((p) => this.o.redact(p));
        for (const d of targets) {
            const p = ready.then((body) => this.deliver(d, event, body)).catch((err: unknown) => this.o.logger.warn({ err, destination: d.name }, "recording a notification failed"));
            this.inFlight.add(p);
            void p.finally(() => this.inFlight.delete(p));
        }
    }

    private async deliver(d: Destination, event: NotificationEvent, payload: Record<string, unknown>): Promise<void> {
        const id = randomUUID();
        const createdAt = this.now().toISOString();
        const json = { id, event, at: createdAt, ...payload };
        const body = JSON.stringify(d.format === "slack" ? slackMessage(event, json) : json);
        const record = { id, destination: d.name, event, status: "pending" as "pending" | "delivered" | "failed", attempts: 0, createdAt, updatedAt: createdAt } as Parameters<NotificationDeliveries["record"]>[0];
        await this.o.deliveries.record(record);
        for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
            const at = this.now();
            let status: number | undefined;
            let error: string | undefined;
            try {
                const res = await fetch(d.url, {
                    method: "POST",
                    headers: {
                        "content-type": "application/json",
                        "user-agent": "todobackend-automation",
                        "x-automation-event": event,
                        "x-automation-delivery": id,
                        ...(d.secret ? { "x-automation-signature": signature(d.secret, body, at) } : {}),
                    },
                    body,
                    redirect: "manual",
                    signal: AbortSignal.timeout(this.retry.timeoutMs),
                });
                status = res.status;
                await res.arrayBuffer().catch(() => undefined);
            } catch (e) {
                error = (e as Error).name === "TimeoutError" ? `no answer within ${this.retry.timeoutMs} ms` : (e as Error).message;
            }
            const delivered = status !== undefined && status >= 200 && status < 300;
            const final = delivered || (status !== undefined && status < 500) || attempt === this.retry.attempts;
            Object.assign(record, {
                attempts: attempt,
                status: delivered ? "delivered" : final ? "failed" : "pending",
                updatedAt: this.now().toISOString(),
                ...(status !== undefined ? { lastStatus: status } : {}),
                lastError: delivered ? undefined : this.o.redact(error ?? `HTTP ${status}`),
            });
            await this.o.deliveries.record(record);
            if (final) {
                if (!delivered) this.o.logger.warn({ destination: d.name, url: shownUrl(d.url), event, attempts: attempt, status, error }, "a notification could not be delivered");
                return;
            }
            if (this.closed) return;
            await new Promise((r) => setTimeout(r, this.retry.baseMs * 2 ** (attempt - 1)).unref());
        }
    }

    /** Stops retrying and waits (at most `graceMs`) for the deliveries under way. */
    async close(graceMs = 2000): Promise<void> {
        this.closed = true;
        await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, graceMs).unref())]);
    }
}
