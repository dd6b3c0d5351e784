// Time decisions (a TTL destroy, a drift check's moment, a reminder, a freeze window, an
// approval's age) must not depend on which instance makes them. With a shared database, the
// database's clock is the service's clock: each instance measures how far its own is off and
// corrects by it, and one that is off by more than a bound makes no schedule decision at all.
import type { Pool } from "pg";
import type { Logger } from "../logger";

export interface ServiceClock {
    now(): Date;
    /** Whether this instance may make time decisions (its clock agrees with the reference). */
    trusted(): boolean;
    /** For /readyz and refusals: how far off this instance's clock is, in words. */
    describe(): { ok: boolean; detail: string };
}

/**
 * The embedded service's clock: the wall clock as it was at start, carried on by the monotonic
 * clock, so a step of the host's time (a wrong NTP answer, an admin's `date -s`) moves no time
 * decision. When the wall clock has moved away from it by more than `maxSkewMs`, the service
 * says so and makes no schedule decision until it is restarted with the host's time right.
 */
export function localClock(maxSkewMs = 5000): ServiceClock {
    const wallAtStart = Date.now();
    const monoAtStart = process.hrtime.bigint();
    const now = () => new Date(wallAtStart + Number(process.hrtime.bigint() - monoAtStart) / 1e6);
    const drift = () => Date.now() - now().getTime();
    return {
        now,
        trusted: () => Math.abs(drift()) <= maxSkewMs,
        describe: () => {
            const d = Math.round(drift());
            return Math.abs(d) <= maxSkewMs
                ? { ok: true, detail: "local clock (one instance), steady since the start" }
                : { ok: false, detail: `the host's clock moved ${Math.abs(d)} ms ${d > 0 ? "ahead" : "back"} since the service started; no schedule decisions until it is restarted with the host's time right` };
        },
    };
}

/** A clock a test sets: always trusted. */
export const fixedClock = (now: () => Date): ServiceClock => ({ now, trusted: () => true, describe: () => ({ ok: true, detail: "the test's clock" }) });

/**
 * The shared database's clock, as seen from this instance: `sync` reads `clock_timestamp()`,
 * takes the midpoint of the round trip as the moment it was read, and keeps the difference;
 * `now()` is the local clock corrected by it. An instance whose clock is off by more than
 * `maxSkewMs` still corrects, but is not `trusted`: the schedules refuse to decide there.
 */
export class DatabaseClock implements ServiceClock {
    private offsetMs = 0;
    private measured = false;

    constructor(
        private readonly pool: Pool,
        private readonly maxSkewMs: number,
        private readonly logger: Logger,
    ) {}

    async sync(): Promise<void> {
        const before = Date.now();
        const { rows } = await this.pool.query<{ ms: string }>("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8::text AS ms");
        const after = Date.now();
        // A reading that took long (a stalled database) could be off by half its round trip: not used.
        if (after - before > 500) return;
        const offset = Number(rows[0].ms) - (before + after) / 2;
        const wasTrusted = this.trusted();
        this.offsetMs = offset;
        this.measured = true;
        if (wasTrusted && !this.trusted()) this.logger.error({ skewMs: Math.round(offset), maxSkewMs: this.maxSkewMs }, "this instance's clock disagrees with the database's; it makes no schedule decision until they agree (fix the host's time sync)");
        else if (!wasTrusted && this.trusted()) this.logger.info({ skewMs: Math.round(offset) }, "this instance's clock agrees with the database's again");
    }

    now(): Date {
        return new Date(Date.now() + this.offsetMs);
    }

    trusted(): boolean {
        return !this.measured || Math.abs(this.offsetMs) <= this.maxSkewMs;
    }

    describe(): { ok: boolean; detail: string } {
        const off = Math.round(this.offsetMs);
        const words = `this instance's clock is ${Math.abs(off)} ms ${off > 0 ? "behind" : "ahead of"} the database's`;
        return this.trusted() ? { ok: true, detail: `${words} (corrected)` } : { ok: false, detail: `${words}, more than AUTOMATION_MAX_CLOCK_SKEW_MS (${this.maxSkewMs}); no schedule decisions until the host's time is fixed` };
    }
}
