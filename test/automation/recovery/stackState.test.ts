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
import { stateHash } from "../../../automation/approvals/fingerprint";
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
        await assert.rejects(readStackState(broken, "dev"), (e: Error) => !/does not exist/.test(e.message) && e.name !== "StackNotFoundError");
    });

    describe("on a stack holding a secret, whose provider's read fails quoting the CLI's missing-stack words", () => {
        const SECRET = "plain-secret-4f1c9e";
        before(function () {
            this.timeout(120_000);
            // The program of this copy only: one resource whose refresh fails, and a secret output.
            fs.writeFileSync(path.join(ctx.projectDir, "index.js"), `"use strict";
const pulumi = require("@pulumi/pulumi");
const provider = {
    async create(inputs) { return { id: "r1", outs: inputs }; },
    async read() { throw new Error("upstream said: no stack named 'dev' found"); },
};
new pulumi.dynamic.Resource(provider, "flaky", { n: 1 }, {});
exports.password = pulumi.secret(${JSON.stringify(SECRET)});
`);
            execFileSync(path.join(PULUMI_BIN, "pulumi"), ["up", "--yes", "--stack", "dev", "--non-interactive"], { cwd: ctx.projectDir, env: ctx.env, stdio: "ignore" });
        });

        it("exports the state with its secrets encrypted, as repair's backup keeps it", async () => {
            const exported = JSON.stringify(await exportStackState(ctx, "dev"));
            assert.ok(!exported.includes(SECRET), "the secret is not in the export");
            assert.match(exported, /"ciphertext"/);
        });

        it("reads the same state for a fingerprint before and after an update that changed nothing, though it encrypted every secret afresh", async () => {
            const before = await readStackState(ctx, "dev");
            const encrypted = JSON.stringify(await exportStackState(ctx, "dev"));
            execFileSync(path.join(PULUMI_BIN, "pulumi"), ["up", "--yes", "--stack", "dev", "--non-interactive"], { cwd: ctx.projectDir, env: ctx.env, stdio: "ignore" });
            assert.notEqual(JSON.stringify(await exportStackState(ctx, "dev")), encrypted, "new ciphertext");
            assert.equal(stateHash((await readStackState(ctx, "dev")).deployment), stateHash(before.deployment));
        });

        it("passes on the provider's error of a refresh, not taking it for a missing stack", async () => {
            await assert.rejects(refreshClearingPendingCreates(ctx, "dev"), (e: Error) => !/does not exist/.test(e.message) && /upstream said/.test(e.message));
        });
    });
});
