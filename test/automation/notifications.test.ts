// Outbound notifications with the real service, CLI and fixture, to real receivers on loopback:
// signed deliveries verified as a receiver would, retries of a failing receiver, a receiver that
// never answers holding back no job, destinations only from configuration, deliveries for admins.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadConfig } from "../../automation/config";
import { addToken } from "../../automation/security/tokens";
import { startHarness, until, type Harness } from "./harness";
import { receiver, verify, type Received } from "./receivers";

describe("outbound notifications, signed, retried, to receivers on loopback", function () {
    this.timeout(300_000);
    const SECRET = "notify-secret-0123456789";
    let h: Harness;
    let generic: Awaited<ReturnType<typeof receiver>>;
    let flaky: Awaited<ReturnType<typeof receiver>>;
    let dead: Awaited<ReturnType<typeof receiver>>;
    let approver: string;
    const events = (r: { got: Received[] }) => r.got.filter((g) => g.answered !== 503).map((g) => JSON.parse(g.body) as { event: string; stack: string; job?: { id: string; state: string } });

    before(async () => {
        generic = await receiver([200]);
        flaky = await receiver([503, 503, 200]);
        dead = await receiver(["hang"]);
        const env: Record<string, string> = { AUTOMATION_NOTIFY_WEBHOOK_URL: generic.url, AUTOMATION_NOTIFY_WEBHOOK_SECRET: SECRET };
        h = await startHarness({
            policies: { "prod.yaml": "operations:\n  update: { approvals: 1, approverRole: approver }\n" },
            env,
            // The destinations file beside the data dir, named before the configuration is read.
            prepare: (copy) => {
                env.AUTOMATION_NOTIFY_FILE = path.join(copy.dataDir, "..", "notify.yaml");
                fs.writeFileSync(
                    env.AUTOMATION_NOTIFY_FILE,
                    `destinations:\n  - name: flaky\n    url: ${flaky.url}\n    events: [job.failed]\n  - name: dead\n    url: ${dead.url}\n    format: slack\n    events: [job.finished]\n`,
                );
            },
        });
        approver = addToken(h.tokensFile, "ann-approver", "approver");
    });
    after(async () => {
        await h?.stop();
        for (const r of [generic, flaky, dead]) r?.close();
    });

    it("tells the generic webhook of a finished job, signed with HMAC-SHA256 over the timestamp and the body", async () => {
        const p = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        await h.waitFor(p.body.id);
        const got = await until(async () => generic.got.find((g) => JSON.parse(g.body).job?.id === p.body.id) ?? undefined, "the delivery");
        assert.ok(verify(SECRET, got), "the signature verifies");
        assert.equal(verify("another-secret-0123456789", got), false);
        assert.equal(verify(SECRET, { ...got, body: got.body.replace("succeeded", "failed") }), false, "a changed body does not verify");
        const body = JSON.parse(got.body);
        assert.deepEqual([body.event, body.stack, body.job.state, got.headers["x-automation-event"]], ["job.finished", "dev", "succeeded", "job.finished"]);
    });

    it("asks for an approval of a prod preview and says when it is granted", async () => {
        const p = await h.call("POST", "/v1/stacks/prod/previews", { token: h.tokens.operator, body: {} });
        await h.waitFor(p.body.id);
        await until(async () => (events(generic).some((e) => e.event === "approval.requested" && e.job?.id === p.body.id) ? true : undefined), "approval.requested");
        assert.equal((await h.call("POST", `/v1/jobs/${p.body.id}/approvals`, { token: approver, body: { decision: "approve" } })).status, 201);
        const granted = await until(async () => events(generic).find((e) => e.event === "approval.granted" && (e as { previewId?: string }).previewId === p.body.id), "approval.granted");
        assert.equal((granted as unknown as { by: string }).by, "ann-approver");
    });

    it("retries a receiver that answers 503 twice: the third attempt delivers, and the record says so", async () => {
        h.configure("dev", { failOn: "create", count: 3 });
        const u = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(u.body.id)).state, "failed");
        const mine = await until(async () => {
            const tries = flaky.got.filter((g) => JSON.parse(g.body).job?.id === u.body.id);
            return tries.length === 3 ? tries : undefined;
        }, "three attempts");
        assert.deepEqual(mine.map((g) => g.answered), [503, 503, 200]);
        assert.equal(new Set(mine.map((g) => g.headers["x-automation-delivery"])).size, 1, "one delivery, three attempts");
        assert.equal(mine[0].headers["x-automation-signature"], undefined, "a destination without a secret is not signed");
        const r = await until(async () => {
            const d = (await h.call("GET", "/v1/notifications/deliveries", { token: h.tokens.admin })).body.deliveries.find((x: { destination: string; status: string }) => x.destination === "flaky" && x.status === "delivered");
            return d ?? undefined;
        }, "the delivered record");
        assert.deepEqual([r.attempts, r.lastStatus, r.event], [3, 200, "job.failed"]);
        h.configure("dev", { count: 3 });
    });

    it("runs the next job while a receiver that never answers still holds its first delivery", async () => {
        const first = await h.call("POST", "/v1/stacks/dev/refreshes", { token: h.tokens.operator, body: {} });
        await h.waitFor(first.body.id);
        const second = await h.call("POST", "/v1/stacks/dev/refreshes", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(second.body.id)).state, "succeeded");
        const dead = (await h.call("GET", "/v1/notifications/deliveries?limit=500", { token: h.tokens.admin })).body.deliveries.filter((x: { destination: string }) => x.destination === "dead");
        assert.ok(dead.some((x: { status: string; attempts: number }) => x.status === "pending" && x.attempts <= 1), JSON.stringify(dead));
    });

    it("marks a delivery the previous process left pending (the receiver still hanging) failed at the next start, saying why, rather than pending for ever", async () => {
        const pendingBefore = (await h.call("GET", "/v1/notifications/deliveries?limit=500", { token: h.tokens.admin })).body.deliveries.filter((x: { status: string }) => x.status === "pending");
        assert.ok(pendingBefore.length > 0, "the hanging receiver holds a delivery");
        await h.restart();
        const after = (await h.call("GET", "/v1/notifications/deliveries?limit=500", { token: h.tokens.admin })).body.deliveries as { id: string; status: string; lastError?: string }[];
        for (const p of pendingBefore as { id: string }[]) {
            const now = after.find((x) => x.id === p.id)!;
            assert.deepEqual([now.status, now.lastError], ["failed", "the service stopped before this delivery completed; it was not sent again"]);
        }
    });

    it("shows admins where notifications go without a secret or a webhook's path, and nobody else", async () => {
        const r = await h.call("GET", "/v1/notifications/deliveries", { token: h.tokens.admin });
        assert.equal(r.status, 200);
        assert.deepEqual(r.body.destinations.map((d: { name: string; url: string; format: string; signed: boolean }) => [d.name, d.url, d.format, d.signed]), [
            ["webhook", `${new URL(generic.url).origin}/…`, "json", true],
            ["flaky", `${new URL(flaky.url).origin}/…`, "json", false],
            ["dead", `${new URL(dead.url).origin}/…`, "slack", false],
        ]);
        const text = JSON.stringify(r.body);
        assert.ok(!text.includes(SECRET) && !text.includes("s3cr3t-path"), "no secret, no path");
        assert.equal((await h.call("GET", "/v1/notifications/deliveries", { token: h.tokens.operator })).status, 403);
    });

    it("takes destinations only from configuration, and refuses a bad destinations file naming the field", () => {
        const file = path.join(h.dataDir, "..", "bad-notify.yaml");
        fs.writeFileSync(file, "destinations:\n  - name: x\n    url: ftp://example.org/\n    events: [job.exploded]\n");
        assert.throws(() => loadConfig({ AUTOMATION_PROJECT_DIR: h.projectDir, AUTOMATION_NOTIFY_FILE: file }), /AUTOMATION_NOTIFY_FILE: .*destinations\.0\.url: must be an http\(s\) URL[\s\S]*destinations\.0\.events\.0/);
        fs.writeFileSync(file, "destinations:\n  - name: x\n    url: https://example.org/\n    secretEnv: NOT_SET_ANYWHERE\n");
        assert.throws(() => loadConfig({ AUTOMATION_PROJECT_DIR: h.projectDir, AUTOMATION_NOTIFY_FILE: file }), /destination x: NOT_SET_ANYWHERE is not set/);
        assert.throws(() => loadConfig({ AUTOMATION_PROJECT_DIR: h.projectDir, AUTOMATION_NOTIFY_WEBHOOK_SECRET: SECRET }), /AUTOMATION_NOTIFY_WEBHOOK_SECRET: set without AUTOMATION_NOTIFY_WEBHOOK_URL/);
    });
});
