// The dashboard's decisions, kept free of the DOM so node can test them: the SSE parser and
// reconnecting reader, role permissions, state labels, the change-summary table and the
// mapping of API errors to the message the page shows.

/**
 * Incremental Server-Sent Events parser following the WHATWG event-stream rules. It exists
 * because EventSource cannot send an Authorization header: the page reads the stream with
 * fetch() so the bearer token stays in a header instead of a URL that would land in logs.
 */
export class SseParser {
    #buffer = "";
    #data = [];
    #hasData = false;
    #type = "";
    #started = false;
    /** The last `id:` seen; sent back as Last-Event-ID when the stream is resumed. */
    lastEventId = "";
    /** Reconnection delay the server asked for with `retry:`, in milliseconds. */
    retry = undefined;

    /** Feeds a decoded chunk; returns the events it completed, in order. */
    push(chunk) {
        this.#buffer += chunk;
        if (!this.#started && this.#buffer.length > 0) {
            this.#started = true;
            if (this.#buffer.charCodeAt(0) === 0xfeff) this.#buffer = this.#buffer.slice(1);
        }
        const events = [];
        let start = 0;
        for (let i = 0; i < this.#buffer.length; i++) {
            const ch = this.#buffer[i];
            if (ch !== "\n" && ch !== "\r") continue;
            // A CR at the end of a chunk may be the first half of CRLF: wait for more input.
            if (ch === "\r" && i === this.#buffer.length - 1) break;
            const line = this.#buffer.slice(start, i);
            if (ch === "\r" && this.#buffer[i + 1] === "\n") i++;
            start = i + 1;
            const event = this.#line(line);
            if (event) events.push(event);
        }
        this.#buffer = this.#buffer.slice(start);
        return events;
    }

    #line(line) {
        if (line === "") return this.#dispatch();
        if (line.startsWith(":")) return undefined;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") {
            this.#data.push(value);
            this.#hasData = true;
        } else if (field === "event") {
            this.#type = value;
        } else if (field === "id") {
            if (!value.includes("\0")) this.lastEventId = value;
        } else if (field === "retry") {
            if (/^\d+$/.test(value)) this.retry = Number(value);
        }
        return undefined;
    }

    #dispatch() {
        const type = this.#type || "message";
        const hasData = this.#hasData;
        const data = this.#data.join("\n");
        this.#data = [];
        this.#hasData = false;
        this.#type = "";
        if (!hasData) return undefined;
        return { type, data, id: this.lastEventId };
    }
}

/** Parses an SSE event's data as JSON, or returns the text itself when it is not JSON. */
export function eventPayload(event) {
    try {
        return JSON.parse(event.data);
    } catch {
        return event.data;
    }
}

/**
 * Reads a job's event stream with fetch(), resuming with Last-Event-ID after a dropped
 * connection until `isFinal(event)` says the job has ended or `signal` aborts. A 4xx answer
 * is final (retrying cannot fix a bad token or an unknown job) and rejects with the API's
 * message; network errors and 5xx are retried with the server's `retry:` delay.
 *
 * @returns {Promise<{ lastEventId: string, reconnects: number }>}
 */
export async function readEventStream({ url, token, onEvent, isFinal, signal, fetchImpl = fetch, sleep = defaultSleep, maxReconnects = 50, retryMs = 1000 }) {
    let lastEventId = "";
    let reconnects = 0;
    for (;;) {
        if (signal?.aborted) return { lastEventId, reconnects };
        const headers = { accept: "text/event-stream" };
        if (token) headers.authorization = `Bearer ${token}`;
        if (lastEventId) headers["last-event-id"] = lastEventId;
        const parser = new SseParser();
        let finished = false;
        try {
            // Same-origin credentials: a signed-in session's cookie goes with it (GET needs no CSRF token).
            const response = await fetchImpl(url, { headers, signal, credentials: "same-origin" });
            if (response.status >= 400 && response.status < 500) {
                throw new ApiError(response.status, await readErrorBody(response));
            }
            if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
            const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
            for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                for (const event of parser.push(value)) {
                    if (event.id) lastEventId = event.id;
                    onEvent(event);
                    if (isFinal(event)) finished = true;
                }
                if (finished) {
                    await reader.cancel().catch(() => undefined);
                    break;
                }
            }
        } catch (err) {
            if (err instanceof ApiError) throw err;
            if (signal?.aborted) return { lastEventId, reconnects };
        }
        if (finished) return { lastEventId, reconnects };
        if (reconnects >= maxReconnects) throw new Error(`the event stream dropped ${reconnects} times; reload the job`);
        reconnects++;
        await sleep(parser.retry ?? retryMs, signal);
    }
}

function defaultSleep(ms, signal) {
    return new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
        }, { once: true });
    });
}

/** An API refusal carrying the service's own message, shown to the user as is. */
export class ApiError extends Error {
    constructor(status, body) {
        super(apiErrorMessage(status, body));
        this.name = "ApiError";
        this.status = status;
        this.code = errorBodyOf(body)?.code;
    }
}

async function readErrorBody(response) {
    const text = await response.text().catch(() => "");
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

function errorBodyOf(body) {
    if (!body || typeof body !== "object") return undefined;
    const inner = body.error && typeof body.error === "object" ? body.error : body;
    return typeof inner.message === "string" ? inner : undefined;
}

/**
 * The sentence the page shows for a refused request: the API's own message (it names the
 * fix, e.g. self-approval), prefixed with its code; a generic line when the body has none.
 */
export function apiErrorMessage(status, body) {
    const err = errorBodyOf(body);
    if (err) return err.code ? `${err.code}: ${err.message}` : err.message;
    if (status === 401) return "The service did not accept the token; enter a valid one.";
    if (status === 403) return "Your role does not allow this action.";
    return `The service answered HTTP ${status}.`;
}

export const ROLES = ["viewer", "operator", "approver", "admin"];

/** What a role may do, mirroring the service's ladder; the server still decides every request. */
export function permissions(role) {
    const rank = ROLES.indexOf(role);
    const atLeast = (required) => rank >= 0 && rank >= ROLES.indexOf(required);
    return {
        preview: atLeast("operator"),
        refresh: atLeast("operator"),
        update: atLeast("operator"),
        cancel: atLeast("operator"),
        approve: atLeast("approver"),
        destroy: atLeast("admin"),
        // A kill mid-step can leave the stack needing repair: the API allows it to admins only.
        forceCancel: atLeast("admin"),
        repair: atLeast("admin"),
        unlock: atLeast("admin"),
        audit: atLeast("admin"),
        notifications: atLeast("admin"),
    };
}

/**
 * The fetch() options of an API request: JSON, the same-origin cookie always (a session signed
 * in with the identity provider lives in it), and either the bearer token or, for a session,
 * the CSRF token on every request that changes something (the server refuses it otherwise).
 */
export function requestInit({ method = "GET", body, token, csrfToken } = {}) {
    const headers = { accept: "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    else if (csrfToken && method !== "GET" && method !== "HEAD") headers["x-csrf-token"] = csrfToken;
    if (body !== undefined) headers["content-type"] = "application/json";
    return { method, headers, credentials: "same-origin", ...(body === undefined ? {} : { body: JSON.stringify(body) }) };
}

/**
 * How a signed-out person can sign in, from `GET /v1/auth`: a link to the identity provider's
 * login when OpenID Connect is on. Only a path of this service is followed (never another site).
 */
export function signInOptions(auth) {
    const oidc = auth?.oidc;
    if (!oidc || oidc.enabled !== true) return {};
    const url = typeof oidc.loginUrl === "string" && oidc.loginUrl.startsWith("/") && !oidc.loginUrl.startsWith("//") ? oidc.loginUrl : "/auth/login";
    const issuer = typeof oidc.issuer === "string" && oidc.issuer.trim() ? oidc.issuer.trim() : "your identity provider";
    return { oidc: { href: url, label: `Sign in with ${issuer}` } };
}

/** The failing checks of a `/readyz` answer, for the banner; empty when the service is ready. */
export function readinessProblems(report) {
    if (!report || typeof report !== "object" || report.ready !== false) return [];
    return Object.entries(report.checks ?? {})
        .filter(([, check]) => check && check.ok === false)
        .map(([name, check]) => ({ name, detail: typeof check.detail === "string" && check.detail ? check.detail : "failing" }));
}

const STATE_LABELS = {
    idle: "Idle",
    queued: "Queued",
    running: "Running",
    cancelling: "Cancelling…",
    succeeded: "Succeeded",
    failed: "Failed",
    cancelled: "Cancelled",
    interrupted: "Interrupted",
    "stopped-by-guard": "Stopped by guard",
    superseded: "Superseded",
    "needs-repair": "Needs repair",
    locked: "Locked by another process",
};

const TERMINAL = new Set(["succeeded", "failed", "cancelled", "interrupted", "stopped-by-guard", "superseded"]);

/** True once a job can change no more (its event stream has ended). */
export function isTerminal(state) {
    return TERMINAL.has(state);
}

/**
 * The visible text and a tone class for a stack or job state: the text carries the meaning,
 * the tone only adds colour, so the state is readable without colour.
 */
export function stateLabel(state) {
    const text = STATE_LABELS[state] ?? (typeof state === "string" && state ? state : "Unknown");
    let tone = "neutral";
    if (state === "succeeded" || state === "idle") tone = "ok";
    else if (state === "running" || state === "queued" || state === "cancelling") tone = "busy";
    else if (state === "failed" || state === "interrupted" || state === "stopped-by-guard" || state === "needs-repair" || state === "locked") tone = "bad";
    return { text, tone };
}

/**
 * The states a stack row shows: what its queue does, and beside it `needs-repair` when crash
 * recovery says so (the service refuses new jobs until an admin repairs it).
 */
export function stackStates(stack) {
    return [stack?.state ?? "unknown", ...(stack?.repair?.needed === true ? ["needs-repair"] : []), ...(heldLocks(stack?.repair?.findings).length ? ["locked"] : [])];
}

const LOCK_KINDS = new Set(["live-lock", "foreign-lock", "unreadable-lock"]);
/** Locks the service may not clear itself: a live holder, another host's, or an unreadable file. */
const heldLocks = (findings) => (Array.isArray(findings) ? findings.filter((f) => LOCK_KINDS.has(f?.kind)) : []);

/**
 * The recovery actions a stack's row offers an admin: repair when the scan says it needs one,
 * unlock when a lock is held that the service may not clear itself.
 */
export function recoveryActions(stack) {
    return { repair: stack?.repair?.needed === true, unlock: heldLocks(stack?.repair?.findings).length > 0 };
}

const lockText = (lock) => {
    const about = [lock?.username ? `user ${lock.username}` : "", lock?.timestamp ? `since ${formatTime(lock.timestamp)}` : ""].filter(Boolean).join(", ");
    return `pid ${lock?.pid} on ${lock?.hostname}${about ? ` (${about})` : ""}`;
};
const PENDING_NOTES = {
    create: "it may have made a real resource that Pulumi will no longer track: import it (pulumi import) if so",
    update: "the resource may be half-updated: a refresh reads it back",
    delete: "the resource may already be gone or still be there: a refresh finds out",
};

/**
 * What repair and unlock will do to the stack's state, worded from `GET /v1/stacks/{stack}/repair`
 * (the findings of the last scan), for the dialogs that ask before either runs. `repairRefused`
 * says why the service will refuse the repair as things are (a live or foreign lock).
 *
 * @returns {{ repair: string[], repairRefused?: string, unlock: string[] }}
 */
export function recoveryEffects(health, stack = health?.stack ?? "the stack") {
    const findings = Array.isArray(health?.findings) ? health.findings : [];
    const pending = findings.filter((f) => f?.kind === "pending-operations").flatMap((f) => (Array.isArray(f.operations) ? f.operations : []));
    const locks = heldLocks(findings);
    const repair = [`Backs up the exported state to backups/${stack}-<time>.json in the data dir (secrets stay encrypted).`];
    for (const op of pending) {
        const note = PENDING_NOTES[op.type];
        repair.push(`Drops the pending ${op.type} of ${resourceName(op.urn) || op.urn}${note ? `: ${note}` : ""}.`);
    }
    if (!pending.length) repair.push("Nothing is pending: it only backs up the state and scans the stack again.");
    for (const f of locks.filter((l) => l.kind === "unreadable-lock")) repair.push(`Leaves the unreadable lock file ${String(f.file).split("/").pop()}: unlock removes it.`);
    const holder = locks.find((l) => l.kind === "live-lock" || l.kind === "foreign-lock");
    const repairRefused = holder
        ? `It will be refused (STACK_LOCKED) while ${lockText(holder.lock)} holds the stack's lock, ${holder.kind === "live-lock" ? "a process that is still running" : "written on another host"}: stop it there, or unlock first.`
        : undefined;
    const unlock = locks.map((f) =>
        f.kind === "unreadable-lock"
            ? `Removes the unreadable lock file ${String(f.file).split("/").pop()}.`
            : `Removes the lock of ${lockText(f.lock)}: ${f.kind === "live-lock" ? "that process is still running, and unlocking does not stop it" : "it was written on another host; make sure its pulumi is gone there"}.`,
    );
    if (!locks.length) unlock.push(`No lock of ${stack} is recorded; unlock runs pulumi cancel anyway, which removes any lock the service cannot see (on a backend it cannot inspect).`);
    if (pending.length) unlock.push(`Leaves the ${pending.length} pending operation(s) to the repair.`);
    return { repair, ...(repairRefused ? { repairRefused } : {}), unlock };
}

const OPS = ["create", "update", "delete", "replace", "same"];

/** The last segment of a Pulumi URN (`...::name`), the resource's logical name. */
export function resourceName(urn) {
    if (typeof urn !== "string") return "";
    const at = urn.lastIndexOf("::");
    return at === -1 ? urn : urn.slice(at + 2);
}

/**
 * The change summary as table data: counts in a fixed operation order (then any other
 * operation the engine reported), and one row per resource step sorted by operation and name,
 * the drift a refresh found first (it ran first), its operation labelled as drift: with
 * refresh, a preview or update lists a drifted resource again for the change it plans.
 */
export function summaryTable(summary) {
    const counts = summary?.counts && typeof summary.counts === "object" ? summary.counts : {};
    const order = [...OPS, ...Object.keys(counts).filter((op) => !OPS.includes(op)).sort()];
    const countRows = order.filter((op) => Number(counts[op]) > 0).map((op) => ({ op, count: Number(counts[op]) }));
    const steps = Array.isArray(summary?.steps) ? summary.steps : [];
    const rank = (op) => (OPS.includes(op) ? OPS.indexOf(op) : OPS.length);
    const stepRows = steps
        .map((step) => {
            const op = String(step.op ?? "");
            const drift = step.drift === true;
            const urn = String(step.urn ?? "");
            return { op, drift, label: drift ? `${op} (drift)` : op, key: drift ? `drift ${urn}` : urn, type: String(step.type ?? ""), name: resourceName(step.urn), urn, changes: diffLines(step) };
        })
        .sort((a, b) => Number(b.drift) - Number(a.drift) || rank(a.op) - rank(b.op) || a.op.localeCompare(b.op) || a.name.localeCompare(b.name));
    return { countRows, stepRows };
}

const DIFF_MARK = { add: "+", delete: "-", update: "~", replace: "+-" };
const valueText = (v) => (typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v) ?? "undefined");

/**
 * A step's changed properties as `pulumi preview --diff` prints them, one line each:
 * `~ content: "v1" => "v2"`, `+ tags.Env: "prod"`, `- port: 80`, `+- identifier: ... (forces replacement)`.
 * A replacement's reasons come first.
 */
export function diffLines(step) {
    const diffs = Array.isArray(step?.diffs) ? step.diffs : [];
    const reasons = Array.isArray(step?.replaceReasons) ? step.replaceReasons : [];
    const lines = [];
    if (reasons.length) lines.push({ kind: "replace", text: `replaced because ${reasons.join(", ")} changed` });
    for (const d of diffs) {
        const mark = DIFF_MARK[d.kind] ?? "~";
        const value = d.kind === "add" ? valueText(d.new) : d.kind === "delete" ? valueText(d.old) : `${valueText(d.old)} => ${valueText(d.new)}`;
        lines.push({ kind: d.kind, text: `${mark} ${d.path}: ${value}${d.kind === "replace" ? " (forces replacement)" : ""}` });
    }
    return lines;
}

/** The drift badge of a stack: text and tone, or undefined when no refresh has checked it. */
export function driftBadge(stack) {
    const drift = stack?.drift;
    if (!drift) return undefined;
    if (!drift.drifted) return { text: "no drift", tone: "ok" };
    return { text: `drift: ${drift.drifted} resource${drift.drifted === 1 ? "" : "s"}${drift.mode === "apply" ? " (state refreshed)" : ""}`, tone: drift.mode === "apply" ? "neutral" : "bad" };
}

/**
 * What the service does on its own on a stack, one line each: its schedules (next run, last
 * result) and the stacks it follows, with a warning where its program's StackReferences and
 * its dependsOn disagree. Tones: "neutral", "bad" (a refused run, drift found, a mismatch).
 */
export function automationLines(stack) {
    const lines = [];
    const last = (run) => {
        if (!run) return "not run yet";
        if (run.note) return `last refused: ${run.note}`;
        const drifted = Array.isArray(run.drifted) ? (run.drifted.length ? `, ${run.drifted.length} drifted` : ", no drift") : "";
        return `last ${formatTime(run.at)}: ${run.state ?? "sent"}${drifted}`;
    };
    const tone = (run) => (run?.note || run?.drifted?.length ? "bad" : "neutral");
    const check = stack?.schedules?.driftCheck;
    if (check) lines.push({ tone: tone(check.last), text: `Drift check ${check.cron} UTC${check.remediate ? " (remediated)" : ""}; next ${formatTime(check.nextRun)}; ${last(check.last)}` });
    const destroy = stack?.schedules?.destroy;
    if (destroy) {
        const next = destroy.nextRun ? `destroy due ${formatTime(destroy.nextRun)}` : "nothing to destroy";
        lines.push({ tone: destroy.last?.note ? "bad" : "neutral", text: `Ephemeral: destroyed ${destroy.ttlMinutes} min after its last update; ${next}${destroy.last ? `; ${last(destroy.last)}` : ""}` });
    }
    const deps = stack?.dependencies;
    if (deps?.dependsOn?.length) lines.push({ tone: "neutral", text: `Follows ${deps.dependsOn.map((d) => `${d.stack} (${d.run}${d.outputs ? ` on ${d.outputs.join(", ")}` : ""})`).join(", ")}` });
    for (const w of deps?.warnings ?? []) lines.push({ tone: "bad", text: w });
    return lines;
}

/** The query string of the job list for the chosen filters; empty filters are left out. */
export function jobsQuery({ stack, state } = {}) {
    const params = new URLSearchParams();
    if (stack) params.set("stack", stack);
    if (state) params.set("state", state);
    const text = params.toString();
    return text ? `?${text}` : "";
}

/** A compact local time for a timestamp, or a dash when there is none. */
export function formatTime(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "—";
    return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** "just now", "5 min ago", "3 h ago", "2 days ago": how long ago `iso` was, for lists (the exact time goes in a title). */
export function relativeTime(iso, now = Date.now()) {
    if (!iso) return "—";
    const t = new Date(iso).getTime();
    if (Number.isNaN(t)) return "—";
    const s = Math.round((now - t) / 1000);
    if (s < 45) return "just now";
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86400) return `${Math.round(s / 3600)} h ago`;
    const days = Math.round(s / 86400);
    return `${days} day${days === 1 ? "" : "s"} ago`;
}

/** Whether `me` already decided on the preview (then the page offers no second vote). */
export function myDecision(record, me, operation = "update") {
    const mine = (Array.isArray(record?.approvals) ? record.approvals : []).filter((a) => me && a.by === me && (a.operation ?? "update") === operation);
    return mine.length ? mine[mine.length - 1] : undefined;
}

/** Elapsed seconds between two timestamps (to now when the job is still running). */
export function durationText(startIso, endIso, now = Date.now()) {
    if (!startIso) return "—";
    const start = new Date(startIso).getTime();
    const end = endIso ? new Date(endIso).getTime() : now;
    if (Number.isNaN(start) || Number.isNaN(end)) return "—";
    return `${Math.max(0, (end - start) / 1000).toFixed(1)} s`;
}

// The engine's messages carry ANSI colours and Pulumi's own colour tags (`<{%reset%}>`).
const COLOUR_CODES = /\u001b\[[0-9;]*[A-Za-z]|<\{%[^%]*%\}>/g;

/** Removes terminal colour codes and Pulumi colour tags from an engine message. */
export function stripColour(text) {
    return String(text ?? "").replace(COLOUR_CODES, "");
}

/**
 * The log lines one streamed event contributes: the engine's own output and diagnostics,
 * each resource step, policy findings and the job's state changes. The text is untrusted
 * (program output) and is only ever rendered as text.
 *
 * @param {{ type: string, data: unknown }} stored the event's JSON payload as the service streams it
 * @returns {Array<{ kind: string, text: string }>}
 */
export function logLinesFromEvent(stored, steps = new Map()) {
    const type = stored?.type;
    const data = stored?.data && typeof stored.data === "object" ? stored.data : {};
    const body = data[type] && typeof data[type] === "object" ? data[type] : data;
    const lines = (kind, text) =>
        stripColour(text)
            .split(/\r?\n/)
            .filter((line) => line.trim() !== "")
            .map((line) => ({ kind, text: line }));
    switch (type) {
        case "stdoutEvent":
            return lines("output", body.message);
        case "diagnosticEvent":
            // Debug diagnostics (provider source, RPC traces) are what `pulumi -v` would add.
            if (body.ephemeral || body.severity === "debug") return [];
            return lines(body.severity === "error" ? "error" : "output", `${body.severity ? `${body.severity}: ` : ""}${body.message ?? ""}`);
        case "resourcePreEvent": {
            const m = body.metadata ?? {};
            if (!m.op || m.op === "same") return [];
            // Remembered to say how long the step took when it completes.
            if (m.urn && stored.at) steps.set(m.urn, Date.parse(stored.at));
            return [{ kind: "step", text: `${m.op} ${m.type ?? ""} ${resourceName(m.urn)}`.replace(/\s+/g, " ").trim() }];
        }
        case "resOutputsEvent": {
            const m = body.metadata ?? {};
            const started = steps.get(m.urn);
            if (started === undefined || !m.op || m.op === "same") return [];
            steps.delete(m.urn);
            const took = stored.at ? (Date.parse(stored.at) - started) / 1000 : NaN;
            return [{ kind: "step", text: `done: ${m.op} ${resourceName(m.urn)}${Number.isFinite(took) ? ` (${took.toFixed(1)} s)` : ""}` }];
        }
        case "resOpFailedEvent":
            return [{ kind: "error", text: `failed ${body.metadata?.op ?? ""} ${resourceName(body.metadata?.urn)}`.replace(/\s+/g, " ").trim() }];
        case "policyEvent":
            return lines("error", `policy ${body.policyPackName ?? ""}/${body.policyName ?? ""} (${body.enforcementLevel ?? ""}): ${body.message ?? ""}`);
        case "summaryEvent": {
            const changes = Object.entries(body.resourceChanges ?? {}).map(([op, n]) => `${op} ${n}`);
            return [{ kind: "state", text: `summary: ${changes.length ? changes.join(", ") : "no changes"}` }];
        }
        case "state": {
            const error = data.error?.message ? ` — ${data.error.message}` : "";
            return [{ kind: "state", text: `job ${stateLabel(data.state).text.toLowerCase()}${error}` }];
        }
        case "cancelRequested":
            return [{ kind: "state", text: `cancel requested by ${data.by ?? "someone"}` }];
        case "forceKill":
            return [{ kind: "error", text: data.early ? `force-cancelled by ${data.by ?? "someone"}: its process was killed` : "the job did not stop in time; its process was killed" }];
        default:
            return [];
    }
}

/** True for the streamed event that ends a job's stream: its final state. */
export function isFinalEvent(stored) {
    return stored?.type === "state" && isTerminal(stored?.data?.state);
}

/**
 * What the approval panel says about a preview for one operation (`update` or `destroy`), from
 * `GET /v1/jobs/{id}/approvals`: whether the stack's policy wants approvals for it at all, the
 * decisions so far, and whether deciding still makes sense (not superseded by a newer preview,
 * not rejected, not stale: a preview whose stack changed since can never be applied).
 *
 * @returns {{ needed: boolean, open: boolean, satisfied: boolean, text: string, decisions: string[] }}
 */
export function approvalSummary(record, operation = "update") {
    const status = record?.[operation];
    const required = Number(status?.required ?? 0);
    const approvals = Array.isArray(record?.approvals) ? record.approvals : [];
    const decisions = approvals
        .filter((a) => (a.operation ?? "update") === operation)
        .map((a) => `${a.decision === "reject" ? "Rejected" : "Approved"} by ${a.by}${a.comment ? `: ${a.comment}` : ""} (${formatTime(a.at)})`);
    const destroy = operation === "destroy";
    if (!(required > 0)) return { needed: false, open: false, satisfied: true, text: `The stack's policy needs no approval for ${destroy ? "a destroy" : "an update"}.`, decisions };
    const approvedBy = Array.isArray(status.approvedBy) ? status.approvedBy : [];
    const rejectedBy = Array.isArray(status.rejectedBy) ? status.rejectedBy : [];
    if (record.appliedBy) {
        const applied = `Applied by job ${record.appliedBy.jobId}${record.appliedBy.finishedAt ? ` (${formatTime(record.appliedBy.finishedAt)})` : ""}: this approval is used up; preview again to change the stack.`;
        return { needed: true, open: false, satisfied: false, text: applied, decisions };
    }
    let text;
    if (rejectedBy.length) text = destroy ? `Destroy rejected by ${rejectedBy.join(", ")}: the stack cannot be destroyed from this preview.` : `Rejected by ${rejectedBy.join(", ")}: the update cannot run from this preview.`;
    else if (status.satisfied) text = destroy ? `Destroy approved (${approvedBy.length} of ${required}) by ${approvedBy.join(", ")}: an admin may destroy the stack with this preview.` : `Approved (${approvedBy.length} of ${required}) by ${approvedBy.join(", ")}: the update may run from this preview.`;
    else text = `${destroy ? "Destroy waiting" : "Waiting"} for approval: ${approvedBy.length} of ${required}${approvedBy.length ? ` (${approvedBy.join(", ")})` : ""}.`;
    if (record.latest === false) text += " A newer preview of the stack supersedes this one.";
    const stale = record.staleness?.stale === true;
    return { needed: true, open: record.latest !== false && rejectedBy.length === 0 && !stale, satisfied: status.satisfied === true && record.latest !== false && !stale, text, decisions };
}

/**
 * Whether the stack is still what the preview saw, as the approvals answer says it (only for the
 * latest, unapplied preview): a stale preview is marked before anyone approves it.
 *
 * @returns {{ tone: "ok" | "bad" | "neutral", text: string } | undefined}
 */
export function stalenessNote(record) {
    const s = record?.staleness;
    if (!s || typeof s !== "object") return undefined;
    if (s.stale === true) {
        const what = (Array.isArray(s.changes) ? s.changes : []).map((c) => c.message).join("; ");
        return { tone: "bad", text: `Stale: ${what || "the stack changed"} since this preview ran. Neither an update nor a destroy can apply it (PLAN_STALE): run a new preview.` };
    }
    if (s.stale === false) return { tone: "ok", text: `Current: the stack's state, program and config are as this preview saw them (checked ${formatTime(s.checkedAt)}).` };
    return { tone: "neutral", text: `Could not check whether the stack changed since this preview: ${s.error ?? "no answer"}.` };
}

/**
 * What the destroy dialog says a destroy of `stack` deletes and applies, from the approvals answer
 * of its latest preview (`record`, undefined without one): the resources in its state as that
 * preview saw them, whether that is still the state, and, where the policy wants approvals for a
 * destroy, the preview it applies or why it cannot run yet (`blocked`).
 *
 * @returns {{ resources: string[], note: string, previewId?: string, blocked?: string }}
 */
export function destroyPlan(stack, record) {
    if (!record) return { resources: [], note: `No succeeded preview of ${stack} lists its resources: preview it to see what a destroy deletes.` };
    const short = String(record.previewId ?? "").slice(0, 8);
    const resources = Array.isArray(record.resources) ? record.resources.map((r) => `${resourceName(r.urn) || r.urn} (${r.type})`) : [];
    let note;
    if (!Array.isArray(record.resources)) note = `The events of preview ${short} are no longer kept: preview ${stack} again to list its resources.`;
    else if (record.staleness?.stale === true) note = `As preview ${short} saw them; the stack changed since (${(record.staleness.changes ?? []).map((c) => c.message).join("; ")}): preview again for a current list.`;
    else if (record.staleness?.stale === false) note = resources.length ? `As preview ${short} saw them; the stack is unchanged since.` : `Preview ${short} saw no resources in ${stack}'s state.`;
    else note = `As preview ${short} saw them.`;
    const status = record.destroy;
    if (!(Number(status?.required ?? 0) > 0)) return { resources, note };
    const summary = approvalSummary(record, "destroy");
    if (summary.satisfied && !record.appliedBy) return { resources, note: `${note} The destroy applies preview ${short}, approved for destroy by ${status.approvedBy.join(", ")}.`, previewId: record.previewId };
    return { resources, note, blocked: `A destroy of ${stack} needs ${status.required} approval(s) of its latest preview, current and unused: ${summary.text}${record.staleness?.stale ? " The preview is stale." : ""} Preview ${stack}, have the preview approved for destroy, then destroy from it.` };
}

/** The query string of an audit page (`GET /v1/audit`) for the chosen filters; empty ones are left out. */
export function auditQuery({ after, limit, stack, action } = {}) {
    const params = new URLSearchParams();
    if (Number(after) > 0) params.set("after", String(Math.floor(Number(after))));
    if (Number(limit) > 0) params.set("limit", String(Math.floor(Number(limit))));
    if (stack) params.set("stack", stack);
    if (action) params.set("action", action.trim());
    const text = params.toString();
    return text ? `?${text}` : "";
}

/** What the page says about the audit chain's verification: intact, or where it breaks. */
export function verificationText(v) {
    if (!v || typeof v !== "object") return { tone: "neutral", text: "The chain was not verified." };
    if (v.ok) return { tone: "ok", text: `Chain verified: all ${v.entries} entries are intact and linked.` };
    const bad = v.firstBad ?? {};
    return { tone: "bad", text: `Chain broken at line ${bad.line ?? "?"}${bad.seq !== undefined ? ` (entry ${bad.seq})` : ""}: ${bad.reason ?? "unknown reason"}. Entries from there on cannot be trusted.` };
}

/** One audit entry as table cells: who with how, and the details as compact JSON. */
export function auditRow(e) {
    const actor = e?.actor ?? {};
    return {
        seq: Number(e?.seq ?? 0),
        at: String(e?.at ?? ""),
        who: `${actor.name ?? "?"} (${[actor.role, actor.via].filter(Boolean).join(", ")})`,
        action: String(e?.action ?? ""),
        stack: String(e?.stack ?? ""),
        result: String(e?.result ?? ""),
        from: String(e?.from ?? ""),
        jobId: typeof e?.jobId === "string" ? e.jobId : undefined,
        previewId: typeof e?.previewId === "string" ? e.previewId : undefined,
        details: e?.details && Object.keys(e.details).length ? JSON.stringify(e.details) : "",
    };
}

/** A notification delivery's outcome in words: its state, attempts, and the receiver's last answer. */
export function deliveryText(d) {
    const answer = d?.lastStatus ? `HTTP ${d.lastStatus}` : d?.lastError ? String(d.lastError) : "";
    const attempts = `${d?.attempts ?? 0} attempt${d?.attempts === 1 ? "" : "s"}`;
    const state = d?.status === "delivered" ? "Delivered" : d?.status === "failed" ? "Failed" : "Pending";
    return `${state} after ${attempts}${answer ? `; last answer ${answer}` : ""}`;
}

/**
 * Reads the job's stored CLI output page by page from `cursor`, stopping at a short page (the
 * end for now) or after `maxPages` so a huge log cannot freeze the tab; the caller continues
 * from the returned cursor.
 *
 * @param {(cursor: number) => Promise<{ lines: Array<{ text: string }>, nextCursor: number }>} fetchPage
 * @returns {Promise<{ lines: string[], cursor: number, more: boolean }>}
 */
export async function collectLogPages(fetchPage, cursor = 0, { pageSize = 200, maxPages = 10 } = {}) {
    const lines = [];
    for (let page = 0; page < maxPages; page++) {
        const result = await fetchPage(cursor);
        const got = Array.isArray(result?.lines) ? result.lines : [];
        for (const line of got) lines.push(stripColour(line.text));
        const next = Number(result?.nextCursor ?? cursor);
        if (got.length < pageSize || next <= cursor) return { lines, cursor: next, more: false };
        cursor = next;
    }
    return { lines, cursor, more: true };
}
