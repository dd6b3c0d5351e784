// Crash recovery on REAL artifacts: a `pulumi up` of the fixture is SIGKILLed mid-create with
// the real CLI, which leaves its lock file and pending operations in the file backend; the
// service must find them at start-up, clear only the provably stale lock, and repair on request.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfig } from "../../../automation/config";
import { silentLogger } from "../../../automation/logger";
import { backendPaths, localProbe, readLocks, readPendingOperations } from "../../../automation/recovery/scan";
import { RunningService, startService } from "../../../automation/assembly";
import { call, prepareFixture, until } from "../harness";
import { processTag } from "../processes";

describe("crash recovery after a SIGKILLed pulumi up (real CLI, file backend)", function () {
    this.timeout(300_000);
    const fx = prepareFixture();
    const config = loadConfig({ PORT: "0", AUTOMATION_PROJECT_DIR: fx.projectDir, AUTOMATION_DATA_DIR: fx.dataDir, PULUMI_CONFIG_PASSPHRASE: "fixture-passphrase" });
    const backendDir = config.backendUrl.slice("file://".length);
    const paths = backendPaths(backendDir, "fixture", "prod");
    // The killed CLI's language host and providers outlive it; the tag finds them afterwards.
    const tag = processTag();
    const env = {
        ...process.env,
        ...tag.env,
        PATH: [config.pulumiBin, path.dirname(process.execPath), process.env.PATH].join(path.delimiter),
        PULUMI_BACKEND_URL: config.backendUrl,
        PULUMI_CONFIG_PASSPHRASE: "fixture-passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    let server: RunningService | undefined;
    const api = (method: string, url: string, o: Parameters<typeof call>[3] = {}) => call(server!.url, method, url, o);

    before(async () => {
        fs.mkdirSync(backendDir, { recursive: true });
        fx.configure("prod", { count: 3, delayMs: 60_000 });
        const init = spawnSync(path.join(config.pulumiBin, "pulumi"), ["stack", "init", "prod", "--non-interactive"], { cwd: fx.projectDir, env, encoding: "utf8" });
        assert.equal(init.status, 0, init.stderr);
        const up = spawn(path.join(config.pulumiBin, "pulumi"), ["up", "--yes", "--skip-preview", "--non-interactive", "-s", "prod"], { cwd: fx.projectDir, env, detached: true, stdio: "ignore" });
        // Killed once the engine has recorded creates in flight (the provider sleeps 60 s in each).
        await until(() => (readPendingOperations(paths.checkpoint).length >= 3 ? true : undefined), "pending creates in the checkpoint", 120_000);
        process.kill(-up.pid!, "SIGKILL");
        await new Promise((r) => up.once("exit", r));
        // What a crashed host leaves: nothing of the killed update runs on (its provider would
        // otherwise sit out its 60 s creates, and then live on, orphaned).
        tag.killAll();
    });
    after(async () => {
        await server?.stop();
        tag.killAll();
    });

    it("leaves a lock file and pending creates behind, as the real CLI does", () => {
        assert.equal(readLocks(paths.locks).length, 1);
        assert.deepEqual([...new Set(readPendingOperations(paths.checkpoint).map((p) => p.type))], ["creating"]);
    });
    it("clears the dead process's lock at start-up and marks the stack needs-repair with the pending creates", async () => {
        server = await startService(config, { logger: silentLogger() });
        assert.equal(readLocks(paths.locks).length, 0);
        const r = await api("GET", "/v1/stacks/prod/repair", { token: fx.tokens.viewer });
        assert.equal(r.body.state, "needs-repair");
        const pending = r.body.findings.find((f: { kind: string }) => f.kind === "pending-operations");
        assert.equal(pending.operations.length, 3);
        const audit = (await api("GET", "/v1/audit?action=recovery", { token: fx.tokens.admin })).body.entries.map((e: { action: string }) => e.action);
        assert.deepEqual(audit, ["recovery.lock-cleared", "recovery.needs-repair"]);
    });
    it("refuses a repair by a non-admin with 403", async () => {
        assert.equal((await api("POST", "/v1/stacks/prod/repair", { token: fx.tokens.operator, body: {} })).status, 403);
    });
    it("refuses to repair while a live process holds the lock, naming the holder, and removes nothing", async () => {
        const holder = spawn("bash", ["-c", "exec -a pulumi-holder sleep 60"], { stdio: "ignore" });
        // The holder must already be the renamed sleep, not bash mid-exec, when the service looks.
        await until(() => (localProbe.commandLine!(holder.pid!)?.startsWith("pulumi-holder") ? true : undefined), "the lock holder running", 10_000);
        const file = path.join(paths.locks, "live.json");
        fs.mkdirSync(paths.locks, { recursive: true });
        fs.writeFileSync(file, JSON.stringify({ pid: holder.pid, username: "someone", hostname: os.hostname(), timestamp: new Date().toISOString() }));
        try {
            const r = await api("POST", "/v1/stacks/prod/repair", { token: fx.tokens.admin, body: {} });
            assert.equal(r.status, 409);
            assert.equal(r.body.error.code, "STACK_LOCKED");
            assert.equal(r.body.error.details.holder.pid, holder.pid);
            assert.ok(fs.existsSync(file));
        } finally {
            holder.kill("SIGKILL");
            fs.rmSync(file, { force: true });
        }
    });
    it("repairs: backs up the state, drops the pending creates, and the stack updates again", async () => {
        const r = await api("POST", "/v1/stacks/prod/repair", { token: fx.tokens.admin, body: { method: "strip" } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.droppedOperations.length, 3);
        assert.equal(r.body.after.state, "ok");
        const backup = JSON.parse(fs.readFileSync(r.body.backup, "utf8"));
        assert.equal(backup.deployment.pending_operations.length, 3);
        assert.deepEqual(readPendingOperations(paths.checkpoint), []);
        fx.configure("prod", { count: 3 });
        const up = await api("POST", "/v1/stacks/prod/updates", { token: fx.tokens.operator, body: {} });
        assert.equal(up.status, 202);
        const job = await until(async () => {
            const j = await server!.store.getJob(up.body.id);
            return j && !["queued", "running"].includes(j.state) ? j : undefined;
        }, "update after repair");
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        const audit = (await api("GET", "/v1/audit?action=stack.repair", { token: fx.tokens.admin })).body;
        assert.deepEqual(audit.entries.map((e: { result: string }) => e.result), ["STACK_LOCKED", "ok"]);
        assert.equal(audit.verification.ok, true);
    });
});
