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
        assert.deepEqual(permissions("viewer"), { preview: false, refresh: false, update: false, cancel: false, approve: false, destroy: false, forceCancel: false });
        assert.deepEqual(permissions("operator"), { preview: true, refresh: true, update: true, cancel: true, approve: false, destroy: false, forceCancel: false });
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

    it("shows a stack's queue state, and needs-repair beside it only when recovery says so", () => {
        assert.deepEqual(stackStates({ state: "idle", repair: { needed: true } }), ["idle", "needs-repair"]);
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
            appliedBy: { jobId: "j-9" } }), { needed: true, open: false, text: "Applied by job j-9: this approval is used up; preview again to change the stack.", decisions: [] });
        assert.deepEqual(approvalSummary({ approvals: [], update: { required: 0, approvedBy: [], rejectedBy: [], satisfied: true }, latest: true }), {
            needed: false,
            open: false,
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
