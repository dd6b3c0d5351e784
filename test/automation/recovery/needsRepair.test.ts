// needs-repair seen and enforced through HTTP on REAL artifacts: an update whose provider is
// stuck (deaf to cancellation) is force-cancelled by the service, which SIGKILLs the real CLI
// mid-create and leaves pending operations in the file backend. The stack must then show the
// finding, refuse every new operation before a job exists, and take work again after a repair.
import assert from "node:assert/strict";
import type { Job } from "../../../automation/jobs/types";
import { SafeHarness, startSafeHarness } from "../approvals/safeHarness";

describe("a stack left needing repair by a forced cancel (real CLI, file backend)", function () {
    this.timeout(300_000);
    let h: SafeHarness;
    let queuedBehind: Job;
    const jobsOf = async (stack: string) => (await h.server.store.listJobs({ stack, limit: 500 })).length;
    const pendingOf = (body: { repair?: { findings: { kind: string; operations?: { type: string; urn: string }[] }[] } }) =>
        body.repair?.findings.find((f) => f.kind === "pending-operations")?.operations ?? [];

    before(async function () {
        this.timeout(120_000);
        h = await startSafeHarness({});
        h.configure("dev", { hangMs: 120_000, count: 1 });
        const update = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        assert.equal(update.status, 202, JSON.stringify(update.body));
        queuedBehind = (await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} })).body;
        // Cancelled once the engine has begun the create the provider will never finish.
        await h.waitFor(update.body.id, async () => (await h.server.store.eventsAfter(update.body.id, 0, 10_000)).some((e) => e.type === "resourcePreEvent" && JSON.stringify(e.data).includes('dynamic:Resource::item-0"')));
        await h.call("POST", `/v1/jobs/${update.body.id}/cancel`, { token: h.tokens.operator });
        const done = await h.waitFor(update.body.id, undefined, 60_000);
        assert.equal(done.state, "cancelled");
        assert.ok((await h.server.store.eventsAfter(done.id, 0, 10_000)).some((e) => e.type === "forceKill"), "the service had to kill the stuck update");
    });
    after(async () => h?.close());

    it("fails the job queued behind the killed update with NEEDS_REPAIR instead of running it", async () => {
        const job = await h.waitFor(queuedBehind.id, undefined, 60_000);
        assert.equal(job.state, "failed");
        assert.equal(job.error?.code, "NEEDS_REPAIR");
        assert.equal(job.startedAt, undefined, "it never reached the engine");
    });

    it("shows repair.needed with the pending create on GET /v1/stacks/{stack} and GET /v1/stacks", async () => {
        const one = await h.call("GET", "/v1/stacks/dev", { token: h.tokens.viewer });
        assert.equal(one.body.repair.needed, true);
        assert.deepEqual(pendingOf(one.body).map((p) => [p.type, p.urn.split("::").pop()]), [["creating", "item-0"]]);
        assert.equal(one.body.state, "idle", "state still says what the queue is doing");
        const all = await h.call("GET", "/v1/stacks", { token: h.tokens.viewer });
        const byName = Object.fromEntries(all.body.stacks.map((s: { name: string }) => [s.name, s]));
        assert.equal(byName.dev.repair.needed, true);
        assert.equal(byName.prod.repair.needed, false);
    });

    it("refuses previews, updates, refreshes and destroys of it with 409 NEEDS_REPAIR naming the repair endpoint, creating no job", async () => {
        const before = await jobsOf("dev");
        const attempts: [string, string, unknown][] = [
            ["previews", h.tokens.operator, {}],
            ["updates", h.tokens.operator, {}],
            ["refreshes", h.tokens.operator, { mode: "apply" }],
            ["destroys", h.tokens.admin, { confirm: "dev" }],
        ];
        for (const [kind, token, body] of attempts) {
            const r = await h.call("POST", `/v1/stacks/dev/${kind}`, { token, body });
            assert.equal(r.status, 409, `${kind}: ${JSON.stringify(r.body)}`);
            assert.equal(r.body.error.code, "NEEDS_REPAIR");
            assert.match(r.body.error.message, /POST \/v1\/stacks\/dev\/repair/);
            assert.equal(r.body.error.details.repair, "/v1/stacks/dev/repair");
        }
        assert.equal(await jobsOf("dev"), before);
    });

    it("still accepts work on a healthy stack", async () => {
        const r = await h.call("POST", "/v1/stacks/prod/previews", { token: h.tokens.operator, body: {} });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        await h.waitFor(r.body.id);
    });

    it("takes work again once an admin's repair has cleared the pending operations", async () => {
        const repair = await h.call("POST", "/v1/stacks/dev/repair", { token: h.tokens.admin, body: { method: "strip" } });
        assert.equal(repair.status, 200, JSON.stringify(repair.body));
        assert.equal(repair.body.after.state, "ok");
        const stack = await h.call("GET", "/v1/stacks/dev", { token: h.tokens.viewer });
        assert.deepEqual([stack.body.repair.needed, stack.body.repair.findings], [false, []]);
        h.configure("dev", { count: 1 });
        const r = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const job = await h.waitFor(r.body.id);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
    });
});
