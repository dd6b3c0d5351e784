// The admin's override for a lock the service may not clear itself (a live holder), with the
// real CLI's `pulumi cancel` on a real file:// backend.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backendPaths, localProbe } from "../../../automation/recovery/scan";
import { SafeHarness, startSafeHarness } from "../approvals/safeHarness";
import { until } from "../harness";

describe("unlocking a stack (admin, real CLI)", function () {
    this.timeout(300_000);
    let h: SafeHarness;
    let holder: ChildProcess;
    let lockFile: string;

    before(async () => {
        h = await startSafeHarness({});
        const up = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(up.body.id)).state, "succeeded");
        // A lock whose holder is alive on this host: never stale, so only an admin may remove it.
        holder = spawn("bash", ["-c", "exec -a pulumi-holder sleep 120"], { stdio: "ignore" });
        await until(() => (localProbe.commandLine!(holder.pid!)?.startsWith("pulumi-holder") ? true : undefined), "the lock holder running", 10_000);
        const { locks } = backendPaths(h.server.config.backendUrl.slice("file://".length), "fixture", "dev");
        fs.mkdirSync(locks, { recursive: true });
        lockFile = path.join(locks, "held.json");
        fs.writeFileSync(lockFile, JSON.stringify({ pid: holder.pid, username: "someone", hostname: os.hostname(), timestamp: new Date().toISOString() }));
    });
    after(async () => {
        holder?.kill("SIGKILL");
        await h?.close();
    });

    const unlock = (body: unknown, token = h.tokens.admin, stack = "dev") => h.call("POST", `/v1/stacks/${stack}/unlock`, { token, body });

    it("leaves a live holder's lock to the admin: repair answers 409 STACK_LOCKED and keeps it", async () => {
        const r = await h.call("POST", "/v1/stacks/dev/repair", { token: h.tokens.admin, body: {} });
        assert.equal(r.status, 409);
        assert.equal(r.body.error.code, "STACK_LOCKED");
        assert.ok(fs.existsSync(lockFile));
    });
    it("refuses an unlock by an operator with 403 and one without the stack's name confirmed with 422", async () => {
        assert.equal((await unlock({ confirm: "dev" }, h.tokens.operator)).status, 403);
        const missing = await unlock({});
        assert.equal(missing.status, 422);
        const wrong = await unlock({ confirm: "prod" });
        assert.equal(wrong.status, 422);
        assert.match(wrong.body.error.message, /needs \{"confirm": "dev"\}/);
        assert.ok(fs.existsSync(lockFile));
    });
    it("removes the lock on an admin's confirmed unlock, naming and auditing the holder, and the stack updates again", async () => {
        const r = await unlock({ confirm: "dev" });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(r.body.removedLocks.map((l: { pid: number; username: string }) => [l.pid, l.username]), [[holder.pid, "someone"]]);
        assert.equal(r.body.after.state, "ok");
        assert.ok(!fs.existsSync(lockFile));
        const audit = await h.call("GET", "/v1/audit?action=stack.unlock", { token: h.tokens.admin });
        assert.deepEqual(audit.body.entries.map((e: { result: string; actor: { name: string } }) => [e.result, e.actor.name]), [["ok", "ada-admin"]]);
        assert.equal(audit.body.entries[0].details.removedLocks[0].pid, holder.pid);
        const up = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(up.body.id)).state, "succeeded");
    });
    it("answers 404 STACK_NOT_FOUND for a stack that has no state in the backend", async () => {
        const r = await unlock({ confirm: "prod" }, h.tokens.admin, "prod");
        assert.equal(r.status, 404);
        assert.equal(r.body.error.code, "STACK_NOT_FOUND");
    });
});
