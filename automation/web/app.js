// The dashboard: plain DOM code over the /v1 API. Every piece of data reaches the page through
// textContent (never innerHTML): stack names, job fields and above all the log are untrusted.
import {
    ApiError,
    approvalSummary,
    auditQuery,
    auditRow,
    collectLogPages,
    automationLines,
    deliveryText,
    destroyPlan,
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
    readinessProblems,
    recoveryActions,
    recoveryEffects,
    requestInit,
    signInOptions,
    stackStates,
    stalenessNote,
    stateLabel,
    summaryTable,
    verificationText,
} from "./lib.mjs";

// sessionStorage, not localStorage: the token leaves with the tab.
const TOKEN_KEY = "todobackend.dashboard.token";
const POLL_MS = 2000;
// /readyz reads the plugin cache and probes the store: not on every poll.
const READINESS_MS = 10_000;

const $ = (id) => document.getElementById(id);

const view = {
    token: sessionStorage.getItem(TOKEN_KEY) ?? "",
    /** A session signed in with the identity provider: its CSRF token, in memory only. */
    csrfToken: undefined,
    /** `GET /v1/auth`: how one may sign in. */
    auth: undefined,
    me: undefined,
    stacks: [],
    jobId: undefined,
    job: undefined,
    /** The approvals answer of the open preview. */
    record: undefined,
    stream: undefined,
    pollTimer: undefined,
    jobRefresh: undefined,
    outputCursor: 0,
    /** URNs whose change list the reader opened. */
    openDiffs: new Set(),
    /** Where the next audit page starts, when there is one. */
    auditNext: undefined,
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

/** Sets a text only when it changed, so a live region re-read every poll announces changes only. */
function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
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
    const response = await fetch(path, requestInit({ method, body, token: view.token, csrfToken: view.csrfToken }));
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

const stackPath = (stack) => `/v1/stacks/${encodeURIComponent(stack)}`;
const jobPath = (id) => `/v1/jobs/${encodeURIComponent(id)}`;

// ---- readiness ----------------------------------------------------------------------------

/** Shows the checks /readyz says fail (a missing plugin, an old CLI), signed in or not. */
async function checkReadiness() {
    let report;
    try {
        const response = await fetch("/readyz", { headers: { accept: "application/json" }, credentials: "same-origin" });
        report = await response.json();
    } catch {
        return; // an unreachable service is said by the sign-in or the next action
    }
    const problems = readinessProblems(report);
    $("readiness").hidden = problems.length === 0;
    const key = JSON.stringify(problems);
    if ($("readiness").dataset.shown === key) return;
    $("readiness").dataset.shown = key;
    setText($("readiness-text"), problems.length ? "The service is not ready: jobs may fail until these checks pass." : "");
    $("readiness-checks").replaceChildren(...problems.map((p) => el("li", { text: `${p.name}: ${p.detail}` })));
}

function scheduleReadiness() {
    setTimeout(async () => {
        if (!document.hidden) await checkReadiness();
        scheduleReadiness();
    }, READINESS_MS);
}

// ---- sign-in -------------------------------------------------------------------------------

/** How one signs in, from GET /v1/auth; a service without it offers tokens only. */
async function readAuth() {
    try {
        const response = await fetch("/v1/auth", { headers: { accept: "application/json" }, credentials: "same-origin" });
        return response.ok ? await response.json() : undefined;
    } catch {
        return undefined;
    }
}

function renderLanding() {
    const { oidc } = signInOptions(view.auth);
    $("oidc-sign-in").hidden = !oidc;
    if (oidc) {
        $("oidc-link").textContent = oidc.label;
        $("oidc-link").setAttribute("href", oidc.href);
    }
}

/** The signed-out page: how to sign in or get a token; nothing of the service's data stays. */
function showSignedOut() {
    view.me = undefined;
    view.jobId = undefined;
    view.record = undefined;
    stopStream();
    clearTimeout(view.pollTimer);
    $("content").hidden = true;
    $("job").hidden = true;
    $("landing").hidden = false;
    $("sign-out").hidden = true;
    $("whoami").textContent = "Not signed in.";
}

async function signIn() {
    try {
        view.me = await api("/v1/whoami");
        // A session carries its CSRF token in the answer; a token needs none.
        if (!view.token) view.csrfToken = view.me.csrfToken;
        $("whoami").textContent = `Signed in as ${view.me.name} (${view.me.role}).`;
        $("sign-out").textContent = view.token ? "Forget token" : "Sign out";
        $("sign-out").hidden = false;
        $("landing").hidden = true;
        $("content").hidden = false;
        $("audit").hidden = !can("audit");
        $("notifications").hidden = !can("notifications");
        clearMessage();
        await refresh();
        schedulePoll();
        openFromHash();
    } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
            // A refused token is forgotten; no session cookie is simply the signed-out page.
            if (view.token) return signOut(`The service refused the token — ${err.message}`);
            return showSignedOut();
        }
        showSignedOut();
        showMessage(err instanceof ApiError ? err.message : `The service cannot be reached: ${err.message ?? err}`);
    }
}

function can(action) {
    return permissions(view.me?.role)[action];
}

$("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    view.token = $("token").value.trim();
    view.csrfToken = undefined;
    $("token").value = "";
    sessionStorage.setItem(TOKEN_KEY, view.token);
    void signIn();
});

/**
 * Forgets the token, or ends the session at the service (POST /auth/logout with its CSRF
 * token), and shows the signed-out page with `reason`.
 */
async function signOut(reason, { logout = false } = {}) {
    if (logout && !view.token && view.csrfToken) {
        try {
            const response = await fetch("/auth/logout", requestInit({ method: "POST", csrfToken: view.csrfToken }));
            if (!response.ok && response.status !== 401) reason = `Signing out failed: the service answered HTTP ${response.status}.`;
        } catch (err) {
            reason = `Signing out failed: ${err.message ?? err}`;
        }
    }
    sessionStorage.removeItem(TOKEN_KEY);
    view.token = "";
    view.csrfToken = undefined;
    showSignedOut();
    if (reason) showMessage(reason);
    else clearMessage();
}

$("sign-out").addEventListener("click", () => void signOut(undefined, { logout: true }));

// ---- stacks and jobs -----------------------------------------------------------------------

function schedulePoll() {
    clearTimeout(view.pollTimer);
    view.pollTimer = setTimeout(async () => {
        if (!document.hidden && view.me) {
            try {
                await refresh();
            } catch (err) {
                // A revoked token or an ended session: say so and sign out rather than show stale data.
                if (err instanceof ApiError && err.status === 401) {
                    return signOut(view.token ? `Your token is no longer accepted — ${err.message}` : `Your session has ended — ${err.message}`);
                }
            }
        }
        if (view.me) schedulePoll();
    }, POLL_MS);
}

async function refresh() {
    const [stacks, jobs] = await Promise.all([api("/v1/stacks"), api(`/v1/jobs${jobsQuery({ stack: $("filter-stack").value, state: $("filter-state").value })}`)]);
    view.stacks = stacks.stacks ?? [];
    renderStacks(view.stacks);
    renderStackFilter($("filter-stack"), view.stacks);
    renderStackFilter($("audit-stack"), view.stacks);
    renderJobs(jobs.jobs ?? []);
    // Decisions made elsewhere, and a stack that changed under the open preview, show without a reload.
    if (view.job?.op === "preview" && isTerminal(view.job.state)) await renderApproval(view.job);
}

/**
 * Asks before an action a person should not take by accident, saying what it will do. Options:
 * `list` (with `listIntro`) what it acts on, `note` a remark, `choices` a radio group, `error` a
 * refusal to show (with `override`, the label of a checkbox the OK needs), `typed` a text (the
 * stack's name) the OK waits for. Without `okLabel` the dialog only informs. Resolves
 * `{ ok, choice, override }`.
 */
function openDialog({ title, text, listIntro, list = [], note, choices, error, override, typed, okLabel, cancelLabel = "Cancel" }) {
    const dialog = $("confirm-dialog");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text ?? "";
    $("confirm-list-intro").hidden = !listIntro;
    $("confirm-list-intro").textContent = listIntro ?? "";
    $("confirm-list").hidden = list.length === 0;
    $("confirm-list").replaceChildren(...list.map((item) => el("li", { text: item })));
    $("confirm-note").hidden = !note;
    $("confirm-note").textContent = note ?? "";
    const fieldset = $("confirm-choices");
    fieldset.hidden = !choices;
    fieldset.replaceChildren(el("legend", { text: choices?.legend ?? "" }), ...(choices?.options ?? []).map((o) => {
        const input = el("input", { attrs: { type: "radio", name: "confirm-choice", id: `confirm-choice-${o.value}`, value: o.value } });
        input.checked = o.value === choices.value;
        return el("p", { className: "choice" }, [input, el("label", { text: o.label, attrs: { for: `confirm-choice-${o.value}` } })]);
    }));
    $("confirm-error").hidden = !error;
    $("confirm-error").textContent = error ?? "";
    const box = $("confirm-override");
    $("confirm-override-field").hidden = !override;
    $("confirm-override-label").textContent = override ?? "";
    box.checked = false;
    const input = $("confirm-typed");
    $("confirm-typed-field").hidden = typed === undefined;
    input.value = "";
    const ok = $("confirm-ok");
    ok.hidden = !okLabel;
    ok.textContent = okLabel ?? "";
    $("confirm-cancel").textContent = okLabel ? cancelLabel : "Close";
    const update = () => {
        ok.disabled = (typed !== undefined && input.value !== typed) || (override !== undefined && !box.checked);
    };
    input.oninput = update;
    box.onchange = update;
    update();
    return new Promise((resolve) => {
        dialog.addEventListener("close", () => {
            const chosen = fieldset.querySelector("input:checked");
            resolve({ ok: dialog.returnValue === "ok", choice: chosen?.value, override: box.checked });
        }, { once: true });
        dialog.returnValue = "";
        dialog.showModal();
        (typed !== undefined ? input : override !== undefined ? box : okLabel ? ok : $("confirm-cancel")).focus();
    });
}

async function confirmAction(question) {
    return (await openDialog(question)).ok;
}

function startButton(stack, op, label, body = {}) {
    const button = el("button", { text: label, attrs: { type: "button", "aria-label": `${label} ${stack}`, "data-op": op } });
    button.addEventListener("click", async () => {
        if (op === "updates" && !(await confirmAction({ title: `Update ${stack} without a reviewed preview?`, okLabel: "Update anyway",
            text: `Nobody has seen what this update will change. To review it first, preview ${stack} and update from that preview.` }))) return;
        button.disabled = true;
        await startJob(stack, op, label, body);
        button.disabled = false;
    });
    return button;
}

/** Queues a job and opens it; a refusal is shown with the API's words. */
async function startJob(stack, op, label, body) {
    const job = await act(`${label} of ${stack}`, () => api(`${stackPath(stack)}/${op}`, { method: "POST", body }));
    if (job) {
        clearMessage();
        location.hash = `#/jobs/${job.id}`;
        await refresh().catch(() => undefined);
    }
    return job;
}

/** The approvals answer of the stack's latest succeeded preview of the service's checkout, if any. */
async function latestPreviewRecord(stack) {
    const { jobs } = await api(`/v1/jobs${jobsQuery({ stack, state: "succeeded" })}&limit=100`);
    const preview = (jobs ?? []).find((j) => j.op === "preview" && !j.options?.source);
    return preview ? api(`${jobPath(preview.id)}/approvals`) : undefined;
}

/**
 * The destroy dialog: what will be deleted (the resources in the state as the latest preview saw
 * them, and whether that is still so), the approved preview it applies where the policy wants
 * one, and the stack's name to type. `record` is the open preview's approvals answer.
 */
async function destroyStack(stack, record) {
    if (record === undefined) {
        record = await act(`Reading what a destroy of ${stack} deletes`, () => latestPreviewRecord(stack).then((r) => r ?? null));
        if (record === undefined) return;
    }
    const plan = destroyPlan(stack, record ?? undefined);
    const ok = await confirmAction({
        title: `Destroy ${stack}?`,
        text: `Every resource of ${stack} will be deleted. This cannot be undone.`,
        listIntro: plan.resources.length ? `${plan.resources.length} resource${plan.resources.length === 1 ? "" : "s"} will be deleted:` : undefined,
        list: plan.resources,
        note: plan.blocked ? `${plan.note} ${plan.blocked}` : plan.note,
        typed: plan.blocked ? undefined : stack,
        okLabel: plan.blocked ? undefined : `Destroy ${stack}`,
    });
    if (!ok) return;
    await startJob(stack, "destroys", "Destroy", { confirm: stack, ...(plan.previewId ? { previewId: plan.previewId } : {}) });
}

const FENCE_OVERRIDE = "I made sure that process is gone: override the fence";

/**
 * Runs an admin's repair or unlock after a dialog that says what it does to the state; a 409
 * FENCED answer is shown in the dialog with a checkbox that repeats it with {overrideFence: true}.
 */
async function recoveryAction(stack, what) {
    const health = await act(`Reading the findings of ${stack}`, () => api(`${stackPath(stack)}/repair`));
    if (!health) return;
    const effects = recoveryEffects(health, stack);
    let method = "strip";
    let fenced;
    for (;;) {
        const answer = what === "repair"
            ? await openDialog({
                title: `Repair ${stack}?`,
                text: "A repair edits the stack's checkpoint, after backing it up. It:",
                list: effects.repair,
                note: effects.repairRefused,
                choices: { legend: "How", value: method, options: [
                    { value: "strip", label: "Strip: remove the pending operations from the checkpoint as they are" },
                    { value: "refresh", label: "Refresh first: read every resource back (refresh --clear-pending-creates), then strip what remains" },
                ] },
                error: fenced,
                override: fenced ? FENCE_OVERRIDE : undefined,
                okLabel: `Repair ${stack}`,
            })
            : await openDialog({
                title: `Unlock ${stack}?`,
                text: "Unlocking runs pulumi cancel, which removes every lock of the stack. It does not stop whoever holds one: make sure it is gone, or two writers will meet. It:",
                list: effects.unlock,
                error: fenced,
                override: fenced ? FENCE_OVERRIDE : undefined,
                typed: stack,
                okLabel: `Unlock ${stack}`,
            });
        if (!answer.ok) return;
        method = answer.choice ?? method;
        const body = what === "repair" ? { method } : { confirm: stack };
        if (answer.override) body.overrideFence = true;
        try {
            const result = await api(`${stackPath(stack)}/${what}`, { method: "POST", body });
            showMessage(recoveryResultText(stack, what, result), "info");
            await refresh().catch(() => undefined);
            return;
        } catch (err) {
            if (err instanceof ApiError && err.code === "FENCED" && !answer.override) {
                fenced = err.message;
                continue;
            }
            showMessage(err instanceof ApiError ? `${what === "repair" ? "Repair" : "Unlock"} of ${stack} refused — ${err.message}` : `${what} of ${stack} failed: ${err.message ?? err}`);
            return;
        }
    }
}

function recoveryResultText(stack, what, r) {
    const after = r.after?.state === "ok" ? "the stack is ok now" : `the stack still ${r.after?.state === "needs-repair" ? "needs repair" : `is ${r.after?.state}`}`;
    if (what === "unlock") {
        const removed = (r.removedLocks ?? []).map((l) => `pid ${l.pid} on ${l.hostname}`);
        return `Unlocked ${stack}: ${removed.length ? `removed the lock of ${removed.join(", ")}` : "pulumi cancel removed any lock"}; ${after}.`;
    }
    const dropped = (r.droppedOperations ?? []).map((o) => `${o.type} ${o.urn.split("::").pop()}`);
    return `Repaired ${stack} (${r.method}): ${dropped.length ? `dropped the pending ${dropped.join(", ")}` : "nothing was pending"}; the state before is backed up as ${String(r.backup ?? "").split("/").pop()}; ${after}.`;
}

function toolButton(stack, label, onClick) {
    const button = el("button", { text: label, attrs: { type: "button", "aria-label": `${label} ${stack}` } });
    button.addEventListener("click", async () => {
        button.disabled = true;
        await onClick();
        button.disabled = false;
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
        const recovery = recoveryActions(stack);
        const actions = el("div", { className: "actions" }, [
            can("preview") && startButton(stack.name, "previews", "Preview"),
            can("refresh") && startButton(stack.name, "refreshes", "Refresh"),
            can("update") && startButton(stack.name, "updates", "Update"),
            can("destroy") && toolButton(stack.name, "Destroy", () => destroyStack(stack.name)),
            can("repair") && recovery.repair && toolButton(stack.name, "Repair", () => recoveryAction(stack.name, "repair")),
            can("unlock") && recovery.unlock && toolButton(stack.name, "Unlock", () => recoveryAction(stack.name, "unlock")),
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

function renderStackFilter(select, stacks) {
    const chosen = select.value;
    const options = [el("option", { text: "All stacks", attrs: { value: "" } }), ...stacks.map((s) => el("option", { text: s.name, attrs: { value: s.name } }))];
    select.replaceChildren(...options);
    select.value = stacks.some((s) => s.name === chosen) ? chosen : "";
}

function renderJobs(jobs) {
    // Five narrow columns (what ran is under the job's id) so the list fits beside the open job at 1280 px.
    const rows = jobs.map((job) =>
        el("tr", { attrs: { "data-job": job.id, "aria-current": job.id === view.jobId ? "true" : "false" } }, [
            el("td", {}, [openJobButton(job.id, job.id.slice(0, 8)), el("span", { className: "job-what", text: `${job.op} of ${job.stack}` })]),
            el("td", {}, [stateBadge(job.state)]),
            el("td", { className: "who", text: job.triggeredBy ?? "" }),
            el("td", {}, [timeNode(job.createdAt)]),
            el("td", { className: "took", text: durationText(job.startedAt, job.finishedAt) }),
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
    view.record = undefined;
    $("log").replaceChildren();
    $("approval").hidden = true;
    view.outputCursor = 0;
    $("cli-log").replaceChildren();
    $("cli-output").open = false;
    const job = await act("Opening the job", () => api(jobPath(id)));
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
    const job = await api(jobPath(id)).catch(() => undefined);
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
    renderJobMeta(job);
    $("job").dataset.state = job.state;

    const cancel = $("cancel-job");
    cancel.hidden = !can("cancel") || isTerminal(job.state) || job.state === "cancelling";
    // While a cancel is waiting for the engine, a stuck job can be killed at once.
    $("force-cancel-job").hidden = !can("forceCancel") || job.state !== "cancelling";
    renderPreviewButtons(job, view.record?.previewId === job.id ? view.record : undefined);

    renderSummary(job.summary);
    void renderApproval(job);
}

function renderJobMeta(job) {
    const meta = [
        ["Job", job.id],
        ["State", stateBadge(job.state)],
        ["Triggered by", job.triggeredBy],
        ["Created", formatTime(job.createdAt)],
        ["Started", formatTime(job.startedAt)],
        ["Finished", formatTime(job.finishedAt)],
        ["Duration", durationText(job.startedAt, job.finishedAt)],
    ];
    // What a preview ran: the pull request's head, or the commit its fingerprint kept.
    const commit = job.options?.source?.sha ?? (view.record?.previewId === job.id ? view.record.commit : undefined);
    if (job.op === "preview" && commit) meta.push(["Commit", el("code", { text: commit, attrs: { title: commit } })]);
    if (job.options?.source) meta.push(["Pull request", `${job.options.source.repository} #${job.options.source.pullRequest}`]);
    // The preview an update applies is one click away: what was reviewed, and who approved it.
    if (job.options?.previewId) meta.push(["From preview", openJobButton(job.options.previewId, job.options.previewId.slice(0, 8))]);
    if (job.options?.message) meta.push(["Message", job.options.message]);
    if (job.summary?.stopReason) meta.push(["Stopped because", job.summary.stopReason]);
    if (job.error) meta.push(["Error", `${job.error.code}: ${job.error.message}`]);
    $("job-meta").replaceChildren(
        ...meta.flatMap(([term, value]) => [el("dt", { text: term }), typeof value === "string" || value === undefined ? el("dd", { text: value ?? "—" }) : el("dd", {}, [value])]),
    );
}

/**
 * The buttons that apply a succeeded preview, offered only while applying it can work: not
 * superseded, not used up, not stale; a destroy once the destroy approvals are in.
 */
function renderPreviewButtons(job, record) {
    const usable = job.op === "preview" && job.state === "succeeded" && !job.options?.source && record !== undefined && record.latest !== false && !record.appliedBy && record.staleness?.stale !== true;
    $("update-from-preview").hidden = !(usable && can("update"));
    const destroy = record ? approvalSummary(record, "destroy") : undefined;
    $("destroy-from-preview").hidden = !(usable && can("destroy") && destroy?.needed && destroy.satisfied);
}

/** A step's changes, collapsible; stays open across the re-renders a running job causes. */
function diffDetails(row) {
    const details = el("details", { className: "diff" }, [
        el("summary", { text: `${row.changes.length} change${row.changes.length === 1 ? "" : "s"}` }),
        el("ul", {}, row.changes.map((c) => el("li", { className: `diff-${c.kind}`, text: c.text }))),
    ]);
    details.open = view.openDiffs.has(row.key);
    details.addEventListener("toggle", () => {
        if (details.open) view.openDiffs.add(row.key);
        else view.openDiffs.delete(row.key);
    });
    return details;
}

function renderSummary(summary) {
    const { countRows, stepRows } = summaryTable(summary);
    $("summary-counts").tBodies[0].replaceChildren(...countRows.map((r) => el("tr", {}, [el("td", { text: r.op }), el("td", { text: r.count })])));
    $("summary-steps").tBodies[0].replaceChildren(
        ...stepRows.map((r) => el("tr", { attrs: { title: r.urn } }, [el("td", { text: r.label }), el("td", { text: r.name }), el("td", { text: r.type }),
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

/** Says the caller's own vote instead of offering a second one. */
function voteText(mine, what) {
    return mine ? `You ${mine.decision === "reject" ? "rejected" : "approved"} ${what}${mine.at ? ` (${formatTime(mine.at)})` : ""}.` : "";
}

/**
 * The open preview's approvals (read again every poll, so a decision made elsewhere shows), its
 * staleness before anyone decides, its commit, and for a destroy the resources it would delete.
 */
async function renderApproval(job) {
    const panel = $("approval");
    if (job.op !== "preview") {
        panel.hidden = true;
        return;
    }
    // The approvals route belongs to the safety layer; a service without it has no panel.
    let record;
    try {
        record = await api(`${jobPath(job.id)}/approvals`);
    } catch {
        record = undefined;
    }
    if (view.jobId !== job.id) return;
    const commitBefore = view.record?.commit;
    view.record = record;
    if (record?.commit !== commitBefore && view.job) renderJobMeta(view.job);
    if (view.job) renderPreviewButtons(view.job, record);
    const update = approvalSummary(record, "update");
    const destroy = approvalSummary(record, "destroy");
    const staleness = stalenessNote(record);
    panel.hidden = job.state !== "succeeded" || !(update.needed || destroy.needed || staleness?.tone === "bad");
    if (panel.hidden) return;

    $("preview-staleness").hidden = !staleness || (!update.needed && !destroy.needed && staleness.tone !== "bad");
    $("preview-staleness").className = `staleness ${staleness?.tone ?? ""}`;
    setText($("preview-staleness"), staleness?.text ?? "");

    $("update-approval").hidden = !update.needed;
    setText($("approval-status"), update.text);
    $("approval-list").replaceChildren(...update.decisions.map((text) => el("li", { text })));
    const mine = myDecision(record, view.me?.name, "update");
    $("my-decision").hidden = mine === undefined;
    setText($("my-decision"), voteText(mine, "this preview"));

    $("destroy-approval").hidden = !destroy.needed;
    setText($("destroy-approval-status"), destroy.text);
    $("destroy-approval-list").replaceChildren(...destroy.decisions.map((text) => el("li", { text })));
    const mineDestroy = myDecision(record, view.me?.name, "destroy");
    $("my-destroy-decision").hidden = mineDestroy === undefined;
    setText($("my-destroy-decision"), voteText(mineDestroy, "destroying the stack with this preview"));
    const plan = destroyPlan(job.stack, record);
    setText($("destroy-resources-summary"), `What a destroy deletes (${plan.resources.length} resource${plan.resources.length === 1 ? "" : "s"})`);
    setText($("destroy-resources-note"), plan.note);
    $("destroy-resources-list").replaceChildren(...plan.resources.map((text) => el("li", { text })));

    // Only roles that can approve see the form; the service still checks self-approval etc.
    // Whoever has voted sees their vote, not the buttons again.
    const offerUpdate = update.needed && mine === undefined;
    const offerDestroy = destroy.needed && mineDestroy === undefined;
    $("approval-form").hidden = !can("approve") || !(offerUpdate || offerDestroy);
    for (const [id, offered, open] of [["approve", offerUpdate, update.open], ["reject", offerUpdate, update.open], ["approve-destroy", offerDestroy, destroy.open], ["reject-destroy", offerDestroy, destroy.open]]) {
        $(id).hidden = !offered;
        $(id).disabled = !open;
    }
}

async function decide(decision, operation) {
    const job = view.job;
    if (!job) return;
    const comment = $("approval-comment").value.trim();
    const label = `${operation === "destroy" ? "Destroy " : ""}${decision === "approve" ? "approval" : "rejection"}`.replace(/^./, (c) => c.toUpperCase());
    const result = await act(label, () => api(`${jobPath(job.id)}/approvals`, { method: "POST", body: { decision, operation, ...(comment ? { comment } : {}) } }));
    if (result) {
        $("approval-comment").value = "";
        showMessage(`${label} recorded for preview ${job.id}.`, "info");
        await reloadJob();
    }
}

$("approve").addEventListener("click", () => void decide("approve", "update"));
$("reject").addEventListener("click", () => void decide("reject", "update"));
$("approve-destroy").addEventListener("click", () => void decide("approve", "destroy"));
$("reject-destroy").addEventListener("click", () => void decide("reject", "destroy"));

$("force-cancel-job").addEventListener("click", async () => {
    const job = view.job;
    if (!job) return;
    const url = `${jobPath(job.id)}/cancel`;
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
    const ok = await confirmAction({
        title: `Cancel the ${job.op} of ${job.stack}?`,
        text: job.state === "queued"
            ? "It leaves the queue and never runs."
            : "The resource operations under way finish first (a cancel never cuts one off); nothing after them starts, so the stack may be left part-way through the change.",
        okLabel: "Cancel job",
        cancelLabel: "Keep it",
    });
    if (!ok) return;
    const result = await act("Cancel", () => api(`${jobPath(job.id)}/cancel`, { method: "POST", body: {} }));
    if (result) renderJob(result);
});

$("update-from-preview").addEventListener("click", async () => {
    const job = view.job;
    if (!job) return;
    const update = await act(`Update of ${job.stack}`, () => api(`${stackPath(job.stack)}/updates`, { method: "POST", body: { previewId: job.id } }));
    if (update) {
        clearMessage();
        location.hash = `#/jobs/${update.id}`;
    }
});

$("destroy-from-preview").addEventListener("click", () => {
    const job = view.job;
    if (job && view.record?.previewId === job.id) void destroyStack(job.stack, view.record);
});

/** Appends the job's stored CLI output from where the last read stopped. */
async function loadOutput() {
    const id = view.jobId;
    if (!id) return;
    const button = $("more-output");
    button.disabled = true;
    const result = await act("Reading the CLI output", () =>
        collectLogPages((cursor) => api(`${jobPath(id)}/log?cursor=${cursor}&limit=200`), view.outputCursor, { pageSize: 200 }),
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
        url: `${jobPath(id)}/events`,
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

// ---- the audit log and notification deliveries (admins) -----------------------------------

async function loadAudit(more) {
    const query = auditQuery({
        after: more ? view.auditNext : $("audit-after").value,
        limit: $("audit-limit").value,
        stack: $("audit-stack").value,
        action: $("audit-action").value,
    });
    const page = await act("Reading the audit log", () => api(`/v1/audit${query}`));
    if (!page) return;
    const verdict = verificationText(page.verification);
    $("audit-verification").className = `verification ${verdict.tone}`;
    $("audit-verification").textContent = verdict.text;
    const rows = (page.entries ?? []).map((entry) => {
        const r = auditRow(entry);
        const details = el("td", { className: "audit-details" }, [
            r.jobId && el("span", {}, [document.createTextNode("job "), openJobButton(r.jobId, r.jobId.slice(0, 8)), document.createTextNode(" ")]),
            r.previewId && el("span", {}, [document.createTextNode("preview "), openJobButton(r.previewId, r.previewId.slice(0, 8)), document.createTextNode(" ")]),
            r.from && el("span", { className: "from", text: `from ${r.from}` }),
            r.details && el("details", {}, [el("summary", { text: "details" }), el("code", { text: r.details })]),
        ]);
        return el("tr", { attrs: { "data-seq": r.seq } }, [
            el("td", { text: r.seq }),
            el("td", { text: formatTime(r.at) }),
            el("td", { text: r.who }),
            el("td", { text: r.action }),
            el("td", { text: r.stack }),
            el("td", { text: r.result }),
            details,
        ]);
    });
    const body = $("audit-entries").tBodies[0];
    if (more) body.append(...rows);
    else body.replaceChildren(...rows);
    $("audit-entries").hidden = body.rows.length === 0;
    $("audit-empty").hidden = body.rows.length > 0;
    view.auditNext = page.next;
    $("audit-next").hidden = page.next === undefined;
}

$("audit-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    void loadAudit(false);
});
$("audit-next").addEventListener("click", () => void loadAudit(true));

async function loadDeliveries() {
    const answer = await act("Reading the notification deliveries", () => api("/v1/notifications/deliveries"));
    if (!answer) return;
    const destinations = answer.destinations ?? [];
    const deliveries = answer.deliveries ?? [];
    $("deliveries-view").hidden = false;
    $("destinations-empty").hidden = destinations.length > 0;
    $("destinations").hidden = destinations.length === 0;
    $("destinations").tBodies[0].replaceChildren(...destinations.map((d) => el("tr", {}, [
        el("td", { text: d.name }),
        el("td", { text: d.url }),
        el("td", { text: d.format ?? "" }),
        el("td", { text: d.signed ? "yes" : "no" }),
        el("td", { text: Array.isArray(d.events) && d.events.length ? d.events.join(", ") : "all" }),
    ])));
    $("deliveries-empty").hidden = deliveries.length > 0;
    $("deliveries").hidden = deliveries.length === 0;
    $("deliveries").tBodies[0].replaceChildren(...deliveries.map((d) => el("tr", { attrs: { "data-delivery": d.id, "data-status": d.status } }, [
        el("td", {}, [timeNode(d.createdAt)]),
        el("td", { text: d.destination }),
        el("td", { text: d.event }),
        el("td", { text: deliveryText(d) }),
    ])));
    $("load-deliveries").textContent = "Reload deliveries";
}

$("load-deliveries").addEventListener("click", () => void loadDeliveries());

// ---- start ---------------------------------------------------------------------------------

async function start() {
    void checkReadiness();
    scheduleReadiness();
    view.auth = await readAuth();
    renderLanding();
    // A token of this tab first; else, where the service signs in with an identity provider, its session cookie.
    if (view.token || signInOptions(view.auth).oidc) await signIn();
    else showSignedOut();
}

void start();
