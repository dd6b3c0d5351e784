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
            // Errors were made plain (and redacted) by the hook below; pino's own serializer would relabel them "Object".
            serializers: { err: (e: unknown) => e },
            hooks: {
                logMethod(args, method) {
                    const safe = args.map((a) => (a instanceof Error ? { err: plainErrors(a) } : plainErrors(a)));
                    method.apply(this, redactor.redactDeep(safe) as Parameters<typeof method>);
                },
            },
        },
        destination,
    );
}

/**
 * Errors anywhere in a log call's arguments (`{ err }`, `{ cause: { err } }`) as plain objects:
 * the redactor copies only enumerable fields, and an Error's message and stack are not
 * enumerable, so `{ err: e }` would otherwise reach the log as `"err": {}`.
 */
export function plainErrors(value: unknown, depth = 0): unknown {
    if (depth > 6) return value;
    if (value instanceof Error) {
        const extra = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainErrors(v, depth + 1)]));
        return { type: value.name, message: value.message, stack: value.stack, ...extra, ...(value.cause !== undefined ? { cause: plainErrors(value.cause, depth + 1) } : {}) };
    }
    if (Array.isArray(value)) return value.map((v) => plainErrors(v, depth + 1));
    if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainErrors(v, depth + 1)]));
    }
    return value;
}

/** A logger that writes nothing, for tests that do not look at the log. */
export const silentLogger = (): Logger => pino({ level: "silent" });
