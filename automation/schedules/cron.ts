import { CronExpressionParser } from "cron-parser";

/**
 * Why a cron expression is not one we run, or undefined when it is: five fields (minute, hour,
 * day of month, month, day of week), read in UTC as every time in the policies is.
 */
export function cronProblem(expr: string): string | undefined {
    if (expr.trim().split(/\s+/).length !== 5) return `"${expr}" must have five fields (minute hour day-of-month month day-of-week, UTC), e.g. "0 6 * * *"`;
    try {
        CronExpressionParser.parse(expr, { tz: "UTC" });
        return undefined;
    } catch (e) {
        return `"${expr}" is not a cron expression (${(e as Error).message})`;
    }
}

/** The first time after `after` the expression names. */
export function nextRun(expr: string, after: Date): Date {
    return CronExpressionParser.parse(expr, { currentDate: after, tz: "UTC" }).next().toDate();
}

/** The last time at or before `now` the expression names. */
export function lastSlot(expr: string, now: Date): Date {
    return CronExpressionParser.parse(expr, { currentDate: new Date(now.getTime() + 1), tz: "UTC" }).prev().toDate();
}
