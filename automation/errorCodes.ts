/**
 * Every error code the service answers or records, in one place: AppError takes only these
 * codes (the compiler checks every `new AppError`), the OpenAPI document's Error schema lists
 * them, and docs/errors.md is generated from this table (`npm run docs:errors`; a test fails
 * when the page is out of date or a code in the source is missing here).
 */

/** Where a code shows: an HTTP answer's body, a job's `error`, a webhook delivery's refused stacks. */
export type ErrorWhere = "http" | "job" | "webhook";

export interface ErrorCodeInfo {
    /** The HTTP statuses it is answered with (none: it is only recorded on a job or a delivery). */
    readonly statuses: readonly number[];
    readonly where: readonly ErrorWhere[];
    /** What happened, and what to do about it, in a sentence or two. */
    readonly meaning: string;
}

const http = (statuses: number[], meaning: string): ErrorCodeInfo => ({ statuses, where: ["http"], meaning });
const job = (meaning: string, statuses: number[] = []): ErrorCodeInfo => ({ statuses, where: statuses.length ? ["http", "job"] : ["job"], meaning });
const webhook = (meaning: string): ErrorCodeInfo => ({ statuses: [], where: ["webhook"], meaning });

export const ERROR_CODES = {
    // The request itself
    BAD_REQUEST: http([400], "The request is malformed (unparseable JSON, a bad query). The message says what."),
    INVALID_INPUT: http([422], "The body or query does not validate against the operation's schema; `details.issues` names each field."),
    UNSUPPORTED_MEDIA_TYPE: http([415], "A body that is not JSON: send it with `Content-Type: application/json`."),
    PAYLOAD_TOO_LARGE: http([413], "The body is larger than the limit (`details.limitBytes`)."),
    LENGTH_REQUIRED: http([411], "A webhook delivery without Content-Length."),
    NOT_FOUND: http([404], "No such route or record; the OpenAPI document lists the routes."),
    RATE_LIMITED: http([429], "Too many changes or refused requests from this caller; `Retry-After` says when to try again."),
    IDEMPOTENCY_KEY_REUSED: http([409], "The `Idempotency-Key` was used before with another body; use a new key for a new request."),
    IDEMPOTENCY_IN_PROGRESS: http([409], "A request with this `Idempotency-Key` is still being answered; retry shortly for its answer."),
    // Who is asking
    UNAUTHENTICATED: http([401], "No bearer token or session, or one the service does not know."),
    TOKEN_EXPIRED: job("The bearer token expired (401); or the token that queued a job expired before it started (403, the job fails). An admin rotates it.", [401, 403]),
    TOKEN_REVOKED: job("The token that queued a job was revoked before it started; nothing runs on its behalf.", [403]),
    SIGN_IN_FAILED: http([401], "Signing in through the identity provider failed (a forged, expired or foreign answer, a return this browser did not start); start again at /auth/login."),
    SESSION_ENDED: http([401], "The session expired or the identity provider dropped the person; sign in again."),
    NO_ROLE: job("The person is in no group the role map gives a role (403), or lost it before their queued job started (the job fails).", [403]),
    FORBIDDEN: http([403], "The caller's role is below the operation's (the OpenAPI document gives each operation's role)."),
    CSRF_TOKEN_INVALID: http([403], "A change made with the session cookie without the session's X-CSRF-Token, or from another site."),
    IDENTITY_PROVIDER_UNAVAILABLE: http([503], "The identity provider cannot be asked about the person, so no change is made with a session (fail closed); tokens still work."),
    // Stacks and jobs
    STACK_NOT_FOUND: http([404], "No `Pulumi.<stack>.yaml` in the project, or no such stack in the backend."),
    JOB_NOT_FOUND: http([404], "No job with that id."),
    JOB_FINISHED: http([409], "The job has finished; there is nothing to cancel."),
    QUEUE_FULL: http([409], "The stack already has the most queued jobs allowed; wait or cancel one."),
    STACK_BUSY: http([409], "The stack is busy and the request asked for `noQueue`."),
    STACK_EXISTS: job("The stack already exists in the backend."),
    CONFLICT: http([409], "The request contradicts the current state (the message says how)."),
    SHUTTING_DOWN: http([503], "The service is stopping and takes no new jobs; retry against the restarted service."),
    STORE_UNAVAILABLE: http([503], "The database does not answer (an outage, a failover, no free connection); nothing was stored. `Retry-After` says when to retry."),
    UNAVAILABLE: http([503], "The service cannot take the request now (a full disk, a clock it does not trust); /readyz names the check."),
    TOO_MANY_STREAMS: http([429], "The caller has the most live event streams allowed open; close one."),
    // The environment's policy and approvals
    FROZEN: job("The stack's policy freezes this operation now (a freeze window).", [409]),
    POLICY_INVALID: job("The stack's environment policy file does not validate and no valid version was loaded; nothing runs on it until it is fixed.", [503]),
    APPROVAL_REQUIRED: job("The update or destroy needs an approved preview (`previewId`) with enough approvals from eligible approvers.", [422]),
    SELF_APPROVAL: http([403], "Nobody approves their own preview."),
    ALREADY_DECIDED: http([409], "The caller has already approved or rejected this preview."),
    NOT_APPROVED: job("The preview was rejected, or has fewer approvals from eligible approvers than the policy needs (`details` counts them).", [409]),
    PREVIEW_OF_PULL_REQUEST: http([409], "The preview ran a pull request's commit, not the service's checkout an update applies; merge it, then preview and approve the stack."),
    ALREADY_APPLIED: job("The approved preview was applied already; its approval is used up. Run a new preview.", [409]),
    PREVIEW_EXPIRED: job("The approved preview is older than the policy allows; run a new one.", [409]),
    PREVIEW_SUPERSEDED: job("A newer preview of the stack exists; approve and apply that one.", [409]),
    PLAN_STALE: job("The stack, the program or its config changed since the preview was approved; run a new preview.", [409]),
    PLAN_MISSING: job("The approved preview's saved plan is gone; run a new preview."),
    SUPERSEDED: job("A queued preview was replaced by a newer preview of the same stack before it started."),
    // Running Pulumi
    OPERATION_FAILED: job("The Pulumi operation failed; the job's log and events have the engine's diagnostics."),
    POLICY_VIOLATION: job("A mandatory policy of the policy pack refused the change; the message names the policy and the resource."),
    MISSING_PLUGIN: job("A resource plugin the program needs is not installed; the message gives the install command."),
    MISSING_STACK_REFERENCE: job("The program reads the outputs of a stack that does not exist in the backend; create that stack first."),
    INCORRECT_PASSPHRASE: job("The passphrase does not decrypt the stack's secrets."),
    STACK_CONFIG_FAILED: job("The stack's config copy for the job could not be written."),
    STACK_ROLE_MISSING: job("The stack has no AWS role in AUTOMATION_STACK_ROLES; the service runs nothing with its own rights.", [403]),
    STACK_ROLE_UNAVAILABLE: job("Assuming the stack's AWS role failed; nothing ran. Check the role's trust policy.", [502]),
    STOPPED_BY_GUARD: job("The step guard stopped an update or destroy that began to do what its approved preview did not show."),
    CANCELLED: job("Someone cancelled the job (the message says who and when)."),
    INTERRUPTED: job("The service or its instance stopped while the job ran; re-run it (a stack left inconsistent needs repair first)."),
    WORKER_CRASHED: job("The job's worker process ended unexpectedly."),
    NEEDS_REPAIR: job("A run that did not finish left the stack inconsistent; see and repair it at /v1/stacks/<stack>/repair (admin).", [409]),
    // Repair and unlock
    BACKEND_UNAVAILABLE: http([503], "The state backend does not answer; nothing was decided or changed."),
    STACK_LOCKED: http([409], "Another live process holds the stack's lock; repair waits for it."),
    FENCED: http([409], "An instance that was given up may still be running the stack's CLI; wait for it to come back or confirm it is gone and repeat with `overrideFence`."),
    UNLOCK_FAILED: http([500], "Removing the stack's locks failed; the service log has the CLI's answer."),
    REPAIR_FAILED: http([500], "The repair failed; the state before it is backed up (`details.backup`)."),
    // Tokens
    TOKEN_NOT_FOUND: http([404], "No token of that name."),
    TOKEN_EXISTS: http([409], "A token of that name exists; send `replace: true` to rotate it."),
    // Pull requests and webhooks
    WEBHOOKS_DISABLED: http([404], "The service has no webhook secret, so it takes no GitHub deliveries."),
    REPOSITORY_NOT_ALLOWED: http([403], "The delivery's repository is not in AUTOMATION_GITHUB_REPOSITORIES."),
    DUPLICATE_DELIVERY: http([409], "The delivery (or one with the same signed body) was processed already; nothing is started twice."),
    BAD_SIGNATURE: http([401], "The delivery's signature does not match the webhook secret."),
    BUSY: http([503], "Too many webhook bodies are being received at once; GitHub retries."),
    CHECKOUT_FAILED: job("The pull request's commit could not be fetched or checked out.", [502]),
    CHECKOUT_TOO_LARGE: job("The pull request's checkout is larger than the limit.", [422]),
    UNSAFE_CHECKOUT: job("The pull request makes the service read through a symlink or outside the checkout; nothing of it is read.", [422]),
    FORK_NOT_ALLOWED: webhook("A pull request from a fork is not previewed (AUTOMATION_GITHUB_ALLOW_FORKS)."),
    IN_PROGRESS: webhook("Another attempt of the same delivery is starting this stack's job."),
    // Last resort
    INTERNAL: http([500], "Something the service did not expect; the log has the details under the request's id."),
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

/** docs/errors.md, generated from the table above. */
export function errorCodesMarkdown(): string {
    const rows = Object.entries(ERROR_CODES as Record<string, ErrorCodeInfo>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([code, info]) => `| \`${code}\` | ${info.statuses.join(", ") || "—"} | ${info.where.join(", ")} | ${info.meaning.replace(/\|/g, "\\|")} |`);
    return [
        "# Error codes",
        "",
        "<!-- Generated from automation/errorCodes.ts by `npm run docs:errors`; edit that file, not this one. -->",
        "",
        "Every error the service answers has the body `{\"code\", \"message\", \"details\"?}`; a failed job",
        "has the same shape in its `error`. The code is stable, for machines; the message is for people",
        "and says what to do. *Where*: `http` an answer's body, `job` a job's `error`, `webhook` a",
        "delivery's refused stacks.",
        "",
        "| Code | HTTP status | Where | Meaning |",
        "| --- | --- | --- | --- |",
        ...rows,
        "",
    ].join("\n");
}
