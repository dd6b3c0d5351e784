import pino from "pino";
import pinoPretty from "pino-pretty";

/** What the logger needs from SAFE's redactor; kept narrow so tests can pass a stub. */
export interface StringRedactor {
    redactDeep<T>(value: T): T;
}

export type Logger = pino.Logger;

/**
 * The one service logger: JSON lines on stdout (or `destination`), every argument passed
 * through `redactor` first, so a secret handed to a log call never reaches the sink. With
 * `format: "pretty"` (AUTOMATION_LOG_FORMAT) the same entries are written by pino-pretty as
 * coloured lines for a person at a terminal; it runs in this process after the redaction hook
 * (not as a transport thread), so what it prints has passed the redactor too.
 */
export function createLogger(options: { level?: string; redactor: StringRedactor; destination?: pino.DestinationStream; format?: "json" | "pretty" }): Logger {
    const { redactor } = options;
    const destination =
        options.format === "pretty"
            ? pinoPretty({
                  destination: options.destination ?? 1,
                  sync: true,
                  // Colours only for a terminal: a pretty log piped to a file stays plain text.
                  colorize: options.destination === undefined && process.stdout.isTTY === true,
                  translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
                  ignore: "pid,hostname,service",
              })
            : options.destination;
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
        destination,
    );
}

/** A logger that writes nothing, for tests that do not look at the log. */
export const silentLogger = (): Logger => pino({ level: "silent" });
