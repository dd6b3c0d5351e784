import pino from "pino";

/** What the logger needs from SAFE's redactor; kept narrow so tests can pass a stub. */
export interface StringRedactor {
    redactDeep<T>(value: T): T;
}

export type Logger = pino.Logger;

/**
 * The one service logger: JSON lines on stdout (or `destination`), every argument passed
 * through `redactor` first, so a secret handed to a log call never reaches the sink.
 */
export function createLogger(options: { level?: string; redactor: StringRedactor; destination?: pino.DestinationStream }): Logger {
    const { redactor } = options;
    return pino(
        {
            level: options.level ?? "info",
            base: { service: "todobackend-automation" },
            timestamp: pino.stdTimeFunctions.isoTime,
            hooks: {
                logMethod(args, method) {
                    const safe = args.map((a) => (a instanceof Error ? { err: { type: a.name, message: a.message, stack: a.stack } } : a));
                    method.apply(this, redactor.redactDeep(safe) as Parameters<typeof method>);
                },
            },
        },
        options.destination,
    );
}

/** A logger that writes nothing, for tests that do not look at the log. */
export const silentLogger = (): Logger => pino({ level: "silent" });
