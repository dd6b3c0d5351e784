// Checks for component args whose values are known when the program runs. An Input that is still
// an Output is left to AWS, which rejects it with its own message.

/** The values CloudWatch Logs accepts for a retention period. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export function checkLogRetention(arg: string, days: unknown): void {
    if (typeof days === "number" && !LOG_RETENTION_DAYS.includes(days)) {
        throw new Error(`\`${arg}\` ${days} is not a CloudWatch Logs retention. Fix: use one of ${LOG_RETENTION_DAYS.join(", ")}.`);
    }
}

/** A known number must be a whole number in [min, max]; `fix` says what to set instead. */
export function checkWholeNumber(arg: string, value: unknown, min: number, max: number, fix: string): void {
    if (typeof value === "number" && (!Number.isInteger(value) || value < min || value > max)) {
        throw new Error(`\`${arg}\` must be a whole number from ${min} to ${max}, got ${value}. Fix: ${fix}`);
    }
}
