// The automation service through HTTP against the real Pulumi CLI, a real file:// backend and
// real worker processes, on a private copy of the fixture project (files stand in for cloud
// resources). One server for the whole file; each test uses its own stack where it can.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Job } from "../../automation/jobs/types";
import { Harness, startHarness } from "./harness";
import { readSse, type SseEvent } from "./sse";

describe("automation service over HTTP with the real Pulumi CLI", function () {
    this.timeout(180_000);
    let h: Harness;
    // The SSE test reads the refresh job's stream while it runs, dropping and resuming once.
    let refreshJob = "";
    let streamed: Promise<SseEvent[]> = Promise.resolve([]);
    const out = (stack: string, file: string) => path.join(h.projectDir, "out", stack, file);
    const start = async (stack: string, op: string, body: unknown = {}, token?: string) => {
        const r = await h.call("POST", `/v1/stacks/${stack}/${op}`, { token: token ?? h.tokens.admin, body });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        return r.body as Job;
    };
    const hasEvent = async (jobId: string, type: string) => (await h.server.store.eventsAfter(jobId, 0, 10_000)).some((e) => e.type === type);
    /** True once the engine has started working on the named fixture item. */
    const itemStarted = async (jobId: string, item: string) =>
        (await h.server.store.eventsAfter(jobId, 0, 10_000)).some((e) => e.type === "resourcePreEvent" && JSON.stringify(e.data).includes(`dynamic:Resource::${item}"`));

    before(async function () {
        this.timeout(60_000);
        h = await startHarness({ env: { AUTOMATION_QUEUE_LIMIT: "4", AUTOMATION_CONCURRENCY: "2" } });
    });
    after(async () => h?.stop());

    describe("operations", () => {
        it("previews dev: 202 with a Location, a summary matching the fixture, and no file written", async () => {
            const r = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
            assert.equal(r.status, 202);
            assert.equal(r.headers.get("location"), `/v1/jobs/${r.body.id}`);
            assert.equal(r.body.triggeredBy, "otto-operator");
            const job = await h.waitFor(r.body.id);
            assert.equal(job.state, "succeeded");
            // The fixture's dev stack: two items plus the stack itself.
            assert.deepEqual(job.summary?.counts, { create: 3 });
            const items = job.summary!.steps.filter((s) => s.type === "pulumi-nodejs:dynamic:Resource");
            assert.deepEqual(items.map((s) => [s.urn.split("::").pop(), s.op]).sort(), [["item-0", "create"], ["item-1", "create"]]);
            assert.equal(fs.existsSync(out("dev", "item-0.txt")), false);
            const fetched = await h.call("GET", `/v1/jobs/${job.id}`, { token: h.tokens.viewer });
            assert.deepEqual(fetched.body.summary.counts, { create: 3 });
        });

        it("updates dev: the fixture's files appear on disk and the stack reports its outputs", async () => {
            const job = await h.waitFor((await start("dev", "updates")).id);
            assert.equal(job.state, "succeeded", JSON.stringify(job.error));
            assert.equal(fs.readFileSync(out("dev", "item-0.txt"), "utf8"), "v1");
            assert.equal(fs.readFileSync(out("dev", "item-1.txt"), "utf8"), "v1");
            const stack = await h.call("GET", "/v1/stacks/dev", { token: h.tokens.viewer });
            assert.equal(stack.body.state, "idle");
            assert.equal(stack.body.lastJob.id, job.id);
            assert.equal(stack.body.outputs.count, 2);
            const log = await h.call("GET", `/v1/jobs/${job.id}/log?limit=3`, { token: h.tokens.viewer });
            assert.equal(log.body.lines.length, 3);
            const rest = await h.call("GET", `/v1/jobs/${job.id}/log?cursor=${log.body.nextCursor}`, { token: h.tokens.viewer });
            assert.equal(rest.body.lines[0].seq, 4, "the next page starts after the cursor");
        });

        it("reports the outputs of a program whose outputs map looks like a secret as a map, each output on its own", async () => {
            h.configure("mimic", { count: 0, mimicSecret: "true" });
            const job = await h.waitFor((await start("mimic", "updates")).id);
            assert.equal(job.state, "succeeded", JSON.stringify(job.error));
            assert.deepEqual(job.summary!.outputs, { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: '"not a secret"', count: 0, files: [] });
        });

        it("shows each changed property of a preview with its old and new value", async () => {
            h.configure("diffs", { count: 1 });
            assert.equal((await h.waitFor((await start("diffs", "updates")).id)).state, "succeeded");
            h.configure("diffs", { count: 1, content: "v2" });
            const job = await h.waitFor((await start("diffs", "previews")).id);
            const api = await h.call("GET", `/v1/jobs/${job.id}`, { token: h.tokens.viewer });
            const item = api.body.summary.steps.find((st: { urn: string }) => st.urn.endsWith("::item-0"));
            assert.deepEqual([item.op, item.diffs], ["update", [{ path: "content", kind: "update", old: "v1", new: "v2" }]]);
        });

        it("reports drift: a refresh in preview mode names the drifted resource and property (state vs. actual), and the stack shows it", async () => {
            h.configure("drift", { count: 2 });
            assert.equal((await h.waitFor((await start("drift", "updates")).id)).state, "succeeded");
            fs.writeFileSync(out("drift", "item-1.txt"), "edited behind Pulumi's back");
            const job = await h.waitFor((await start("drift", "refreshes")).id);
            assert.equal(job.state, "succeeded");
            const item = job.summary!.steps.find((st) => st.urn.endsWith("::item-1"));
            assert.deepEqual([item?.op, item?.diffs], ["update", [{ path: "content", kind: "update", old: "v1", new: "edited behind Pulumi's back" }]]);
            assert.equal(job.summary!.steps.some((st) => st.urn.endsWith("::item-0")), false, "the untouched item did not drift");
            const stack = await h.call("GET", "/v1/stacks/drift", { token: h.tokens.viewer });
            assert.deepEqual({ ...stack.body.drift, checkedAt: undefined }, { checkedAt: undefined, jobId: job.id, mode: "preview", drifted: 1,
                resources: [{ urn: item!.urn, op: "update", properties: ["content"] }] });
            assert.ok(Date.parse(stack.body.drift.checkedAt) > 0);
            assert.equal(item?.drift, true, "a refresh's step is marked as drift");
            // With refresh, a preview lists the drift it found and, apart, the update it plans.
            const previewed = await h.waitFor((await start("drift", "previews", { refresh: true })).id);
            assert.equal(previewed.state, "succeeded", JSON.stringify(previewed.error));
            const onItem = previewed.summary!.steps.filter((st) => st.urn.endsWith("::item-1"));
            assert.deepEqual(onItem.map((st) => [st.op, st.drift ?? false]), [["update", true], ["update", false]], JSON.stringify(previewed.summary!.steps));
            assert.deepEqual(onItem[0].diffs, [{ path: "content", kind: "update", old: "v1", new: "edited behind Pulumi's back" }], "the drift: state against the file");
            assert.deepEqual(previewed.summary!.steps.filter((st) => st.drift).map((st) => st.urn.split("::").pop()), ["item-1"], "only what drifted");
            assert.equal(previewed.summary!.counts.update, 1, "the engine counts the planned update once");
        });

        it("detects a file changed behind Pulumi's back with a refresh, and leaves the file alone", async () => {
            fs.writeFileSync(out("dev", "item-0.txt"), "edited by hand");
            const started = await start("dev", "refreshes", {}, h.tokens.operator);
            refreshJob = started.id;
            const url = `${h.url}/v1/jobs/${started.id}/events`;
            streamed = (async () => {
                const firstPart = await readSse(url, h.tokens.viewer, { stopAfter: 3 });
                return [...firstPart, ...(await readSse(url, h.tokens.viewer, { lastEventId: firstPart[2].id }))];
            })();
            streamed.catch(() => undefined); // awaited (and reported) by the next test
            const job = await h.waitFor(started.id);
            assert.equal(job.state, "succeeded", JSON.stringify(job.error));
            assert.equal(job.summary?.counts.update, 1);
            assert.deepEqual(
                job.summary!.steps.map((s) => [s.urn.split("::").pop(), s.op]),
                [["item-0", "update"]],
            );
            assert.equal(fs.readFileSync(out("dev", "item-0.txt"), "utf8"), "edited by hand");
        });

        it("streams a job's events over SSE as stored, ending with the final state, and resumes after Last-Event-ID", async () => {
            const job = { id: refreshJob };
            const streamedEvents = await streamed;
            const stored = await h.server.store.eventsAfter(job.id, 0, 10_000);
            assert.deepEqual(streamedEvents.map((e) => e.id), stored.map((e) => e.seq));
            assert.deepEqual(streamedEvents.map((e) => e.event), stored.map((e) => e.type));
            assert.deepEqual(streamedEvents.map((e) => e.data.data), stored.map((e) => e.data));
            const last = streamedEvents[streamedEvents.length - 1];
            assert.equal(last.event, "state");
            assert.equal(last.data.data.state, "succeeded");
            assert.ok(streamedEvents.some((e) => e.event === "resourcePreEvent"), "engine events are streamed");
        });

        it("resumes a finished job's stream from ?lastEventId= and ends at once when nothing is left", async () => {
            const stored = await h.server.store.eventsAfter(refreshJob, 0, 10_000);
            const tail = await readSse(`${h.url}/v1/jobs/${refreshJob}/events?lastEventId=${stored[stored.length - 3].seq}`, h.tokens.viewer);
            assert.deepEqual(tail.map((e) => e.id), stored.slice(-2).map((e) => e.seq));
            const none = await readSse(`${h.url}/v1/jobs/${refreshJob}/events`, h.tokens.viewer, { lastEventId: stored[stored.length - 1].seq });
            assert.deepEqual(none, []);
        });

        it("refuses a destroy without {\"confirm\": \"<stack>\"} and lets only an admin destroy", async () => {
            const none = await h.call("POST", "/v1/stacks/dev/destroys", { token: h.tokens.admin, body: {} });
            assert.equal(none.status, 422);
            const wrong = await h.call("POST", "/v1/stacks/dev/destroys", { token: h.tokens.admin, body: { confirm: "prod" } });
            assert.equal(wrong.status, 422);
            assert.equal(wrong.body.error.code, "INVALID_INPUT");
            const operator = await h.call("POST", "/v1/stacks/dev/destroys", { token: h.tokens.operator, body: { confirm: "dev" } });
            assert.equal(operator.status, 403);
            assert.equal((await h.server.store.listJobs({ stack: "dev" })).filter((j) => j.op === "destroy").length, 0);
            assert.ok(fs.existsSync(out("dev", "item-1.txt")));
        });

        it("destroys dev when confirmed, removing its files", async () => {
            const job = await h.waitFor((await start("dev", "destroys", { confirm: "dev" })).id);
            assert.equal(job.state, "succeeded", JSON.stringify(job.error));
            assert.equal(fs.existsSync(out("dev", "item-1.txt")), false);
        });

        it("fails an update whose resource fails with OPERATION_FAILED, saying why in the engine's words", async () => {
            // (That the job's secrets are redacted from this message is attacked in security/redaction.test.ts.)
            h.configure("broken", { failOn: "create", count: 1 });
            const job = await h.waitFor((await start("broken", "updates")).id);
            assert.equal(job.state, "failed");
            assert.equal(job.error?.code, "OPERATION_FAILED");
            const api = await h.call("GET", `/v1/jobs/${job.id}`, { token: h.tokens.viewer });
            assert.match(api.body.error.message, /^The update of stack "broken" failed: .*stand-in cloud refused to create item-0\.txt holding "v1"/);
            const log = await h.call("GET", `/v1/jobs/${job.id}/log?limit=1000`, { token: h.tokens.viewer });
            assert.match(log.body.lines.map((l: { text: string }) => l.text).join("\n"), /stand-in cloud refused to create item-0\.txt/);
        });
    });

    describe("cancellation", () => {
        it("removes a queued job without running it", async () => {
            h.configure("slow", { delayMs: 2500, count: 1 });
            const running = await start("slow", "updates");
            const queued = await start("slow", "previews");
            const r = await h.call("POST", `/v1/jobs/${queued.id}/cancel`, { token: h.tokens.operator });
            assert.equal(r.status, 200);
            assert.equal(r.body.state, "cancelled");
            await h.waitFor(running.id);
            const after = (await h.server.store.getJob(queued.id))!;
            assert.equal(after.state, "cancelled");
            assert.equal(after.startedAt, undefined, "a cancelled queued job never starts");
            const again = await h.call("POST", `/v1/jobs/${queued.id}/cancel`, { token: h.tokens.operator });
            assert.equal(again.status, 409);
            assert.equal(again.body.error.code, "JOB_FINISHED");
        });

        it("stops a running update gracefully, releasing the stack's lock", async () => {
            h.configure("slow", { delayMs: 2500, count: 2, content: "v2" });
            const job = await start("slow", "updates");
            await h.waitFor(job.id, () => itemStarted(job.id, "item-0"));
            const r = await h.call("POST", `/v1/jobs/${job.id}/cancel`, { token: h.tokens.operator });
            assert.equal(r.status, 202);
            // Until the engine has stopped, the job says it is being cancelled, and by whom.
            assert.equal(r.body.state, "cancelling");
            const meanwhile = await h.call("GET", `/v1/jobs/${job.id}`, { token: h.tokens.viewer });
            assert.deepEqual([meanwhile.body.state, meanwhile.body.cancelRequestedBy], ["cancelling", r.body.cancelRequestedBy]);
            assert.ok(r.body.cancelRequestedBy, "names who cancelled");
            const listed = await h.call("GET", `/v1/jobs?state=cancelling`, { token: h.tokens.viewer });
            assert.deepEqual(listed.body.jobs.map((j: { id: string }) => j.id), [job.id]);
            const again = await h.call("POST", `/v1/jobs/${job.id}/cancel`, { token: h.tokens.operator });
            assert.deepEqual([again.status, again.body.state], [202, "cancelling"]);
            const done = await h.waitFor(job.id);
            assert.equal(done.state, "cancelled");
            assert.equal((await h.call("GET", `/v1/jobs/${job.id}`, { token: h.tokens.viewer })).body.state, "cancelled");
            assert.equal(await hasEvent(job.id, "forceKill"), false, "the engine stopped within the grace period");
            const locks = path.join(h.dataDir, "state", ".pulumi", "locks", "organization", "fixture", "slow");
            assert.deepEqual(fs.existsSync(locks) ? fs.readdirSync(locks) : [], [], "a graceful stop releases the stack's lock");
        });

        it("kills the process group of a job that does not stop within the grace period", async () => {
            h.configure("stuck", { hangMs: 120_000, count: 1 });
            const job = await start("stuck", "updates");
            await h.waitFor(job.id, () => itemStarted(job.id, "item-0"));
            const asked = Date.now();
            await h.call("POST", `/v1/jobs/${job.id}/cancel`, { token: h.tokens.operator });
            const done = await h.waitFor(job.id, undefined, 60_000);
            assert.equal(done.state, "cancelled");
            assert.ok(await hasEvent(job.id, "forceKill"));
            assert.ok(Date.now() - asked < 60_000, "did not wait for the stuck create to finish");
        });
    });

    describe("force-cancel", () => {
        it("kills a cancelling job at once when asked, without waiting out the grace period, and refuses to force a job nobody cancelled", async () => {
            h.configure("forced", { hangMs: 120_000, count: 1 });
            const job = await start("forced", "updates");
            await h.waitFor(job.id, () => itemStarted(job.id, "item-0"));
            const early = await h.call("POST", `/v1/jobs/${job.id}/cancel`, { token: h.tokens.admin, body: { force: true } });
            assert.equal(early.status, 409, "a job that was not cancelled first is not forced");
            assert.equal((await h.call("POST", `/v1/jobs/${job.id}/cancel`, { token: h.tokens.operator })).body.state, "cancelling");
            const asked = Date.now();
            const forced = await h.call("POST", `/v1/jobs/${job.id}/cancel`, { token: h.tokens.admin, body: { force: true } });
            assert.equal(forced.status, 202);
            const done = await h.waitFor(job.id);
            assert.equal(done.state, "cancelled");
            // The harness's grace period is 4 s; the forced kill does not wait for it.
            assert.ok(Date.now() - asked < 3500, `stopped ${Date.now() - asked} ms after the force`);
            assert.ok((await h.server.store.eventsAfter(job.id, 0, 10_000)).some((e) => e.type === "forceKill" && (e.data as { early?: boolean }).early === true));
        });
    });

    describe("queueing", () => {
        it("runs 20 concurrent requests over two stacks without overlapping on a stack or surfacing ConcurrentUpdateError", async () => {
            h.configure("dev", { count: 2, content: "c1" });
            h.configure("prod", { count: 3, content: "c1" });
            // Coalescing keeps this to three runs per stack: the update, the refresh, the last preview.
            const pattern = ["updates", "previews", "previews", "previews", "refreshes", "previews", "previews", "previews", "previews", "previews"];
            const requests = pattern.flatMap((op) => ["dev", "prod"].map((stack) => ({ stack, op })));
            const answers = await Promise.all(requests.map(({ stack, op }) => h.call("POST", `/v1/stacks/${stack}/${op}`, { token: h.tokens.operator, body: {} })));
            assert.deepEqual(answers.map((a) => a.status), requests.map(() => 202));
            const jobs = await Promise.all(answers.map((a) => h.waitFor(a.body.id, undefined, 150_000)));
            for (const j of jobs) {
                assert.ok(["succeeded", "superseded"].includes(j.state), `${j.op} on ${j.stack}: ${j.state} ${JSON.stringify(j.error)}`);
                assert.notEqual(j.error?.code, "STACK_LOCKED");
            }
            for (const stack of ["dev", "prod"]) {
                const ran = jobs.filter((j) => j.stack === stack && j.startedAt).sort((a, b) => a.startedAt!.localeCompare(b.startedAt!));
                for (let i = 1; i < ran.length; i++) assert.ok(ran[i].startedAt! >= ran[i - 1].finishedAt!, `${stack}: ${ran[i].id} started before ${ran[i - 1].id} finished`);
            }
            assert.ok(jobs.some((j) => j.state === "superseded"), "queued previews of a stack coalesce");
            assert.equal(fs.readFileSync(out("prod", "item-2.txt"), "utf8"), "c1");
        });
    });

    describe("operations endpoints", () => {
        it("reports ready with the CLI version, a writable backend and store, without a token", async () => {
            const health = await h.call("GET", "/healthz");
            assert.equal(health.status, 200);
            const ready = await h.call("GET", "/readyz");
            assert.equal(ready.status, 200);
            assert.match(ready.body.checks.cli.detail, /pulumi v3\.\d+\.\d+/);
            assert.equal(ready.body.checks.backend.ok, true);
            assert.equal(ready.body.checks.store.ok, true);
            assert.deepEqual(ready.body.checks.plugins, { ok: true, detail: "the project needs no resource plugin" });
        });

        it("exposes Prometheus metrics with jobs by op, stack and result", async () => {
            const m = await h.call("GET", "/metrics");
            assert.equal(m.status, 200);
            assert.match(m.body, /automation_jobs_total\{op="update",stack="dev",result="succeeded"\} \d+/);
            assert.match(m.body, /automation_queue_depth \d+/);
            assert.match(m.body, /automation_cli_spawns_total\{op="preview"\} \d+/);
        });

        it("serves an OpenAPI document describing every /v1 operation route", async () => {
            const doc = await h.call("GET", "/v1/openapi.json");
            assert.equal(doc.status, 200);
            for (const p of ["/v1/stacks/{stack}/previews", "/v1/stacks/{stack}/destroys", "/v1/jobs/{id}/events", "/v1/jobs/{id}/cancel"]) assert.ok(doc.body.paths[p], p);
            assert.deepEqual(doc.body.paths["/v1/stacks/{stack}/destroys"].post.requestBody.content["application/json"].schema.required, ["confirm"]);
        });
    });

    describe("errors", () => {
        it("answers 401 without a token and 403 when the role is too low", async () => {
            const anon = await h.call("GET", "/v1/stacks");
            assert.equal(anon.status, 401);
            assert.equal(anon.body.error.code, "UNAUTHENTICATED");
            const viewer = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.viewer, body: {} });
            assert.equal(viewer.status, 403);
            assert.equal(viewer.body.error.code, "FORBIDDEN");
        });

        it("answers 404 for an unknown stack, job or route, as JSON", async () => {
            const stack = await h.call("POST", "/v1/stacks/staging/previews", { token: h.tokens.operator, body: {} });
            assert.deepEqual([stack.status, stack.body.error.code], [404, "STACK_NOT_FOUND"]);
            const job = await h.call("GET", "/v1/jobs/00000000-0000-4000-8000-000000000000", { token: h.tokens.viewer });
            assert.deepEqual([job.status, job.body.error.code], [404, "JOB_NOT_FOUND"]);
            const route = await h.call("GET", "/v1/nothing-here", { token: h.tokens.viewer });
            assert.deepEqual([route.status, route.body.error.code], [404, "NOT_FOUND"]);
        });

        it("answers 422 for a malformed stack name or unknown body field, 400 for broken JSON, 413 for a huge body", async () => {
            const name = await h.call("POST", "/v1/stacks/..%2Fetc/previews", { token: h.tokens.operator, body: {} });
            assert.equal(name.status, 422);
            const field = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: { stack: "x; rm -rf /" } });
            assert.equal(field.status, 422);
            assert.equal(field.body.error.details.problems[0].field, "body");
            const json = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, raw: "{not json" });
            assert.deepEqual([json.status, json.body.error.code], [400, "BAD_REQUEST"]);
            const big = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: { message: "x".repeat(100_000) } });
            assert.deepEqual([big.status, big.body.error.code], [413, "PAYLOAD_TOO_LARGE"]);
            assert.equal((await h.server.store.listJobs({ stack: "dev", state: "queued" })).length, 0);
        });

        it("answers 409 STACK_BUSY for noQueue on a busy stack and 409 QUEUE_FULL beyond the queue limit", async () => {
            h.configure("slow", { delayMs: 2000, count: 1, content: "q" });
            const running = await start("slow", "updates");
            const busy = await h.call("POST", "/v1/stacks/slow/refreshes", { token: h.tokens.operator, body: { noQueue: true } });
            assert.deepEqual([busy.status, busy.body.error.code], [409, "STACK_BUSY"]);
            const queued: Job[] = [];
            for (let i = 0; i < 4; i++) queued.push(await start("slow", "refreshes"));
            const full = await h.call("POST", "/v1/stacks/slow/refreshes", { token: h.tokens.operator, body: {} });
            assert.deepEqual([full.status, full.body.error.code], [409, "QUEUE_FULL"]);
            for (const q of queued) await h.call("POST", `/v1/jobs/${q.id}/cancel`, { token: h.tokens.operator });
            await h.waitFor(running.id);
        });
    });
});
