/**
 * `work`, or a rejection naming `what` once `ms` have passed without an answer. The work itself
 * is not stopped (a query on a silent connection stays pending): callers drop what it holds.
 */
export async function answerWithin<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)));
    try {
        return await Promise.race([work, late]);
    } finally {
        clearTimeout(timer);
    }
}

/** Waits for `work` at most `ms`; past that calls `late` and goes on (the work is left to finish or fail on its own). */
export async function settleWithin(ms: number, work: Promise<unknown> | undefined, late: () => void): Promise<void> {
    if (!work) return;
    // The work's own failure is no reason to wait or to warn: only its silence is.
    const answered = work.then(() => true, () => true);
    if (!(await answerWithin(answered, ms, "the work").catch(() => false))) late();
}
