// Tokens for machines over the API (/v1/tokens), as an admin and as everyone else would use them,
// against the real service on the fixture (SQLite store), with a clock the test moves forward:
// who may list, create, rotate and revoke; what a list never shows; what an expired or revoked
// token meets at its next request; last use recorded at most once a minute; every change audited.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { main as tokenCommand } from "../../../scripts/token";
import { readTokenFile } from "../../../automation/security/tokens";
import { startHarness, until, type Harness } from "../harness";

describe("tokens over the API (/v1/tokens)", function () {
    this.timeout(180_000);
    let h: Harness;
    // The service's clock: the wall clock moved on by `offset` (expiry and the minute between recorded uses).
    let offset = 0;
    const now = () => new Date(Date.now() + offset);

    before(async () => {
        h = await startHarness({ overrides: { now } });
    });
    after(async () => {
        await h?.stop();
    });

    const audit = async (action: string) => {
        const r = await h.call("GET", "/v1/audit?limit=500", { token: h.tokens.admin });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return (r.body.entries as { action: string; actor: { name: string }; result: string; details?: Record<string, unknown> }[]).filter((e) => e.action === action);
    };
    const listed = async () => {
        const r = await h.call("GET", "/v1/tokens", { token: h.tokens.admin });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.tokens as { name: string; role: string; createdAt?: string; expiresAt?: string; expired: boolean; lastUsedAt: string | null }[];
    };
    const create = async (body: Record<string, unknown>) => h.call("POST", "/v1/tokens", { token: h.tokens.admin, body });

    it("answers only admins: no token 401, viewer and operator 403, admin 200", async () => {
        assert.equal((await h.call("GET", "/v1/tokens")).status, 401);
        for (const token of [h.tokens.viewer, h.tokens.operator]) {
            assert.equal((await h.call("GET", "/v1/tokens", { token })).status, 403);
            const r = await h.call("POST", "/v1/tokens", { token, body: { name: "sneaky", role: "admin" } });
            assert.equal(r.status, 403, JSON.stringify(r.body));
            assert.equal((await h.call("DELETE", "/v1/tokens/ada-admin", { token })).status, 403);
        }
        assert.ok(!readTokenFile(h.tokensFile).some((t) => t.name === "sneaky"));
        assert.ok(readTokenFile(h.tokensFile).some((t) => t.name === "ada-admin"), "the admin's token is still there");
    });

    it("lists each token's name, role, created, last used and expiry, and never a secret or a hash", async () => {
        const tokens = await listed();
        assert.deepEqual(tokens.map((t) => [t.name, t.role]).sort(), [["ada-admin", "admin"], ["otto-operator", "operator"], ["vera-viewer", "viewer"]]);
        for (const t of tokens) {
            assert.deepEqual(Object.keys(t).sort(), ["createdAt", "expired", "lastUsedAt", "name", "role"], t.name);
            assert.ok(!Number.isNaN(Date.parse(t.createdAt!)));
        }
        const text = JSON.stringify(tokens);
        for (const secret of Object.values(h.tokens)) assert.ok(!text.includes(secret));
        for (const stored of readTokenFile(h.tokensFile)) assert.ok(!text.includes(stored.hash) && !text.includes(stored.hash.slice(0, 16)), stored.name);
    });

    it("creates a token with an expiry that works at once; its secret is in the answer only, and the creation is audited without it", async () => {
        const before = now().getTime();
        const r = await create({ name: "ci-deploy", role: "operator", expiresIn: "30d" });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.equal(r.headers.get("cache-control"), "no-store");
        assert.equal(r.headers.get("location"), "/v1/tokens/ci-deploy");
        assert.match(r.body.token, /^tbk_/);
        const expires = Date.parse(r.body.expiresAt) - before;
        assert.ok(expires >= 30 * 86_400_000 && expires < 30 * 86_400_000 + 60_000, r.body.expiresAt);
        assert.equal((await h.call("GET", "/v1/jobs", { token: r.body.token })).status, 200);
        assert.ok(!fs.readFileSync(h.tokensFile, "utf8").includes(r.body.token), "only the hash is stored");
        const entry = (await listed()).find((t) => t.name === "ci-deploy")!;
        assert.deepEqual([entry.role, entry.expiresAt, entry.expired], ["operator", r.body.expiresAt, false]);
        const located = await h.call("GET", r.headers.get("location")!, { token: h.tokens.admin });
        assert.equal(located.status, 200, "the Location answers");
        assert.deepEqual(located.body, entry);
        assert.equal((await h.call("GET", "/v1/tokens/no-such-token", { token: h.tokens.admin })).body.error.code, "TOKEN_NOT_FOUND");
        assert.equal((await h.call("GET", "/v1/tokens/ci-deploy", { token: h.tokens.operator })).status, 403);
        const [created] = await audit("token.create");
        assert.equal(created.actor.name, "ada-admin");
        assert.deepEqual(created.details, { name: "ci-deploy", role: "operator", expiresAt: r.body.expiresAt, replaced: false, path: "/v1/tokens", status: 201 });
        const all = await h.call("GET", "/v1/audit?limit=500", { token: h.tokens.admin });
        assert.ok(!JSON.stringify(all.body).includes(r.body.token), "the secret is not in the audit");
    });

    it("refuses an existing name without replace (409 TOKEN_EXISTS); with replace it rotates: the old secret is refused, the new one works", async () => {
        const first = await create({ name: "rotating", role: "viewer" });
        assert.equal(first.status, 201);
        const again = await create({ name: "rotating", role: "viewer" });
        assert.deepEqual([again.status, again.body.error?.code], [409, "TOKEN_EXISTS"]);
        assert.equal((await h.call("GET", "/v1/jobs", { token: first.body.token })).status, 200, "a refused create leaves the token alone");
        const rotated = await create({ name: "rotating", role: "viewer", replace: true });
        assert.deepEqual([rotated.status, rotated.body.replaced], [201, true]);
        assert.equal((await h.call("GET", "/v1/jobs", { token: first.body.token })).status, 401);
        assert.equal((await h.call("GET", "/v1/jobs", { token: rotated.body.token })).status, 200);
        assert.deepEqual((await audit("token.create")).filter((e) => e.details?.name === "rotating").map((e) => e.details?.replaced), [false, true]);
    });

    it("refuses a reserved sso: name, a bad role and a lifetime it cannot read (422), creating nothing", async () => {
        for (const body of [{ name: "sso:alice", role: "admin" }, { name: "ok-name", role: "root" }, { name: "ok-name", role: "viewer", expiresIn: "1 month" }, { name: "ok-name", role: "viewer", expiresIn: "99999d" }]) {
            const r = await create(body);
            assert.deepEqual([r.status, r.body.error?.code], [422, "INVALID_INPUT"], JSON.stringify(body));
        }
        assert.ok(!readTokenFile(h.tokensFile).some((t) => t.name === "ok-name" || t.name === "sso:alice"));
    });

    it("refuses an expired token with 401 TOKEN_EXPIRED saying when and how to rotate it, and lists it as expired", async () => {
        const r = await create({ name: "short-lived", role: "viewer", expiresIn: "1h" });
        assert.equal((await h.call("GET", "/v1/jobs", { token: r.body.token })).status, 200);
        offset += 2 * 3_600_000;
        const refused = await h.call("GET", "/v1/jobs", { token: r.body.token });
        assert.deepEqual([refused.status, refused.body.error?.code], [401, "TOKEN_EXPIRED"]);
        assert.ok(refused.body.error.message.includes(`expired at ${r.body.expiresAt}`), refused.body.error.message);
        assert.match(refused.body.error.message, /npm run token -- --name short-lived --role viewer --expires 30d/);
        assert.match(refused.body.error.message, /"replace": true/);
        assert.equal((await listed()).find((t) => t.name === "short-lived")!.expired, true);
        const rotated = await create({ name: "short-lived", role: "viewer", expiresIn: "30d", replace: true });
        assert.equal((await h.call("GET", "/v1/jobs", { token: rotated.body.token })).status, 200, "rotated as the message says, it works again");
    });

    it("records a token's last use at most once a minute and shows it in the list", async () => {
        const r = await create({ name: "busy-ci", role: "viewer" });
        assert.equal((await listed()).find((t) => t.name === "busy-ci")!.lastUsedAt, null, "not used yet");
        const firstUse = now().getTime();
        assert.equal((await h.call("GET", "/v1/jobs", { token: r.body.token })).status, 200);
        const recorded = await until(async () => (await listed()).find((t) => t.name === "busy-ci")!.lastUsedAt ?? undefined, "the first use recorded", 10_000);
        assert.ok(Date.parse(recorded) >= firstUse && Date.parse(recorded) <= now().getTime(), recorded);
        offset += 30_000;
        assert.equal((await h.call("GET", "/v1/jobs", { token: r.body.token })).status, 200);
        // The list is read after every earlier write landed: an admin request after the use, recorded or not.
        await h.call("GET", "/v1/jobs", { token: h.tokens.admin });
        assert.equal((await listed()).find((t) => t.name === "busy-ci")!.lastUsedAt, recorded, "a use 30 s later is not written");
        offset += 31_000;
        const later = now().getTime();
        assert.equal((await h.call("GET", "/v1/jobs", { token: r.body.token })).status, 200);
        const next = await until(async () => {
            const at = (await listed()).find((t) => t.name === "busy-ci")!.lastUsedAt!;
            return at !== recorded ? at : undefined;
        }, "the use a minute later recorded", 10_000);
        assert.ok(Date.parse(next) >= later, next);
        const rotated = await create({ name: "busy-ci", role: "viewer", replace: true });
        assert.equal(rotated.status, 201);
        assert.equal((await listed()).find((t) => t.name === "busy-ci")!.lastUsedAt, null, "a rotated token starts over");
    });

    it("npm run token -- list shows the last use the running service recorded in its data dir, and never a secret", async () => {
        const r = await create({ name: "cli-seen", role: "viewer", expiresIn: "12h" });
        await h.call("GET", "/v1/jobs", { token: r.body.token });
        await until(async () => ((await listed()).find((t) => t.name === "cli-seen")!.lastUsedAt ? true : undefined), "the use recorded", 10_000);
        const out = await tokenCommand(["list"], { AUTOMATION_DATA_DIR: h.dataDir, AUTOMATION_PROJECT_DIR: h.projectDir });
        assert.equal(out.code, 0, out.out);
        const line = out.out.split("\n").find((l) => l.startsWith("cli-seen "))!;
        const [name, role, created, lastUsed, expires] = line.split(/\s{2,}/);
        assert.deepEqual([name, role], ["cli-seen", "viewer"]);
        assert.match(created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.match(lastUsed, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, line);
        assert.equal(expires, r.body.expiresAt.replace(/\.\d{3}Z$/, "Z"));
        assert.ok(!out.out.includes(r.body.token) && !out.out.includes(readTokenFile(h.tokensFile).find((t) => t.name === "cli-seen")!.hash));
        const json = JSON.parse((await tokenCommand(["list", "--json"], { AUTOMATION_DATA_DIR: h.dataDir, AUTOMATION_PROJECT_DIR: h.projectDir })).out);
        assert.equal(json.tokens.find((t: { name: string }) => t.name === "cli-seen").lastUsedAt, (await listed()).find((t) => t.name === "cli-seen")!.lastUsedAt);
    });

    it("revokes a token: its next request is 401 and the job it queued does not start (TOKEN_REVOKED); audited; a second revoke is 404", async () => {
        // A slow program keeps the blocker's preview running, so the revoked token's job waits in the queue.
        h.configure("dev", { programMs: 120_000 });
        const victim = await create({ name: "leaving-ci", role: "operator" });
        const blocker = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        assert.equal(blocker.status, 202, JSON.stringify(blocker.body));
        const queued = await h.call("POST", "/v1/stacks/dev/previews", { token: victim.body.token, body: {} });
        assert.equal(queued.status, 202, JSON.stringify(queued.body));
        assert.equal((await h.server.store.getJob(queued.body.id))!.state, "queued");
        const revoked = await h.call("DELETE", "/v1/tokens/leaving-ci", { token: h.tokens.admin });
        assert.deepEqual([revoked.status, revoked.body.revoked, revoked.body.name, revoked.body.role], [200, true, "leaving-ci", "operator"]);
        assert.equal(revoked.body.token, undefined);
        const refused = await h.call("GET", "/v1/jobs", { token: victim.body.token });
        assert.deepEqual([refused.status, refused.body.error?.code], [401, "UNAUTHENTICATED"]);
        assert.equal((await h.call("POST", `/v1/jobs/${blocker.body.id}/cancel`, { token: h.tokens.operator, body: {} })).status, 202);
        const done = await h.waitFor(queued.body.id);
        assert.deepEqual([done.state, done.error?.code, done.startedAt], ["failed", "TOKEN_REVOKED", undefined], JSON.stringify(done.error));
        const [entry] = await audit("token.revoke");
        assert.deepEqual([entry.actor.name, entry.result, entry.details], ["ada-admin", "ok", { name: "leaving-ci", role: "operator", path: "/v1/tokens/leaving-ci", status: 200 }]);
        const again = await h.call("DELETE", "/v1/tokens/leaving-ci", { token: h.tokens.admin });
        assert.deepEqual([again.status, again.body.error?.code], [404, "TOKEN_NOT_FOUND"]);
        assert.ok(!(await listed()).some((t) => t.name === "leaving-ci"));
    });
});
