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
            const response = await fetchImpl(url, { headers, signal });
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
    };
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
    else if (state === "failed" || state === "interrupted" || state === "stopped-by-guard" || state === "needs-repair") tone = "bad";
    return { text, tone };
}

/**
 * The states a stack row shows: what its queue does, and beside it `needs-repair` when crash
 * recovery says so (the service refuses new jobs until an admin repairs it).
 */
export function stackStates(stack) {
    return [stack?.state ?? "unknown", ...(stack?.repair?.needed === true ? ["needs-repair"] : [])];
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
 * operation the engine reported), and one row per resource step sorted by operation and name.
 */
export function summaryTable(summary) {
    const counts = summary?.counts && typeof summary.counts === "object" ? summary.counts : {};
    const order = [...OPS, ...Object.keys(counts).filter((op) => !OPS.includes(op)).sort()];
    const countRows = order.filter((op) => Number(counts[op]) > 0).map((op) => ({ op, count: Number(counts[op]) }));
    const steps = Array.isArray(summary?.steps) ? summary.steps : [];
    const rank = (op) => (OPS.includes(op) ? OPS.indexOf(op) : OPS.length);
    const stepRows = steps
        .map((step) => ({ op: String(step.op ?? ""), type: String(step.type ?? ""), name: resourceName(step.urn), urn: String(step.urn ?? ""), changes: diffLines(step) }))
        .sort((a, b) => rank(a.op) - rank(b.op) || a.op.localeCompare(b.op) || a.name.localeCompare(b.name));
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
export function myDecision(record, me) {
    const mine = (Array.isArray(record?.approvals) ? record.approvals : []).filter((a) => me && a.by === me && (a.operation ?? "update") === "update");
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
 * What the approval panel says about a preview, from `GET /v1/jobs/{id}/approvals`: whether
 * the stack's policy wants approvals for an update at all, the decisions so far, and whether
 * deciding still makes sense (a newer preview supersedes this one).
 *
 * @returns {{ needed: boolean, open: boolean, text: string, decisions: string[] }}
 */
export function approvalSummary(record) {
    const status = record?.update;
    const required = Number(status?.required ?? 0);
    const approvals = Array.isArray(record?.approvals) ? record.approvals : [];
    const decisions = approvals
        .filter((a) => (a.operation ?? "update") === "update")
        .map((a) => `${a.decision === "reject" ? "Rejected" : "Approved"} by ${a.by}${a.comment ? `: ${a.comment}` : ""} (${formatTime(a.at)})`);
    if (!(required > 0)) return { needed: false, open: false, text: "The stack's policy needs no approval for an update.", decisions };
    const approvedBy = Array.isArray(status.approvedBy) ? status.approvedBy : [];
    const rejectedBy = Array.isArray(status.rejectedBy) ? status.rejectedBy : [];
    let text;
    if (record.appliedBy) {
        const applied = `Applied by job ${record.appliedBy.jobId}${record.appliedBy.finishedAt ? ` (${formatTime(record.appliedBy.finishedAt)})` : ""}: this approval is used up; preview again to change the stack.`;
        return { needed: true, open: false, text: applied, decisions };
    }
    if (rejectedBy.length) text = `Rejected by ${rejectedBy.join(", ")}: the update cannot run from this preview.`;
    else if (status.satisfied) text = `Approved (${approvedBy.length} of ${required}) by ${approvedBy.join(", ")}: the update may run from this preview.`;
    else text = `Waiting for approval: ${approvedBy.length} of ${required}${approvedBy.length ? ` (${approvedBy.join(", ")})` : ""}.`;
    if (record.latest === false) text += " A newer preview of the stack supersedes this one.";
    return { needed: true, open: record.latest !== false && rejectedBy.length === 0, text, decisions };
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
