import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
    ApiError,
    approvalSummary,
    collectLogPages,
    SseParser,
    apiErrorMessage,
    durationText,
    formatTime,
    isFinalEvent,
    isTerminal,
    jobsQuery,
    logLinesFromEvent,
    permissions,
    readEventStream,
    resourceName,
    stackStates,
    stateLabel,
    stripColour,
    summaryTable,
    diffLines,
    automationLines,
    driftBadge,
    myDecision,
    relativeTime,
    requestInit,
    signInOptions,
    readinessProblems,
    recoveryActions,
    recoveryEffects,
    stalenessNote,
    destroyPlan,
    auditQuery,
    verificationText,
    auditRow,
    deliveryText,
    type SseEvent,
} from "../../automation/web/lib.mjs";

describe("dashboard SSE parser", () => {
    it("parses events split at arbitrary chunk boundaries, including a CRLF split in two", () => {
        const stream = "id: 1\r\nevent: engine\r\ndata: {\"a\":1}\r\n\r\nid: 2\ndata: line one\ndata: line two\n\n";
        for (let cut = 1; cut < stream.length; cut++) {
            const parser = new SseParser();
            const events = [...parser.push(stream.slice(0, cut)), ...parser.push(stream.slice(cut))];
            assert.deepEqual(events, [
                { type: "engine", data: "{\"a\":1}", id: "1" },
                { type: "message", data: "line one\nline two", id: "2" },
            ], `cut at ${cut}`);
        }
    });

    it("ignores comments, unknown fields and blocks without data, and keeps the last id for resuming", () => {
        const parser = new SseParser();
        const events = parser.push(": keep-alive\n\nid: 7\nfoo: bar\n\nretry: 250\nretry: soon\ndata:x\n\r\r");
        assert.deepEqual(events, [{ type: "message", data: "x", id: "7" }]);
        assert.equal(parser.lastEventId, "7");
        assert.equal(parser.retry, 250);
    });

    it("drops a leading byte-order mark and treats a bare CR as a line end", () => {
        const parser = new SseParser();
        assert.deepEqual(parser.push("\ufeffdata: a\r\rdata: b\r"), [{ type: "message", data: "a", id: "" }]);
        assert.deepEqual(parser.push("\r"), [], "a CR at the end of a chunk may still become CRLF");
        assert.deepEqual(parser.push("data: c\n\n"), [{ type: "message", data: "b", id: "" }, { type: "message", data: "c", id: "" }]);
    });

    it("does not dispatch an event whose blank line has not arrived yet", () => {
        const parser = new SseParser();
        assert.deepEqual(parser.push("data: partial\n"), []);
        assert.deepEqual(parser.push("\n"), [{ type: "message", data: "partial", id: "" }]);
    });
});

describe("dashboard event stream reader", () => {
    let server: http.Server;
    let url: string;
    const seen: Array<{ auth?: string; lastEventId?: string }> = [];

    before(async () => {
        // Drops the first connection after two events; the reader must resume from id 2.
        server = http.createServer((req, res) => {
            seen.push({ auth: req.headers.authorization, lastEventId: req.headers["last-event-id"] as string | undefined });
            if (req.url === "/forbidden") {
                res.writeHead(403, { "content-type": "application/json" });
                res.end(JSON.stringify({ error: { code: "FORBIDDEN", message: "this action needs role approver" } }));
                return;
            }
            res.writeHead(200, { "content-type": "text/event-stream" });
            const from = Number(req.headers["last-event-id"] ?? 0);
            if (from === 0) {
                res.write("retry: 5\n\nid: 1\ndata: {\"n\":1}\n\nid: 2\ndata: {\"n\":2}\n\n", () => res.destroy());
                return;
            }
            res.end(`id: ${from + 1}\ndata: {"n":${from + 1}}\n\nid: ${from + 2}\nevent: end\ndata: {"state":"succeeded"}\n\n`);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("resumes after a dropped connection with Last-Event-ID and the bearer token, without repeating events", async () => {
        seen.length = 0;
        const events: SseEvent[] = [];
        const delays: number[] = [];
        const result = await readEventStream({
            url: `${url}/events`,
            token: "secret-token",
            onEvent: (event) => events.push(event),
            isFinal: (event) => event.type === "end",
            sleep: async (ms) => {
                delays.push(ms);
            },
        });
        assert.deepEqual(events.map((e) => e.id), ["1", "2", "3", "4"]);
        assert.equal(result.reconnects, 1);
        assert.deepEqual(delays, [5], "waits the server's retry: delay");
        assert.deepEqual(seen, [
            { auth: "Bearer secret-token", lastEventId: undefined },
            { auth: "Bearer secret-token", lastEventId: "2" },
        ]);
    });

    it("rejects with the API's own message on a 4xx instead of retrying", async () => {
        seen.length = 0;
        await assert.rejects(
            readEventStream({ url: `${url}/forbidden`, token: "t", onEvent: () => undefined, isFinal: () => false, sleep: async () => undefined }),
            (err: unknown) => err instanceof ApiError && err.status === 403 && err.message === "FORBIDDEN: this action needs role approver",
        );
        assert.equal(seen.length, 1);
    });
});

describe("dashboard view decisions", () => {
    it("grants buttons along the role ladder and nothing to an unknown role", () => {
        const none = { preview: false, refresh: false, update: false, cancel: false, approve: false, destroy: false, forceCancel: false, repair: false, unlock: false, audit: false, notifications: false };
        assert.deepEqual(permissions("viewer"), none);
        assert.deepEqual(permissions("operator"), { ...none, preview: true, refresh: true, update: true, cancel: true });
        assert.deepEqual(permissions("approver"), { ...none, preview: true, refresh: true, update: true, cancel: true, approve: true });
        assert.deepEqual(permissions("admin"), Object.fromEntries(Object.keys(none).map((k) => [k, true])), "repair, unlock, the audit log and deliveries: admins, as the API says");
        assert.equal(permissions("admin").forceCancel, true);
        assert.equal(permissions("approver").approve, true);
        assert.equal(permissions("approver").destroy, false);
        assert.equal(permissions("admin").destroy, true);
        assert.equal(permissions("root").preview, false);
        assert.equal(permissions(undefined).preview, false);
    });

    it("labels every state with words so it is readable without colour", () => {
        assert.deepEqual(stateLabel("stopped-by-guard"), { text: "Stopped by guard", tone: "bad" });
        assert.deepEqual(stateLabel("running"), { text: "Running", tone: "busy" });
        assert.deepEqual(stateLabel("idle"), { text: "Idle", tone: "ok" });
        assert.deepEqual(stateLabel("brand-new"), { text: "brand-new", tone: "neutral" });
        assert.deepEqual(stateLabel(undefined), { text: "Unknown", tone: "neutral" });
        assert.equal(isTerminal("running"), false);
        assert.equal(isTerminal("superseded"), true);
    });

    it("shows a stack's queue state, and needs-repair or a held lock beside it only when recovery says so", () => {
        assert.deepEqual(stackStates({ state: "idle", repair: { needed: true } }), ["idle", "needs-repair"]);
        const live = { kind: "live-lock", lock: { pid: 42, hostname: "h", username: "u", timestamp: "2026-12-03T10:00:00Z" } };
        assert.deepEqual(stackStates({ state: "idle", repair: { needed: false, findings: [live] } }), ["idle", "locked"]);
        assert.deepEqual(stateLabel("locked"), { text: "Locked by another process", tone: "bad" });
        assert.deepEqual(stackStates({ state: "queued", repair: { needed: false } }), ["queued"]);
        assert.deepEqual(stackStates({ state: "running" }), ["running"]);
        assert.deepEqual(stateLabel("needs-repair"), { text: "Needs repair", tone: "bad" });
    });

    it("orders the change summary by operation then name and leaves out zero counts", () => {
        const table = summaryTable({
            counts: { same: 1, create: 2, update: 0, "create-replacement": 1 },
            steps: [
                { urn: "urn:pulumi:dev::fixture::fixture:File::b", type: "fixture:File", op: "create" },
                { urn: "urn:pulumi:dev::fixture::fixture:File::zz", type: "fixture:File", op: "same" },
                { urn: "urn:pulumi:dev::fixture::fixture:File::a", type: "fixture:File", op: "create" },
            ],
        });
        assert.deepEqual(table.countRows, [{ op: "create", count: 2 }, { op: "same", count: 1 }, { op: "create-replacement", count: 1 }]);
        assert.deepEqual(table.stepRows.map((r) => `${r.op} ${r.name}`), ["create a", "create b", "same zz"]);
        assert.deepEqual(summaryTable(undefined), { countRows: [], stepRows: [] });
    });

    it("lists a refresh's drift first and labelled as drift, apart from the change planned for the same resource", () => {
        const urn = "urn:pulumi:dev::fixture::fixture:File::a";
        const rows = summaryTable({ steps: [
            { urn, type: "fixture:File", op: "update", diffs: [{ path: "content", kind: "update", old: "v1", new: "edited" }] },
            { urn: "urn:pulumi:dev::fixture::fixture:File::b", type: "fixture:File", op: "create" },
            { urn, type: "fixture:File", op: "update", drift: true, diffs: [{ path: "content", kind: "update", old: "v1", new: "edited" }] },
        ] }).stepRows;
        assert.deepEqual(rows.map((r) => `${r.label} ${r.name}`), ["update (drift) a", "create b", "update a"]);
        assert.equal(new Set(rows.map((r) => r.key)).size, 3, "each row opens and closes on its own");
    });

    it("prints a step's changed properties like pulumi preview --diff, a replacement's reasons first", () => {
        assert.deepEqual(diffLines({ op: "replace", replaceReasons: ["identifier"], diffs: [
            { path: "identifier", kind: "replace", old: "db-a", new: "db-b" },
            { path: "tags.Env", kind: "add", new: "prod" },
            { path: "port", kind: "delete", old: 80 },
            { path: "content", kind: "update", old: "v1", new: "v2" },
        ] }), [
            { kind: "replace", text: "replaced because identifier changed" },
            { kind: "replace", text: '+- identifier: "db-a" => "db-b" (forces replacement)' },
            { kind: "add", text: '+ tags.Env: "prod"' },
            { kind: "delete", text: "- port: 80" },
            { kind: "update", text: '~ content: "v1" => "v2"' },
        ]);
        assert.deepEqual(diffLines({ op: "create" }), []);
        assert.equal(summaryTable({ steps: [{ urn: "u::a", op: "update", diffs: [{ path: "x", kind: "update", old: 1, new: 2 }] }] }).stepRows[0].changes[0].text, "~ x: 1 => 2");
    });

    it("badges a stack's drift: none checked, none found, found (to act on), or already applied", () => {
        assert.equal(driftBadge({}), undefined);
        assert.deepEqual(driftBadge({ drift: { drifted: 0, mode: "preview" } }), { text: "no drift", tone: "ok" });
        assert.deepEqual(driftBadge({ drift: { drifted: 2, mode: "preview" } }), { text: "drift: 2 resources", tone: "bad" });
        assert.deepEqual(driftBadge({ drift: { drifted: 1, mode: "apply" } }), { text: "drift: 1 resource (state refreshed)", tone: "neutral" });
    });

    it("shows a stack's schedules with next run and last result, what it follows, and a mismatch with its StackReferences as a warning", () => {
        assert.deepEqual(automationLines({}), []);
        const lines = automationLines({
            schedules: {
                driftCheck: { cron: "0 6 * * *", remediate: true, nextRun: "2026-12-04T06:00:00.000Z", last: { at: "2026-12-03T06:00:00.000Z", state: "succeeded", drifted: [{ urn: "u::a" }] } },
                destroy: { ttlMinutes: 60, nextRun: "2026-12-03T13:00:00.000Z", last: { at: "2026-12-02T13:00:00.000Z", note: "frozen" } },
            },
            dependencies: { dependsOn: [{ stack: "delivery", run: "update" }, { stack: "shared", run: "preview", outputs: ["vpcId"] }], warnings: ["dev's program reads x…"] },
        });
        assert.deepEqual(lines, [
            { tone: "bad", text: "Drift check 0 6 * * * UTC (remediated); next 2026-12-04 06:00:00Z; last 2026-12-03 06:00:00Z: succeeded, 1 drifted" },
            { tone: "bad", text: "Ephemeral: destroyed 60 min after its last update; destroy due 2026-12-03 13:00:00Z; last refused: frozen" },
            { tone: "neutral", text: "Follows delivery (update), shared (preview on vpcId)" },
            { tone: "bad", text: "dev's program reads x…" },
        ]);
        assert.deepEqual(automationLines({ schedules: { driftCheck: { cron: "0 6 * * *", nextRun: "2026-12-04T06:00:00.000Z" } } }), [
            { tone: "neutral", text: "Drift check 0 6 * * * UTC; next 2026-12-04 06:00:00Z; not run yet" },
        ]);
    });

    it("says how long ago a time was, and finds the caller's own vote on a preview", () => {
        const now = Date.parse("2026-12-03T12:00:00Z");
        assert.equal(relativeTime("2026-12-03T11:59:30Z", now), "just now");
        assert.equal(relativeTime("2026-12-03T11:55:00Z", now), "5 min ago");
        assert.equal(relativeTime("2026-12-03T09:00:00Z", now), "3 h ago");
        assert.equal(relativeTime("2026-12-01T12:00:00Z", now), "2 days ago");
        assert.equal(relativeTime(undefined, now), "—");
        const record = { approvals: [{ decision: "approve", by: "ann", at: "t1" }, { decision: "reject", by: "bob", operation: "destroy" }] };
        assert.deepEqual(myDecision(record, "ann"), { decision: "approve", by: "ann", at: "t1" });
        assert.equal(myDecision(record, "bob"), undefined, "a destroy vote is not an update vote");
        assert.equal(myDecision(record, undefined), undefined);
    });

    it("takes a resource's name from the end of its URN", () => {
        assert.equal(resourceName("urn:pulumi:prod::proj::pkg:mod:Type$child:Type::file-3"), "file-3");
        assert.equal(resourceName("plain"), "plain");
        assert.equal(resourceName(42), "");
    });

    it("shows the API's own error message and code, with a fallback per status", () => {
        assert.equal(apiErrorMessage(403, { error: { code: "SELF_APPROVAL", message: "you triggered this preview" } }), "SELF_APPROVAL: you triggered this preview");
        assert.equal(apiErrorMessage(409, { code: "STACK_BUSY", message: "busy" }), "STACK_BUSY: busy");
        assert.equal(apiErrorMessage(401, "nope"), "The service did not accept the token; enter a valid one.");
        assert.equal(apiErrorMessage(502, null), "The service answered HTTP 502.");
    });

    it("builds the job-list query only from filters that are set, encoded", () => {
        assert.equal(jobsQuery({}), "");
        assert.equal(jobsQuery({ stack: "dev", state: "" }), "?stack=dev");
        assert.equal(jobsQuery({ stack: "a&b", state: "running" }), "?stack=a%26b&state=running");
    });

    it("formats times in UTC and durations in seconds, with a dash when unknown", () => {
        assert.equal(formatTime("2026-11-25T09:03:04.567Z"), "2026-11-25 09:03:04Z");
        assert.equal(formatTime(undefined), "—");
        assert.equal(formatTime("garbage"), "—");
        assert.equal(durationText("2026-11-25T09:00:00Z", "2026-11-25T09:00:02.5Z"), "2.5 s");
        assert.equal(durationText("2026-11-25T09:00:00Z", null, Date.parse("2026-11-25T09:00:01Z")), "1.0 s");
        assert.equal(durationText(null, null), "—");
    });
});

describe("dashboard live log lines", () => {
    it("turns engine output, diagnostics and steps into plain lines without colour codes", () => {
        assert.deepEqual(logLinesFromEvent({ type: "stdoutEvent", data: { sequence: 3, stdoutEvent: { message: "\u001b[1mPreviewing\u001b[0m update\n\n<{%reset%}>done<{%reset%}>\n", color: "raw" } } }), [
            { kind: "output", text: "Previewing update" },
            { kind: "output", text: "done" },
        ]);
        assert.deepEqual(logLinesFromEvent({ type: "diagnosticEvent", data: { diagnosticEvent: { severity: "error", message: "boom" } } }), [{ kind: "error", text: "error: boom" }]);
        assert.deepEqual(logLinesFromEvent({ type: "diagnosticEvent", data: { diagnosticEvent: { severity: "info", message: "tick", ephemeral: true } } }), []);
        assert.deepEqual(logLinesFromEvent({ type: "diagnosticEvent", data: { diagnosticEvent: { severity: "debug", message: "RegisterResource RPC prepared" } } }), []);
        assert.deepEqual(logLinesFromEvent({ type: "resourcePreEvent", data: { resourcePreEvent: { metadata: { op: "create", type: "fixture:File", urn: "urn:pulumi:dev::p::fixture:File::f-1" } } } }), [{ kind: "step", text: "create fixture:File f-1" }]);
        assert.deepEqual(logLinesFromEvent({ type: "resourcePreEvent", data: { resourcePreEvent: { metadata: { op: "same", urn: "u" } } } }), []);
        // A step's completion, with how long it took since it began.
        const steps = new Map<string, number>();
        logLinesFromEvent({ type: "resourcePreEvent", at: "2026-12-03T10:00:00.000Z", data: { resourcePreEvent: { metadata: { op: "update", urn: "urn:a::f-2" } } } }, steps);
        assert.deepEqual(logLinesFromEvent({ type: "resOutputsEvent", at: "2026-12-03T10:00:02.500Z", data: { resOutputsEvent: { metadata: { op: "update", urn: "urn:a::f-2" } } } }, steps),
            [{ kind: "step", text: "done: update f-2 (2.5 s)" }]);
        assert.equal(steps.size, 0);
        assert.deepEqual(logLinesFromEvent({ type: "summaryEvent", data: { summaryEvent: { resourceChanges: { create: 3 } } } }), [{ kind: "state", text: "summary: create 3" }]);
    });

    it("announces state changes with the error message and recognises the final one", () => {
        assert.deepEqual(logLinesFromEvent({ type: "state", data: { state: "failed", error: { code: "X", message: "the preview failed" } } }), [{ kind: "state", text: "job failed — the preview failed" }]);
        assert.equal(isFinalEvent({ type: "state", data: { state: "running" } }), false);
        assert.equal(isFinalEvent({ type: "state", data: { state: "cancelled" } }), true);
        assert.equal(isFinalEvent({ type: "stdoutEvent", data: { state: "succeeded" } }), false);
        assert.deepEqual(logLinesFromEvent({ type: "somethingNew", data: {} }), []);
    });

    it("keeps markup in untrusted output as literal text", () => {
        const text = "<img src=x onerror=alert(1)>";
        assert.deepEqual(logLinesFromEvent({ type: "stdoutEvent", data: { stdoutEvent: { message: text } } }), [{ kind: "output", text }]);
        assert.equal(stripColour(text), text);
    });
});

describe("dashboard approval panel", () => {
    const at = "2026-11-25T10:00:00Z";
    it("says no approval is needed when the policy requires none", () => {
        assert.deepEqual(approvalSummary({ approvals: [], update: { required: 1, approvedBy: ["ann"], rejectedBy: [], satisfied: true }, latest: true,
            appliedBy: { jobId: "j-9" } }), { needed: true, open: false, satisfied: false, text: "Applied by job j-9: this approval is used up; preview again to change the stack.", decisions: [] });
        assert.deepEqual(approvalSummary({ approvals: [], update: { required: 0, approvedBy: [], rejectedBy: [], satisfied: true }, latest: true }), {
            needed: false,
            open: false,
            satisfied: true,
            text: "The stack's policy needs no approval for an update.",
            decisions: [],
        });
    });

    it("counts approvals towards the requirement and lists each decision with its comment", () => {
        const summary = approvalSummary({
            approvals: [{ decision: "approve", by: "ann", operation: "update", comment: "looks right", at }],
            update: { required: 2, approvedBy: ["ann"], rejectedBy: [], satisfied: false },
            latest: true,
        });
        assert.equal(summary.text, "Waiting for approval: 1 of 2 (ann).");
        assert.equal(summary.open, true);
        assert.deepEqual(summary.decisions, ["Approved by ann: looks right (2026-11-25 10:00:00Z)"]);
        assert.equal(approvalSummary({ update: { required: 1, approvedBy: ["ann"], rejectedBy: [], satisfied: true }, latest: true }).text, "Approved (1 of 1) by ann: the update may run from this preview.");
    });

    it("closes the decision on a rejection or when a newer preview supersedes this one", () => {
        const rejected = approvalSummary({ update: { required: 1, approvedBy: [], rejectedBy: ["bob"], satisfied: false }, latest: true });
        assert.equal(rejected.open, false);
        assert.match(rejected.text, /^Rejected by bob/);
        const stale = approvalSummary({ update: { required: 1, approvedBy: [], rejectedBy: [], satisfied: false }, latest: false });
        assert.equal(stale.open, false);
        assert.match(stale.text, /newer preview of the stack supersedes this one/);
    });
});

describe("dashboard CLI output pages", () => {
    const store = Array.from({ length: 5 }, (_, i) => ({ seq: i + 1, text: `\u001b[32mline ${i + 1}\u001b[0m` }));
    const fetchPage = (size: number, asked: number[]) => async (cursor: number) => {
        asked.push(cursor);
        const lines = store.filter((l) => l.seq > cursor).slice(0, size);
        return { lines, nextCursor: lines.length ? lines[lines.length - 1].seq : cursor };
    };

    it("follows the cursor until a short page and strips colour codes", async () => {
        const asked: number[] = [];
        const result = await collectLogPages(fetchPage(2, asked), 0, { pageSize: 2 });
        assert.deepEqual(result, { lines: ["line 1", "line 2", "line 3", "line 4", "line 5"], cursor: 5, more: false });
        assert.deepEqual(asked, [0, 2, 4]);
    });

    it("stops after maxPages and says there is more, resuming from its cursor", async () => {
        const first = await collectLogPages(fetchPage(2, []), 0, { pageSize: 2, maxPages: 1 });
        assert.deepEqual(first, { lines: ["line 1", "line 2"], cursor: 2, more: true });
        const rest = await collectLogPages(fetchPage(2, []), first.cursor, { pageSize: 2 });
        assert.deepEqual(rest.lines, ["line 3", "line 4", "line 5"]);
    });
});

describe("dashboard requests and sign-in", () => {
    it("sends the bearer token when there is one, and never a CSRF token with it", () => {
        const init = requestInit({ method: "POST", body: { a: 1 }, token: "tbk_x", csrfToken: "c" });
        assert.deepEqual(init, { method: "POST", headers: { accept: "application/json", authorization: "Bearer tbk_x", "content-type": "application/json" }, credentials: "same-origin", body: '{"a":1}' });
    });

    it("sends a session's CSRF token on every request that changes something, not on reads, and the cookie always", () => {
        for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
            const init = requestInit({ method, csrfToken: "csrf-1" });
            assert.equal(init.headers["x-csrf-token"], "csrf-1", method);
            assert.equal(init.headers.authorization, undefined);
            assert.equal(init.credentials, "same-origin");
        }
        assert.deepEqual(requestInit({ csrfToken: "csrf-1" }), { method: "GET", headers: { accept: "application/json" }, credentials: "same-origin" });
        assert.equal(requestInit({ method: "POST" }).credentials, "same-origin", "signed out: the cookie still goes, for the server to say no");
    });

    it("reads a job's events with the same-origin cookie and the bearer token when there is one", async () => {
        const inits: RequestInit[] = [];
        const fetchImpl = (async (_url: string, init: RequestInit) => {
            inits.push(init);
            return new Response('id: 1\ndata: {"type":"state","data":{"state":"succeeded"}}\n\n', { status: 200 });
        }) as unknown as typeof fetch;
        await readEventStream({ url: "/v1/jobs/x/events", token: "tbk_y", fetchImpl, onEvent: () => undefined, isFinal: () => true });
        await readEventStream({ url: "/v1/jobs/x/events", fetchImpl, onEvent: () => undefined, isFinal: () => true });
        assert.deepEqual(inits.map((i) => [i.credentials, (i.headers as Record<string, string>).authorization]), [["same-origin", "Bearer tbk_y"], ["same-origin", undefined]]);
    });

    it("offers the identity provider's sign-in only when OpenID Connect is on, and only to a path of this service", () => {
        assert.deepEqual(signInOptions(undefined), {});
        assert.deepEqual(signInOptions({ oidc: { enabled: false, loginUrl: "/auth/login" } }), {});
        assert.deepEqual(signInOptions({ oidc: { enabled: true, loginUrl: "/auth/login", issuer: "https://idp.example.org/realms/ops" } }),
            { oidc: { href: "/auth/login", label: "Sign in with https://idp.example.org/realms/ops" } });
        assert.deepEqual(signInOptions({ oidc: { enabled: true, loginUrl: "//evil.example/login" } }), { oidc: { href: "/auth/login", label: "Sign in with your identity provider" } });
        assert.equal(signInOptions({ oidc: { enabled: true, loginUrl: "https://evil.example/login", issuer: "x" } }).oidc?.href, "/auth/login");
    });

    it("lists the failing checks of a /readyz answer, and none when the service is ready", () => {
        assert.deepEqual(readinessProblems({ ready: true, checks: { cli: { ok: true } } }), []);
        assert.deepEqual(readinessProblems(undefined), []);
        assert.deepEqual(readinessProblems({ ready: false, checks: { cli: { ok: true, detail: "pulumi v3" }, plugins: { ok: false, detail: "missing: aws v7.48.0 (pulumi plugin install resource aws v7.48.0)" }, store: { ok: false } } }), [
            { name: "plugins", detail: "missing: aws v7.48.0 (pulumi plugin install resource aws v7.48.0)" },
            { name: "store", detail: "failing" },
        ]);
    });
});

describe("dashboard repair and unlock", () => {
    const create = { kind: "pending-operations", operations: [{ type: "create", urn: "urn:pulumi:dev::fixture::pulumi-nodejs:dynamic:Resource::item-1" }, { type: "update", urn: "urn:pulumi:dev::fixture::pulumi-nodejs:dynamic:Resource::item-0" }] };
    const live = { kind: "live-lock", lock: { file: "/b/.pulumi/locks/x.json", pid: 4242, hostname: "host-a", username: "ci", timestamp: "2026-12-03T10:00:00Z" } };
    const foreign = { kind: "foreign-lock", lock: { pid: 7, hostname: "host-b", username: "", timestamp: "" } };

    it("offers repair when the scan says so and unlock when a lock is held that the service may not clear", () => {
        assert.deepEqual(recoveryActions({ repair: { needed: true, findings: [create] } }), { repair: true, unlock: false });
        assert.deepEqual(recoveryActions({ repair: { needed: false, findings: [live] } }), { repair: false, unlock: true });
        assert.deepEqual(recoveryActions({ repair: { needed: true, findings: [{ kind: "unreadable-lock", file: "/l/x.json" }] } }), { repair: true, unlock: true });
        assert.deepEqual(recoveryActions({}), { repair: false, unlock: false });
    });

    it("says what a repair does to each pending operation, and that a live lock will make the service refuse it", () => {
        const effects = recoveryEffects({ stack: "dev", findings: [create, live] });
        assert.deepEqual(effects.repair, [
            "Backs up the exported state to backups/dev-<time>.json in the data dir (secrets stay encrypted).",
            "Drops the pending create of item-1: it may have made a real resource that Pulumi will no longer track: import it (pulumi import) if so.",
            "Drops the pending update of item-0: the resource may be half-updated: a refresh reads it back.",
        ]);
        assert.equal(effects.repairRefused, "It will be refused (STACK_LOCKED) while pid 4242 on host-a (user ci, since 2026-12-03 10:00:00Z) holds the stack's lock, a process that is still running: stop it there, or unlock first.");
        assert.deepEqual(effects.unlock, [
            "Removes the lock of pid 4242 on host-a (user ci, since 2026-12-03 10:00:00Z): that process is still running, and unlocking does not stop it.",
            "Leaves the 2 pending operation(s) to the repair.",
        ]);
    });

    it("says a repair with nothing pending only backs up and rescans, and an unlock without a recorded lock still runs pulumi cancel", () => {
        const effects = recoveryEffects({ stack: "prod", findings: [] });
        assert.equal(effects.repair[1], "Nothing is pending: it only backs up the state and scans the stack again.");
        assert.equal(effects.repairRefused, undefined);
        assert.match(effects.unlock[0], /^No lock of prod is recorded; unlock runs pulumi cancel anyway/);
        assert.deepEqual(recoveryEffects({ stack: "x", findings: [foreign] }).unlock, ["Removes the lock of pid 7 on host-b: it was written on another host; make sure its pulumi is gone there."]);
    });
});

describe("dashboard staleness and destroys", () => {
    const status = (required: number, approvedBy: string[] = [], rejectedBy: string[] = []) => ({ required, approvedBy, rejectedBy, satisfied: rejectedBy.length === 0 && approvedBy.length >= required });
    const resources = [{ urn: "urn:pulumi:gone::fixture::pulumi-nodejs:dynamic:Resource::item-0", type: "pulumi-nodejs:dynamic:Resource" }];
    const fresh = { checkedAt: "2026-12-03T10:00:00Z", stale: false, changes: [] };
    const stale = { checkedAt: "2026-12-03T10:00:00Z", stale: true, changes: [{ part: "config", message: "the stack config file changed" }] };

    it("marks a stale preview with what changed and closes its approval, before anyone approves it", () => {
        const record = { previewId: "p1", update: status(1), destroy: status(0), latest: true, staleness: stale };
        assert.deepEqual(stalenessNote(record), { tone: "bad", text: "Stale: the stack config file changed since this preview ran. Neither an update nor a destroy can apply it (PLAN_STALE): run a new preview." });
        assert.equal(approvalSummary(record).open, false);
        assert.equal(approvalSummary({ ...record, staleness: fresh }).open, true);
        assert.deepEqual(stalenessNote({ staleness: fresh }), { tone: "ok", text: "Current: the stack's state, program and config are as this preview saw them (checked 2026-12-03 10:00:00Z)." });
        assert.equal(stalenessNote({ staleness: { checkedAt: "x", changes: [], error: "the state could not be read" } })?.tone, "neutral");
        assert.equal(stalenessNote({}), undefined);
    });

    it("counts destroy approvals apart from update approvals", () => {
        const record = { approvals: [{ decision: "approve", by: "bob", operation: "destroy", at: "2026-12-03T10:00:00Z" }, { decision: "approve", by: "ann", at: "2026-12-03T10:00:00Z" }],
            update: status(1, ["ann"]), destroy: status(1, ["bob"]), latest: true, staleness: fresh };
        const destroy = approvalSummary(record, "destroy");
        assert.equal(destroy.text, "Destroy approved (1 of 1) by bob: an admin may destroy the stack with this preview.");
        assert.deepEqual(destroy.decisions, ["Approved by bob (2026-12-03 10:00:00Z)"]);
        assert.equal(destroy.satisfied, true);
        assert.equal(approvalSummary({ ...record, destroy: status(1) }, "destroy").text, "Destroy waiting for approval: 0 of 1.");
        assert.equal(approvalSummary({ ...record, destroy: status(0) }, "destroy").needed, false);
        assert.equal(myDecision(record, "bob", "destroy")?.decision, "approve");
    });

    it("lists what a destroy deletes from the latest preview, and says when that list is stale or missing", () => {
        assert.deepEqual(destroyPlan("gone", undefined), { resources: [], note: "No succeeded preview of gone lists its resources: preview it to see what a destroy deletes." });
        const record = { previewId: "0123456789", update: status(0), destroy: status(0), latest: true, staleness: fresh, resources };
        assert.deepEqual(destroyPlan("gone", record), { resources: ["item-0 (pulumi-nodejs:dynamic:Resource)"], note: "As preview 01234567 saw them; the stack is unchanged since." });
        assert.match(destroyPlan("gone", { ...record, staleness: stale }).note, /^As preview 01234567 saw them; the stack changed since \(the stack config file changed\)/);
        assert.match(destroyPlan("gone", { ...record, resources: undefined }).note, /no longer kept/);
    });

    it("applies the approved preview to a destroy that needs approval, and blocks one without", () => {
        const approved = { previewId: "0123456789", update: status(0), destroy: status(1, ["bob"]), latest: true, staleness: fresh, resources };
        const plan = destroyPlan("gone", approved);
        assert.equal(plan.previewId, "0123456789");
        assert.equal(plan.blocked, undefined);
        assert.match(plan.note, /The destroy applies preview 01234567, approved for destroy by bob\.$/);
        const waiting = destroyPlan("gone", { ...approved, destroy: status(1) });
        assert.equal(waiting.previewId, undefined);
        assert.match(waiting.blocked ?? "", /^A destroy of gone needs 1 approval\(s\) of its latest preview, current and unused: Destroy waiting for approval: 0 of 1\./);
        assert.ok(destroyPlan("gone", { ...approved, staleness: stale }).blocked, "a stale preview cannot be applied");
        assert.ok(destroyPlan("gone", { ...approved, appliedBy: { jobId: "j" } }).blocked, "nor one already applied");
    });
});

describe("dashboard audit log and deliveries", () => {
    it("builds the audit query from the filters that are set", () => {
        assert.equal(auditQuery({}), "");
        assert.equal(auditQuery({ after: "12", limit: 50, stack: "prod", action: " approval " }), "?after=12&limit=50&stack=prod&action=approval");
        assert.equal(auditQuery({ after: 0, stack: "" }), "");
    });

    it("says whether the chain is intact, or the line and entry where it breaks", () => {
        assert.deepEqual(verificationText({ ok: true, entries: 12 }), { tone: "ok", text: "Chain verified: all 12 entries are intact and linked." });
        assert.deepEqual(verificationText({ ok: false, entries: 12, firstBad: { line: 3, seq: 3, reason: "content does not match its hash (entry edited)" } }),
            { tone: "bad", text: "Chain broken at line 3 (entry 3): content does not match its hash (entry edited). Entries from there on cannot be trusted." });
    });

    it("shows an entry's actor with role and channel, and its details as JSON", () => {
        const row = auditRow({ seq: 7, at: "2026-12-03T10:00:00Z", actor: { name: "ada", role: "admin", via: "token" }, action: "stack.unlock", from: "127.0.0.1", result: "ok", stack: "dev", details: { removedLocks: [] } });
        assert.deepEqual(row, { seq: 7, at: "2026-12-03T10:00:00Z", who: "ada (admin, token)", action: "stack.unlock", stack: "dev", result: "ok", from: "127.0.0.1", jobId: undefined, previewId: undefined, details: '{"removedLocks":[]}' });
    });

    it("words a delivery's outcome with its attempts and the receiver's last answer", () => {
        assert.equal(deliveryText({ status: "delivered", attempts: 1, lastStatus: 200 }), "Delivered after 1 attempt; last answer HTTP 200");
        assert.equal(deliveryText({ status: "failed", attempts: 4, lastError: "timeout after 5000 ms" }), "Failed after 4 attempts; last answer timeout after 5000 ms");
        assert.equal(deliveryText({ status: "pending", attempts: 0 }), "Pending after 0 attempts");
    });
});
