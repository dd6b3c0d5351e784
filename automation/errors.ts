import type { ErrorCode } from "./errorCodes";

/**
 * The service's one error taxonomy. Every failure a client can see is an AppError with a
 * stable machine `code`, an HTTP `status` and a human message; the error middleware renders
 * nothing else, so a raw CLI message or a stack trace can never reach a response.
 */
export class AppError extends Error {
    constructor(
        readonly code: ErrorCode,
        readonly status: number,
        message: string,
        readonly details?: Record<string, unknown>,
    ) {
        super(message);
        this.name = "AppError";
    }

    /** The JSON body of an error response (and of a job's `error` field). */
    toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
        return this.details === undefined
            ? { code: this.code, message: this.message }
            : { code: this.code, message: this.message, details: this.details };
    }
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;

export const notFound = (message: string, details?: Record<string, unknown>) =>
    new AppError("NOT_FOUND", 404, message, details);
export const stackNotFound = (stack: string) =>
    new AppError("STACK_NOT_FOUND", 404, `Unknown stack "${stack}": only stacks with a Pulumi.<stack>.yaml file in the project can be used.`, { stack });
export const jobNotFound = (id: string) => new AppError("JOB_NOT_FOUND", 404, `No job with id "${id}".`, { id });
export const invalidInput = (message: string, details?: Record<string, unknown>) =>
    new AppError("INVALID_INPUT", 422, message, details);
export const badRequest = (message: string, details?: Record<string, unknown>) =>
    new AppError("BAD_REQUEST", 400, message, details);
export const conflict = (message: string, details?: Record<string, unknown>) =>
    new AppError("CONFLICT", 409, message, details);
export const queueFull = (stack: string, limit: number) =>
    new AppError("QUEUE_FULL", 409, `Stack "${stack}" already has ${limit} queued jobs; wait for them to finish or cancel one.`, { stack, limit });
export const stackBusy = (stack: string) =>
    new AppError("STACK_BUSY", 409, `Stack "${stack}" is busy and the request asked for noQueue; retry later or drop noQueue to wait in line.`, { stack });
export const jobFinished = (id: string, state: string) =>
    new AppError("JOB_FINISHED", 409, `Job "${id}" has already finished (${state}); nothing to cancel.`, { id, state });
export const unauthenticated = (message: string) => new AppError("UNAUTHENTICATED", 401, message);
/** Sign-in through the identity provider (security/signIn.ts). */
export const signInFailed = (why: string) => new AppError("SIGN_IN_FAILED", 401, `Signing in failed: ${why}. Start again from /auth/login.`);
export const sessionEnded = (why: string) => new AppError("SESSION_ENDED", 401, `${why}; sign in again at /auth/login.`);
export const noRole = (message: string) => new AppError("NO_ROLE", 403, message);
export const csrfTokenInvalid = (message: string) => new AppError("CSRF_TOKEN_INVALID", 403, message);
export const forbidden = (message: string, details?: Record<string, unknown>) =>
    new AppError("FORBIDDEN", 403, message, details);
/** How a token's holder gets a new one: the answer of every expiry. */
const rotateHint = (name: string, role: string) =>
    `Ask an admin to rotate it: npm run token -- --name ${name} --role ${role} --expires 30d (or POST /v1/tokens with {"name": "${name}", "role": "${role}", "expiresIn": "30d", "replace": true}).`;
export const tokenExpired = (name: string, role: string, expiredAt: string) =>
    new AppError("TOKEN_EXPIRED", 401, `The bearer token of ${name} expired at ${expiredAt}. ${rotateHint(name, role)}`, { name, expiredAt });
/** A job queued by a token that has expired since: nothing runs on its behalf (as with TOKEN_REVOKED). */
export const queuedTokenExpired = (name: string, op: string, expiredAt: string) =>
    new AppError("TOKEN_EXPIRED", 403, `The token of ${name}, who queued this ${op}, expired at ${expiredAt}; nothing runs on an expired token's behalf. Rotate the token and queue it again.`, { triggeredBy: name, expiredAt });
export const tokenNotFound = (name: string) =>
    new AppError("TOKEN_NOT_FOUND", 404, `No token is named "${name}"; GET /v1/tokens (or npm run token -- list) lists the names.`, { name });
export const tokenExists = (name: string) =>
    new AppError("TOKEN_EXISTS", 409, `A token named "${name}" exists; send "replace": true to rotate it (its holder's current token then stops working), or choose another name.`, { name });
export const payloadTooLarge = (limitBytes: number) =>
    new AppError("PAYLOAD_TOO_LARGE", 413, `Request body is larger than ${limitBytes} bytes.`, { limitBytes });
export const planStale = (message: string, details?: Record<string, unknown>) =>
    new AppError("PLAN_STALE", 409, message, details);
/** The URL of a stack's repair findings and action; every NEEDS_REPAIR answer names it. */
export const repairPath = (stack: string) => `/v1/stacks/${encodeURIComponent(stack)}/repair`;
export const needsRepair = (stack: string, op: string, findings: readonly object[]) =>
    new AppError(
        "NEEDS_REPAIR",
        409,
        `Stack "${stack}" needs repair before it can run ${withArticle(op)}: a run that did not finish left its state inconsistent (pending operations or a lock nobody may clear). See GET ${repairPath(stack)}, then repair it with POST ${repairPath(stack)} (role admin).`,
        { stack, repair: repairPath(stack), findings },
    );
export const shuttingDown = () =>
    new AppError("SHUTTING_DOWN", 503, "The service is shutting down and accepts no new jobs; retry against the restarted service.");
export const unavailable = (message: string, details?: Record<string, unknown>) =>
    new AppError("UNAVAILABLE", 503, message, details);
export const internal = () => new AppError("INTERNAL", 500, "Internal error; the service log has the details.");

/** Codes a job's `error` can carry when the engine, not the client, failed. */
export const engineError = {
    concurrentUpdate: (stack: string) =>
        new AppError("STACK_LOCKED", 409, `Stack "${stack}" is locked by another update outside this service; wait for it or run "pulumi cancel".`, { stack }),
    stackMissing: (stack: string) =>
        new AppError("STACK_NOT_FOUND", 404, `Stack "${stack}" does not exist in the backend.`, { stack }),
    stackExists: (stack: string) => new AppError("STACK_EXISTS", 409, `Stack "${stack}" already exists in the backend.`, { stack }),
    operationFailed: (stack: string, op: string) =>
        new AppError("OPERATION_FAILED", 500, `The ${op} of stack "${stack}" failed; the job's log and events have the engine's diagnostics.`, { stack, op }),
    policyViolation: (stack: string, op: string) =>
        new AppError("POLICY_VIOLATION", 422, `The ${op} of stack "${stack}" was blocked by a mandatory policy; see the job summary's policy violations.`, { stack, op }),
    cancelled: () => new AppError("CANCELLED", 409, "The job was cancelled."),
    workerCrashed: (detail: string) => new AppError("WORKER_CRASHED", 500, `The job's worker process ended unexpectedly (${detail}).`),
    interrupted: () => new AppError("INTERRUPTED", 500, "The service stopped while the job was running; re-run it."),
};

/**
 * Maps anything thrown by the Automation API (or by a worker, where the error arrives as a
 * plain `{name, message}` over IPC and `instanceof` no longer works) to an AppError. Matching
 * is by the error's `name`, which the Automation API sets on each of its classes. The raw
 * message is deliberately dropped: it is CLI output that may hold paths, secrets or traces.
 */
export function fromAutomationError(err: unknown, ctx: { stack: string; op: string }): AppError {
    if (isAppError(err)) return err;
    const name = typeof err === "object" && err !== null && "name" in err ? String((err as { name: unknown }).name) : "";
    const message = typeof err === "object" && err !== null && "message" in err ? String((err as { message: unknown }).message) : "";
    switch (name) {
        case "ConcurrentUpdateError":
            return engineError.concurrentUpdate(ctx.stack);
        case "StackNotFoundError":
            return engineError.stackMissing(ctx.stack);
        case "StackAlreadyExistsError":
            return engineError.stackExists(ctx.stack);
        case "CommandError":
            if (/mandatory polic(y|ies)|policy violation|violates? .*policy/i.test(message)) {
                return engineError.policyViolation(ctx.stack, ctx.op);
            }
            // Only a cancel makes a job cancelled, and the job service knows when there was one:
            // an engine message that merely mentions "canceled" is a failure like any other.
            return engineError.operationFailed(ctx.stack, ctx.op);
        default:
            return engineError.operationFailed(ctx.stack, ctx.op);
    }
}

/** "a preview", "an update": the article for an operation's name in messages. */
export function withArticle(op: string): string {
    return `${/^[aeiou]/i.test(op) ? "an" : "a"} ${op}`;
}

/** Drops ANSI colour codes and folds whitespace: engine text as one readable line. */
function plain(text: string): string {
    // eslint-disable-next-line no-control-regex
    return text.replace(/\u001b\[[0-9;]*m/g, "").replace(/\s+/g, " ").trim();
}

/**
 * What a failed command wrote to stderr, from the Automation API's CommandError text
 * (`code: N\n stdout: ...\n stderr: ...\n err?: ...`); undefined when the text has another shape.
 */
export function commandStderr(message: string): string | undefined {
    if (!/^code: -?\d+\n stdout: /.test(message)) return undefined;
    const stderrAt = message.lastIndexOf("\n stderr: ");
    if (stderrAt < 0) return undefined;
    const errAt = message.lastIndexOf("\n err?: ");
    return message.slice(stderrAt + 10, errAt > stderrAt ? errAt : undefined);
}

/**
 * Why an operation failed, in words a person can act on: the engine's first error diagnostic
 * (or the CLI's first `error:` line when it failed before the engine ran), and for the causes
 * we know, their remedy and a code of their own. The caller redacts the result.
 */
export function describeFailure(ctx: { stack: string; op: string }, diagnostic: string | undefined, cliMessage: string): AppError {
    const stderr = commandStderr(cliMessage) ?? cliMessage;
    const cliError = /(?:^|\n)error: ([^\n]+)/.exec(stderr)?.[1];
    const cause = plain(diagnostic ?? cliError ?? "").slice(0, 1000);
    const text = `${diagnostic ?? ""}\n${cliMessage}`;
    const base = `The ${ctx.op} of stack "${ctx.stack}" failed`;
    const plugin = /no resource plugin '?(?:pulumi-resource-)?([a-z0-9-]+?)(?:-v?(\d+\.\d+\.\d+))?'? found(?:[^\n]*?at version v?(\d+\.\d+\.\d+))?/i.exec(text);
    if (plugin) {
        const version = plugin[2] ?? plugin[3];
        const install = `pulumi plugin install resource ${plugin[1]}${version ? ` v${version}` : ""}`;
        return new AppError("MISSING_PLUGIN", 500, `${base}: the ${plugin[1]} resource plugin${version ? ` v${version}` : ""} is not installed. Fix: ${install} (on a machine without the internet, install it from a file with --file).`,
            { stack: ctx.stack, op: ctx.op, plugin: plugin[1], ...(version ? { version } : {}), install });
    }
    const reference = /unknown stack "?([^"\s]+)"?/i.exec(text);
    if (reference && /stack ?reference|StackReference/i.test(text)) {
        return new AppError("MISSING_STACK_REFERENCE", 500, `${base}: it reads the outputs of stack "${reference[1]}", which does not exist in this backend. Fix: create and update "${reference[1]}" first (for this repository's environments: the delivery stack, docs/delivery.md), or point the stack's config at the right one.`,
            { stack: ctx.stack, op: ctx.op, referencedStack: reference[1] });
    }
    if (/incorrect passphrase/i.test(text)) {
        return new AppError("INCORRECT_PASSPHRASE", 500, `${base}: the passphrase does not decrypt this stack's secrets. Fix: check that the service runs with the passphrase the stack was created with (PULUMI_CONFIG_PASSPHRASE or the data dir's passphrase file), and that Pulumi.${ctx.stack}.yaml's encryptionsalt is the one that passphrase salted.`,
            { stack: ctx.stack, op: ctx.op });
    }
    return new AppError("OPERATION_FAILED", 500, cause ? `${base}: ${cause}` : `${base}; the job's log and events have the engine's diagnostics.`, { stack: ctx.stack, op: ctx.op });
}
