// The dashboard: plain DOM code over the /v1 API. Every piece of data reaches the page through
// textContent (never innerHTML): stack names, job fields and above all the log are untrusted.
import {
    ApiError,
    approvalSummary,
    collectLogPages,
    automationLines,
    driftBadge,
    durationText,
    eventPayload,
    formatTime,
    myDecision,
    relativeTime,
    isFinalEvent,
    isTerminal,
    jobsQuery,
    logLinesFromEvent,
    permissions,
    readEventStream,
    stackStates,
    stateLabel,
    summaryTable,
} from "./lib.mjs";

// sessionStorage, not localStorage: the token leaves with the tab.
const TOKEN_KEY = "todobackend.dashboard.token";
const POLL_MS = 2000;

const $ = (id) => document.getElementById(id);

const view = {
    token: sessionStorage.getItem(TOKEN_KEY) ?? "",
    me: undefined,
    stacks: [],
    jobId: undefined,
    job: undefined,
    stream: undefined,
    pollTimer: undefined,
    jobRefresh: undefined,
    outputCursor: 0,
    /** URNs whose change list the reader opened. */
    openDiffs: new Set(),
};

/** Creates an element whose text is set with textContent; attributes are plain strings. */
function el(tag, { text, className, attrs } = {}, children = []) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, String(value));
    for (const child of children) if (child) node.append(child);
    return node;
}

/** A time as "5 min ago", the exact time (UTC) and its local form in the element's title and datetime. */
function timeNode(iso) {
    const local = iso ? new Date(iso).toLocaleString() : "";
    return el("time", { text: relativeTime(iso), attrs: iso ? { datetime: iso, title: `${formatTime(iso)} (${local})` } : {} });
}

function stateBadge(state) {
    const { text, tone } = stateLabel(state);
    return el("span", { text, className: `state ${tone}` });
}

function showMessage(text, kind = "error") {
    const box = $("message");
    box.textContent = text;
    box.className = kind === "info" ? "message info" : "message";
    box.setAttribute("role", kind === "info" ? "status" : "alert");
    box.hidden = false;
}

function clearMessage() {
    $("message").hidden = true;
    $("message").textContent = "";
}

async function api(path, { method = "GET", body } = {}) {
    const headers = { accept: "application/json", authorization: `Bearer ${view.token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    let data;
    try {
        data = text ? JSON.parse(text) : undefined;
    } catch {
        data = text;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
}

/** Runs a user action and shows the API's refusal (its own message) instead of failing silently. */
async function act(label, action) {
    try {
        return await action();
    } catch (err) {
        showMessage(err instanceof ApiError ? `${label} refused — ${err.message}` : `${label} failed: ${err.message ?? err}`);
        return undefined;
    }
}

// ---- sign-in -------------------------------------------------------------------------------

async function signIn() {
    if (!view.token) {
        view.me = undefined;
        $("whoami").textContent = "Not signed in.";
        $("content").hidden = true;
        return;
    }
    try {
        view.me = await api("/v1/whoami");
        $("whoami").textContent = `Signed in as ${view.me.name} (${view.me.role}).`;
        $("content").hidden = false;
        clearMessage();
        await refresh();
        schedulePoll();
        openFromHash();
    } catch (err) {
        // A refused token is forgotten; an unreachable service keeps it for the next try.
        if (err instanceof ApiError && err.status === 401) return signOut(`The service refused the token — ${err.message}`);
        view.me = undefined;
        $("content").hidden = true;
        $("whoami").textContent = "Not signed in.";
        showMessage(err instanceof ApiError ? err.message : `The service cannot be reached: ${err.message ?? err}`);
    }
}

function can(action) {
    return permissions(view.me?.role)[action];
}

$("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    view.token = $("token").value.trim();
    $("token").value = "";
    sessionStorage.setItem(TOKEN_KEY, view.token);
    void signIn();
});

$("forget-token").addEventListener("click", () => signOut());

// ---- stacks and jobs -----------------------------------------------------------------------

function schedulePoll() {
    clearTimeout(view.pollTimer);
    view.pollTimer = setTimeout(async () => {
        if (!document.hidden && view.me) {
            try {
                await refresh();
            } catch (err) {
                // A revoked or rotated token: say so and sign out rather than show stale data.
                if (err instanceof ApiError && err.status === 401) return signOut(`Your token is no longer accepted — ${err.message}`);
            }
        }
        if (view.me) schedulePoll();
    }, POLL_MS);
}

function signOut(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    view.token = "";
    view.me = undefined;
    view.jobId = undefined;
    stopStream();
    clearTimeout(view.pollTimer);
    $("content").hidden = true;
    $("whoami").textContent = "Not signed in.";
    if (reason) showMessage(reason);
    else clearMessage();
}

async function refresh() {
    const [stacks, jobs] = await Promise.all([api("/v1/stacks"), api(`/v1/jobs${jobsQuery({ stack: $("filter-stack").value, state: $("filter-state").value })}`)]);
    view.stacks = stacks.stacks ?? [];
    renderStacks(view.stacks);
    renderStackFilter(view.stacks);
    renderJobs(jobs.jobs ?? []);
}

/**
 * Asks before an action a person should not take by accident. With `typed`, the confirm button
 * stays disabled until that text (the stack's name) is typed. Resolves true when confirmed.
 */
function confirmAction({ title, text, okLabel, typed }) {
    const dialog = $("confirm-dialog");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    const input = $("confirm-typed");
    $("confirm-typed-field").hidden = typed === undefined;
    input.value = "";
    $("confirm-ok").disabled = typed !== undefined;
    input.oninput = () => {
        $("confirm-ok").disabled = input.value !== typed;
    };
    return new Promise((resolve) => {
        dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
        dialog.returnValue = "";
        dialog.showModal();
        (typed !== undefined ? input : $("confirm-ok")).focus();
    });
}

/** What to ask before `op` on `stack`, or undefined when it needs no confirmation. */
function confirmationOf(stack, op) {
    if (op === "updates") {
        return { title: `Update ${stack} without a reviewed preview?`, okLabel: "Update anyway",
            text: `Nobody has seen what this update will change. To review it first, preview ${stack} and update from that preview.` };
    }
    if (op === "destroys") {
        return { title: `Destroy ${stack}?`, okLabel: `Destroy ${stack}`, typed: stack,
            text: `Every resource of ${stack} will be deleted. This cannot be undone.` };
    }
    return undefined;
}

function startButton(stack, op, label, body = {}) {
    const button = el("button", { text: label, attrs: { type: "button", "aria-label": `${label} ${stack}`, "data-op": op } });
    button.addEventListener("click", async () => {
        const question = confirmationOf(stack, op);
        if (question && !(await confirmAction(question))) return;
        if (op === "destroys") body = { ...body, confirm: stack };
        button.disabled = true;
        const job = await act(`${label} of ${stack}`, () => api(`/v1/stacks/${encodeURIComponent(stack)}/${op}`, { method: "POST", body }));
        button.disabled = false;
        if (job) {
            clearMessage();
            location.hash = `#/jobs/${job.id}`;
            await refresh().catch(() => undefined);
        }
    });
    return button;
}

function openJobButton(id, text) {
    // The accessible name starts with the visible text (WCAG "label in name"), then says which job.
    const button = el("button", { text, className: "link", attrs: { type: "button", "aria-label": `${text}, job ${id}` } });
    button.addEventListener("click", () => {
        location.hash = `#/jobs/${id}`;
    });
    return button;
}

function renderStacks(stacks) {
    const body = $("stacks").tBodies[0];
    const rows = stacks.map((stack) => {
        const last = stack.lastJob
            ? el("span", {}, [openJobButton(stack.lastJob.id, stack.lastJob.op), document.createTextNode(" "), stateBadge(stack.lastJob.state), document.createTextNode(" "), timeNode(stack.lastJob.finishedAt ?? stack.lastJob.createdAt)])
            : el("span", { text: "none yet" });
        const actions = el("div", { className: "actions" }, [
            can("preview") && startButton(stack.name, "previews", "Preview"),
            can("refresh") && startButton(stack.name, "refreshes", "Refresh"),
            can("update") && startButton(stack.name, "updates", "Update"),
            can("destroy") && startButton(stack.name, "destroys", "Destroy"),
        ]);
        if (!actions.childElementCount) actions.append(el("span", { text: "read-only" }));
        return el("tr", { attrs: { "data-stack": stack.name } }, [
            el("th", { attrs: { scope: "row" } }, [document.createTextNode(stack.name), ...stackDetails(stack)]),
            el("td", {}, [...stackStates(stack).flatMap((state, i) => (i ? [document.createTextNode(" "), stateBadge(state)] : [stateBadge(state)])),
                ...driftNodes(stack)]),
            el("td", { text: stack.queued ?? 0 }),
            el("td", {}, [last]),
            el("td", {}, [actions]),
        ]);
    });
    body.replaceChildren(...rows);
}

/** Who may do what on the stack, in words, and its outputs (secrets arrive masked). */
function stackDetails(stack) {
    const nodes = [];
    if (stack.policy) nodes.push(el("div", { className: "stack-policy", text: stack.policy }));
    for (const line of automationLines(stack)) nodes.push(el("div", { className: `stack-automation ${line.tone}`, text: line.text }));
    const outputs = Object.entries(stack.outputs ?? {});
    if (outputs.length) {
        nodes.push(el("details", { className: "stack-outputs" }, [
            el("summary", { text: `Outputs (${outputs.length})` }),
            el("dl", {}, outputs.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: typeof v === "string" ? v : JSON.stringify(v) })])),
        ]));
    }
    return nodes;
}

/** The stack's drift badge, linked to the refresh that found it, and an "apply refresh" for operators. */
function driftNodes(stack) {
    const badge = driftBadge(stack);
    if (!badge) return [];
    const nodes = [document.createTextNode(" "), el("span", { className: `state ${badge.tone} drift`, text: badge.text, attrs: { title: (stack.drift.resources ?? []).map((r) => `${r.urn}: ${r.properties.join(", ")}`).join("\n") } })];
    if (stack.drift.drifted && stack.drift.mode === "preview" && can("refresh")) {
        nodes.push(document.createTextNode(" "), startButton(stack.name, "refreshes", "Apply refresh", { mode: "apply" }));
    }
    return nodes;
}

function renderStackFilter(stacks) {
    const select = $("filter-stack");
    const chosen = select.value;
    const options = [el("option", { text: "All stacks", attrs: { value: "" } }), ...stacks.map((s) => el("option", { text: s.name, attrs: { value: s.name } }))];
    select.replaceChildren(...options);
    select.value = stacks.some((s) => s.name === chosen) ? chosen : "";
}

function renderJobs(jobs) {
    const rows = jobs.map((job) =>
        el("tr", { attrs: { "data-job": job.id, "aria-current": job.id === view.jobId ? "true" : "false" } }, [
            el("td", {}, [openJobButton(job.id, job.id.slice(0, 8))]),
            el("td", { text: job.stack }),
            el("td", { text: job.op }),
            el("td", {}, [stateBadge(job.state)]),
            el("td", { text: job.triggeredBy ?? "" }),
            el("td", {}, [timeNode(job.createdAt)]),
            el("td", { text: durationText(job.startedAt, job.finishedAt) }),
        ]),
    );
    $("jobs").tBodies[0].replaceChildren(...rows);
    $("jobs-empty").hidden = jobs.length > 0;
}

$("jobs-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    void act("Filtering jobs", refresh);
});

// ---- one job -------------------------------------------------------------------------------

function openFromHash() {
    const match = /^#\/jobs\/([A-Za-z0-9_-]+)$/.exec(location.hash);
    if (!match || !view.me) return;
    if (match[1] !== view.jobId) void openJob(match[1]);
}

window.addEventListener("hashchange", openFromHash);

function stopStream() {
    view.stream?.abort();
    view.stream = undefined;
    clearTimeout(view.jobRefresh);
}

async function openJob(id) {
    stopStream();
    view.jobId = id;
    view.job = undefined;
    $("log").replaceChildren();
    $("approval").hidden = true;
    view.outputCursor = 0;
    $("cli-log").replaceChildren();
    $("cli-output").open = false;
    const job = await act("Opening the job", () => api(`/v1/jobs/${encodeURIComponent(id)}`));
    if (!job || view.jobId !== id) return;
    $("job").hidden = false;
    renderJob(job);
    for (const row of $("jobs").tBodies[0].rows) row.setAttribute("aria-current", row.dataset.job === id ? "true" : "false");
    $("job-heading").focus?.();
    streamJob(id);
}

async function reloadJob() {
    const id = view.jobId;
    if (!id) return;
    const job = await api(`/v1/jobs/${encodeURIComponent(id)}`).catch(() => undefined);
    if (job && view.jobId === id) renderJob(job);
}

/** Re-reads the job at most every second while events arrive, for the summary table. */
function scheduleJobReload() {
    if (view.jobRefresh) return;
    view.jobRefresh = setTimeout(() => {
        view.jobRefresh = undefined;
        void reloadJob();
    }, 1000);
}

function renderJob(job) {
    view.job = job;
    $("job-heading").textContent = `${job.op[0].toUpperCase()}${job.op.slice(1)} of ${job.stack}`;
    const meta = [
        ["Job", job.id],
        ["State", stateBadge(job.state)],
        ["Triggered by", job.triggeredBy],
        ["Created", formatTime(job.createdAt)],
        ["Started", formatTime(job.startedAt)],
        ["Finished", formatTime(job.finishedAt)],
        ["Duration", durationText(job.startedAt, job.finishedAt)],
    ];
    // The preview an update applies is one click away: what was reviewed, and who approved it.
    if (job.options?.previewId) meta.push(["From preview", openJobButton(job.options.previewId, job.options.previewId.slice(0, 8))]);
    if (job.options?.message) meta.push(["Message", job.options.message]);
    if (job.summary?.stopReason) meta.push(["Stopped because", job.summary.stopReason]);
    if (job.error) meta.push(["Error", `${job.error.code}: ${job.error.message}`]);
    $("job-meta").replaceChildren(
        ...meta.flatMap(([term, value]) => [el("dt", { text: term }), typeof value === "string" || value === undefined ? el("dd", { text: value ?? "—" }) : el("dd", {}, [value])]),
    );
    $("job").dataset.state = job.state;

    const cancel = $("cancel-job");
    cancel.hidden = !can("cancel") || isTerminal(job.state) || job.state === "cancelling";
    // While a cancel is waiting for the engine, a stuck job can be killed at once.
    $("force-cancel-job").hidden = !can("forceCancel") || job.state !== "cancelling";

    const update = $("update-from-preview");
    update.hidden = !(job.op === "preview" && job.state === "succeeded" && can("update"));

    renderSummary(job.summary);
    void renderApproval(job);
}

/** A step's changes, collapsible; stays open across the re-renders a running job causes. */
function diffDetails(row) {
    const details = el("details", { className: "diff" }, [
        el("summary", { text: `${row.changes.length} change${row.changes.length === 1 ? "" : "s"}` }),
        el("ul", {}, row.changes.map((c) => el("li", { className: `diff-${c.kind}`, text: c.text }))),
    ]);
    details.open = view.openDiffs.has(row.urn);
    details.addEventListener("toggle", () => {
        if (details.open) view.openDiffs.add(row.urn);
        else view.openDiffs.delete(row.urn);
    });
    return details;
}

function renderSummary(summary) {
    const { countRows, stepRows } = summaryTable(summary);
    $("summary-counts").tBodies[0].replaceChildren(...countRows.map((r) => el("tr", {}, [el("td", { text: r.op }), el("td", { text: r.count })])));
    $("summary-steps").tBodies[0].replaceChildren(
        ...stepRows.map((r) => el("tr", { attrs: { title: r.urn } }, [el("td", { text: r.op }), el("td", { text: r.name }), el("td", { text: r.type }),
            el("td", {}, r.changes.length ? [diffDetails(r)] : [])])),
    );
    $("summary-counts").hidden = countRows.length === 0;
    $("summary-steps").hidden = stepRows.length === 0;
    $("summary-empty").hidden = countRows.length + stepRows.length > 0;
    const violations = Array.isArray(summary?.policyViolations) ? summary.policyViolations : [];
    $("policy-violations").hidden = violations.length === 0;
    $("policy-violations").querySelector("ul").replaceChildren(
        ...violations.map((v) => el("li", { text: `${v.policyPack}/${v.policyName} (${v.enforcementLevel}): ${v.message}` })),
    );
}

async function renderApproval(job) {
    const panel = $("approval");
    if (job.op !== "preview" || job.state !== "succeeded") {
        panel.hidden = true;
        return;
    }
    // The approvals route belongs to the safety layer; a service without it has no panel.
    let record;
    try {
        record = await api(`/v1/jobs/${encodeURIComponent(job.id)}/approvals`);
    } catch {
        record = undefined;
    }
    if (view.jobId !== job.id) return;
    const summary = approvalSummary(record);
    panel.hidden = !summary.needed;
    if (!summary.needed) return;
    $("approval-status").textContent = summary.text;
    $("approval-list").replaceChildren(...summary.decisions.map((text) => el("li", { text })));
    // Only roles that can approve see the form; the service still checks self-approval etc.
    // Whoever has voted sees their vote, not the buttons again.
    const mine = myDecision(record, view.me?.name);
    $("approval-form").hidden = !can("approve") || mine !== undefined;
    $("my-decision").hidden = mine === undefined;
    $("my-decision").textContent = mine ? `You ${mine.decision === "reject" ? "rejected" : "approved"} this preview${mine.at ? ` (${formatTime(mine.at)})` : ""}.` : "";
    $("approve").disabled = !summary.open;
    $("reject").disabled = !summary.open;
}

async function decide(decision) {
    const job = view.job;
    if (!job) return;
    const comment = $("approval-comment").value.trim();
    const label = decision === "approve" ? "Approval" : "Rejection";
    const result = await act(label, () => api(`/v1/jobs/${encodeURIComponent(job.id)}/approvals`, { method: "POST", body: comment ? { decision, comment } : { decision } }));
    if (result) {
        $("approval-comment").value = "";
        showMessage(`${label} recorded for preview ${job.id}.`, "info");
        await reloadJob();
    }
}

$("approve").addEventListener("click", () => void decide("approve"));
$("reject").addEventListener("click", () => void decide("reject"));

$("force-cancel-job").addEventListener("click", async () => {
    const job = view.job;
    if (!job) return;
    const url = `/v1/jobs/${encodeURIComponent(job.id)}/cancel`;
    // What the kill would cut off, as the API says it, before anyone confirms it.
    const dry = await act("Force cancel", () => api(url, { method: "POST", body: { force: true, dryRun: true } }));
    if (!dry) return;
    const ok = await confirmAction({ title: `Kill the ${job.op} of ${job.stack} now?`, text: dry.leavesBehind?.message ?? "", okLabel: "Kill now" });
    if (!ok) return;
    const result = await act("Force cancel", () => api(url, { method: "POST", body: { force: true } }));
    if (result) renderJob(result);
});

$("cancel-job").addEventListener("click", async () => {
    const job = view.job;
    if (!job) return;
    const result = await act("Cancel", () => api(`/v1/jobs/${encodeURIComponent(job.id)}/cancel`, { method: "POST", body: {} }));
    if (result) renderJob(result);
});

$("update-from-preview").addEventListener("click", async () => {
    const job = view.job;
    if (!job) return;
    const update = await act(`Update of ${job.stack}`, () => api(`/v1/stacks/${encodeURIComponent(job.stack)}/updates`, { method: "POST", body: { previewId: job.id } }));
    if (update) {
        clearMessage();
        location.hash = `#/jobs/${update.id}`;
    }
});

/** Appends the job's stored CLI output from where the last read stopped. */
async function loadOutput() {
    const id = view.jobId;
    if (!id) return;
    const button = $("more-output");
    button.disabled = true;
    const result = await act("Reading the CLI output", () =>
        collectLogPages((cursor) => api(`/v1/jobs/${encodeURIComponent(id)}/log?cursor=${cursor}&limit=200`), view.outputCursor, { pageSize: 200 }),
    );
    button.disabled = false;
    if (!result || view.jobId !== id) return;
    view.outputCursor = result.cursor;
    $("cli-log").append(...result.lines.map((line) => `${line}\n`));
    // Offered only when there is more to read (a running job's output keeps growing: reopen to read on).
    button.hidden = !result.more;
}

$("cli-output").addEventListener("toggle", () => {
    if ($("cli-output").open && view.outputCursor === 0) void loadOutput();
});
$("more-output").addEventListener("click", () => void loadOutput());

function appendLog(lines) {
    const log = $("log");
    const follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    for (const line of lines) log.append(el("span", { text: `${line.text}\n`, className: `line-${line.kind}` }));
    if (follow) log.scrollTop = log.scrollHeight;
}

function streamJob(id) {
    const controller = new AbortController();
    view.stream = controller;
    const status = $("stream-status");
    status.textContent = "Streaming live events…";
    let finalState;
    // When each step began, to show its duration when it completes.
    const steps = new Map();
    readEventStream({
        url: `/v1/jobs/${encodeURIComponent(id)}/events`,
        token: view.token,
        signal: controller.signal,
        onEvent: (event) => {
            if (view.stream !== controller) return;
            const stored = eventPayload(event);
            appendLog(logLinesFromEvent(stored, steps));
            if (stored?.type === "state") finalState = stored.data?.state;
            if (stored?.type === "state" || stored?.type === "summaryEvent") void reloadJob();
            else if (stored?.type === "resourcePreEvent") scheduleJobReload();
        },
        isFinal: (event) => isFinalEvent(eventPayload(event)),
    }).then(
        () => {
            if (view.stream !== controller) return;
            status.textContent = finalState ? `Stream ended: job ${stateLabel(finalState).text.toLowerCase()}.` : "Stream closed.";
            void reloadJob();
            void refresh().catch(() => undefined);
        },
        (err) => {
            if (view.stream !== controller) return;
            status.textContent = `Live log unavailable: ${err?.message ?? err}`;
        },
    );
}

void signIn();
