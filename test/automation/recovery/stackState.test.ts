// The service's own state commands (fingerprints, repair) on the real CLI and a file backend:
// they open a stack without `stack select`, so a stack the backend does not hold is told by the
// CLI's answer to the command itself, and each caller still gets its "no such stack".
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PULUMI_VERSION } from "../../../automation/config";
import { workerEnvironment } from "../../../automation/pulumi/spawn";
import { exportStackState, importStackState, readStackState, refreshClearingPendingCreates, removeStackLocks, type EngineContext } from "../../../automation/pulumi/state";
import { prepareFixture } from "../harness";

const PULUMI_BIN = path.join(os.homedir(), ".pulumi", "versions", PULUMI_VERSION, "bin");

describe("the service's state commands, opening a stack without selecting it (real CLI, file backend)", function () {
    this.timeout(120_000);
    let ctx: EngineContext;
    let backend: string;
    before(() => {
        const copy = prepareFixture();
        backend = fs.mkdtempSync(path.join(os.tmpdir(), "stack-state-"));
        const base = Object.fromEntries(Object.entries(process.env).filter((kv): kv is [string, string] => typeof kv[1] === "string"));
        ctx = {
            projectDir: copy.projectDir,
            pulumiBin: PULUMI_BIN,
            env: workerEnvironment({ base, pulumiBin: PULUMI_BIN, nodeBin: path.dirname(process.execPath), backendUrl: `file://${backend}`, passphrase: "fixture-passphrase" }),
            stackConfigDir: path.join(copy.dataDir, "stack-config"),
        };
    });

    after(() => fs.rmSync(backend, { recursive: true, force: true }));

    it("reads version 0 and no deployment of a stack the backend does not hold, exports nothing and removes no lock", async () => {
        assert.deepEqual(await readStackState(ctx, "dev"), { version: 0, deployment: null });
        assert.equal(await exportStackState(ctx, "dev"), undefined);
        assert.equal(await removeStackLocks(ctx, "dev"), false);
    });

    it("refuses to import into a stack the backend does not hold or refresh it, naming the stack", async () => {
        await assert.rejects(importStackState(ctx, "dev", { version: 3, deployment: {} }), /stack dev does not exist/);
        await assert.rejects(refreshClearingPendingCreates(ctx, "dev"), /stack dev does not exist/);
    });

    it("reads a stack once it exists, and passes on a failure that is not a missing stack", async () => {
        execFileSync(path.join(PULUMI_BIN, "pulumi"), ["stack", "init", "dev", "--non-interactive"], { cwd: ctx.projectDir, env: ctx.env, stdio: "ignore" });
        const state = await readStackState(ctx, "dev");
        assert.equal(state.version, 0, "no update yet");
        assert.ok(state.deployment && typeof state.deployment === "object", JSON.stringify(state));
        assert.equal(await removeStackLocks(ctx, "dev"), true);
        const broken = { ...ctx, env: { ...ctx.env, PULUMI_BACKEND_URL: "file:///proc/no-such-backend" } };
        await assert.rejects(readStackState(broken, "dev"), (e: Error) => e.name !== "StackNotFoundError");
    });
});
