import { AppError, forbidden } from "../errors";
import type { Op } from "../jobs/types";
import { Principal, hasRole } from "../security/roles";
import type { EnvironmentPolicy, FreezeWindow } from "../environments/policy";

// The two checks of the stack policy that admission makes of every operation, at submit and at
// start (guard.ts): the caller's role, then the freeze windows. Approvals of a preview are
// approvals/rules.ts's business.

const DAY_INDEX: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** The freeze window that blocks `op` at `now`, if any. Weekly windows may wrap midnight. */
export function activeFreeze(policy: EnvironmentPolicy, op: Op, now: Date): FreezeWindow | undefined {
    return policy.freezeWindows.find((w) => {
        if (!w.operations.includes(op)) return false;
        if (w.start && w.end) return now.getTime() >= Date.parse(w.start) && now.getTime() < Date.parse(w.end);
        if (!w.days || !w.from || !w.to) return false;
        const m = now.getUTCHours() * 60 + now.getUTCMinutes();
        const from = minutes(w.from);
        const to = minutes(w.to);
        const day = now.getUTCDay();
        const onDay = (d: number) => w.days!.some((x) => DAY_INDEX[x] === d);
        if (from <= to) return onDay(day) && m >= from && m < to;
        // wraps midnight: the evening belongs to a listed day, the early morning to the day after it
        return (onDay(day) && m >= from) || (onDay((day + 6) % 7) && m < to);
    });
}

/** Refuses (403) a principal below the policy's role for `op`. */
export function checkRole(policy: EnvironmentPolicy, op: Op, principal: Pick<Principal, "name" | "role">): void {
    const need = policy.operations[op].role;
    if (!hasRole(principal.role, need)) {
        throw forbidden(`${op} of stack "${policy.stack}" needs role ${need} (policy ${policy.source}); ${principal.name} has ${principal.role}`, {
            required: need,
            held: principal.role,
            stack: policy.stack,
            op,
        });
    }
}

/** Refuses (409 FROZEN) an operation inside one of the policy's freeze windows. */
export function checkFreeze(policy: EnvironmentPolicy, op: Op, now: Date): void {
    const freeze = activeFreeze(policy, op, now);
    if (freeze) {
        throw new AppError("FROZEN", 409, `Stack "${policy.stack}" is in a freeze window for ${op}: ${freeze.reason}. Wait for it to end.`, {
            stack: policy.stack,
            op,
            window: freeze,
        });
    }
}
