// The s3:// state backend (the pinned CLI's own, gocloud's s3blob) pointed at a real
// S3-compatible server (s3rver) with the real service on the fixture: the recovery reads the
// locks the CLI writes into the bucket, reports a live CLI's lock with its holder, clears a
// SIGKILLed CLI's lock at start-up, and an admin's unlock removes a dead holder's lock.
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { recoveryEffects } from "../../../automation/web/lib.mjs";
import { S3RVER_CREDENTIALS, startS3, type TestS3 } from "../../support/s3";
import { startHarness, until, type Harness } from "../harness";
import { processTag } from "../processes";

const LOCKS = (stack: string) => `.pulumi/locks/organization/fixture/${stack}/`;

/** The service's own S3 client takes its credentials from the process, as on ECS (the task role). */
function useCredentials(values: Record<string, string>): () => void {
    const saved = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
    Object.assign(process.env, values);
    return () => {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    };
}

describe("the s3:// state backend on a real S3-compatible server (s3rver), with the real CLI", function () {
    this.timeout(300_000);
    let s3: TestS3;
    let h: Harness;
    let restoreEnv: () => void;
    // Each killed CLI's language host and providers, found by their tag afterwards.
    const devTag = processTag();
    const prodTag = processTag();
    let prodCli: ChildProcess | undefined;

    const pendingOf = async (stack: string): Promise<unknown[]> => {
        const keys = await s3.keys(`.pulumi/stacks/fixture/${stack}.json`);
        if (!keys.includes(`.pulumi/stacks/fixture/${stack}.json`)) return [];
        let doc: { checkpoint?: { latest?: { pending_operations?: unknown[] } } };
        try {
            doc = JSON.parse(await s3.read(`.pulumi/stacks/fixture/${stack}.json`));
        } catch (e) {
            // s3rver writes an object in place: a read while the CLI rewrites it can end
            // mid-document, or its response be cut off ("aborted"); the next poll reads it whole.
            if (e instanceof SyntaxError || /aborted/i.test((e as Error).message)) return [];
            throw e;
        }
        return doc.checkpoint?.latest?.pending_operations ?? [];
    };
    /** `pulumi up` of the fixture by the CLI itself, outside the service, stuck in 60 s creates once it has recorded them. */
    const stuckUpdate = async (stack: string, tag: ReturnType<typeof processTag>): Promise<ChildProcess> => {
        h.configure(stack, { count: 5, delayMs: 60_000 });
        const bin = h.server.config.pulumiBin;
        const cli = spawn(path.join(bin, "pulumi"), ["up", "--yes", "--skip-preview", "--non-interactive", "-s", stack], {
            cwd: h.projectDir,
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
            env: {
                ...process.env,
                ...tag.env,
                PATH: [bin, path.dirname(process.execPath), process.env.PATH].join(path.delimiter),
                PULUMI_BACKEND_URL: s3.backendUrl,
                PULUMI_CONFIG_PASSPHRASE: "fixture-passphrase",
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            },
        });
        let output = "";
        cli.stdout!.on("data", (d: Buffer) => (output += d.toString()));
        cli.stderr!.on("data", (d: Buffer) => (output += d.toString()));
        await until(async () => ((await pendingOf(stack)).length >= 1 ? true : undefined), `pending operations of ${stack} in the bucket`, 120_000).catch((e: Error) => {
            throw new Error(`${e.message}; the CLI (exit ${cli.exitCode}) said: ${output.slice(-2000)}`);
        });
        assert.equal((await s3.keys(LOCKS(stack))).length, 1, "the running CLI's lock object");
        return cli;
    };
    const kill = async (cli: ChildProcess, tag: ReturnType<typeof processTag>) => {
        const exited = new Promise((r) => cli.once("exit", r));
        process.kill(-cli.pid!, "SIGKILL");
        await exited;
        tag.killAll();
    };

    before(async () => {
        s3 = await startS3();
        restoreEnv = useCredentials({ ...S3RVER_CREDENTIALS });
        h = await startHarness({ env: { PULUMI_BACKEND_URL: s3.backendUrl, ...S3RVER_CREDENTIALS } });
    });
    after(async () => {
        if (prodCli && prodCli.exitCode === null && prodCli.signalCode === null) await kill(prodCli, prodTag);
        devTag.killAll();
        prodTag.killAll();
        await h?.stop();
        restoreEnv?.();
        await s3?.stop();
    });

    it("keeps each stack's checkpoint in the bucket when the service updates it", async () => {
        for (const stack of ["dev", "prod"]) {
            const r = await h.call("POST", `/v1/stacks/${stack}/updates`, { token: h.tokens.operator, body: {} });
            assert.equal((await h.waitFor(r.body.id)).state, "succeeded");
        }
        assert.deepEqual(await s3.keys(".pulumi/stacks/fixture/"), [".pulumi/stacks/fixture/dev.json", ".pulumi/stacks/fixture/dev.json.bak", ".pulumi/stacks/fixture/prod.json", ".pulumi/stacks/fixture/prod.json.bak"]);
    });

    let liveLock: string;
    it("shows a live CLI's lock with its holder, names what an unlock would do, and refuses an unlock by an operator", async () => {
        prodCli = await stuckUpdate("prod", prodTag);
        [liveLock] = await s3.keys(LOCKS("prod"));
        await h.restart();
        const answer = (await h.call("GET", "/v1/stacks/prod/repair", { token: h.tokens.viewer })).body;
        const lock = answer.findings.find((f: { kind: string }) => f.kind === "live-lock");
        assert.ok(lock, JSON.stringify(answer.findings));
        assert.deepEqual([lock.lock.file, lock.lock.pid, lock.lock.hostname, lock.lock.username], [liveLock, prodCli.pid, os.hostname(), os.userInfo().username]);
        // What the dashboard's unlock dialog says, from this answer.
        const effects = recoveryEffects(answer, "prod");
        assert.match(effects.unlock[0], new RegExp(`^Removes the lock of pid ${prodCli.pid} on ${os.hostname()} .*that process is still running, and unlocking does not stop it`));
        const refused = await h.call("POST", "/v1/stacks/prod/unlock", { token: h.tokens.operator, body: { confirm: "prod" } });
        assert.equal(refused.status, 403);
        assert.deepEqual(await s3.keys(LOCKS("prod")), [liveLock]);
    });

    it("refuses an admin's repair past the live lock, naming the holder and what an unlock would do, and keeps the lock", async () => {
        const r = await h.call("POST", "/v1/stacks/prod/repair", { token: h.tokens.admin, body: {} });
        assert.equal(r.status, 409);
        assert.equal(r.body.error.code, "STACK_LOCKED");
        assert.equal(r.body.error.details.holder.pid, prodCli!.pid);
        assert.match(r.body.error.message, new RegExp(`locked by pid ${prodCli!.pid} on ${os.hostname()}.*which is still running`));
        assert.match(r.body.error.message, /An admin's unlock \(POST \/v1\/stacks\/prod\/unlock \{"confirm": "prod"\}\) removes the lock but does not stop its holder: use it once the holder is gone\./);
        assert.deepEqual(await s3.keys(LOCKS("prod")), [liveLock]);
    });

    it("clears a SIGKILLed CLI's lock from the bucket at start-up, audits it, and marks the stack needs-repair with its pending operations", async () => {
        const devCli = await stuckUpdate("dev", devTag);
        const [deadLock] = await s3.keys(LOCKS("dev"));
        await kill(devCli, devTag);
        await h.restart();
        assert.deepEqual(await s3.keys(LOCKS("dev")), [], "the stale lock object is gone");
        assert.deepEqual(await s3.keys(LOCKS("prod")), [liveLock], "the live one stays");
        const audit = (await h.call("GET", "/v1/audit?action=recovery.lock-cleared", { token: h.tokens.admin })).body;
        assert.deepEqual(audit.entries.map((e: { stack: string; details: { lock: { file: string; pid: number } } }) => [e.stack, e.details.lock.file, e.details.lock.pid]), [["dev", deadLock, devCli.pid]]);
        const dev = (await h.call("GET", "/v1/stacks/dev/repair", { token: h.tokens.viewer })).body;
        assert.equal(dev.state, "needs-repair");
        assert.deepEqual(dev.findings.map((f: { kind: string }) => f.kind), ["pending-operations"]);
    });

    it("removes a dead holder's lock on an admin's confirmed unlock, naming and auditing it; the repaired stack then updates", async () => {
        await kill(prodCli!, prodTag);
        const r = await h.call("POST", "/v1/stacks/prod/unlock", { token: h.tokens.admin, body: { confirm: "prod" } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(r.body.removedLocks.map((l: { file: string; pid: number }) => [l.file, l.pid]), [[liveLock, prodCli!.pid]]);
        assert.deepEqual(await s3.keys(LOCKS("prod")), []);
        assert.equal(r.body.after.state, "needs-repair", "the killed update's pending operations are left to the repair");
        const audit = (await h.call("GET", "/v1/audit?action=stack.unlock", { token: h.tokens.admin })).body;
        assert.deepEqual(audit.entries.map((e: { result: string; actor: { name: string } }) => [e.result, e.actor.name]), [["ok", "ada-admin"]]);
        assert.equal(audit.entries[0].details.removedLocks[0].file, liveLock);
        const repaired = await h.call("POST", "/v1/stacks/prod/repair", { token: h.tokens.admin, body: {} });
        assert.equal(repaired.status, 200, JSON.stringify(repaired.body));
        assert.equal(repaired.body.after.state, "ok");
        h.configure("prod", { count: 2 });
        const up = await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(up.body.id)).state, "succeeded");
    });
});

describe("an s3:// state backend the service cannot read", function () {
    this.timeout(120_000);
    let s3: TestS3;
    let restoreEnv: () => void;
    const started: Harness[] = [];
    before(async () => {
        s3 = await startS3();
        restoreEnv = useCredentials({ ...S3RVER_CREDENTIALS });
    });
    after(async () => {
        for (const h of started) await h.stop();
        restoreEnv?.();
        await s3?.stop();
    });
    const serviceOn = async (backendUrl: string) => {
        const h = await startHarness({ env: { PULUMI_BACKEND_URL: backendUrl, ...S3RVER_CREDENTIALS } });
        started.push(h);
        return h;
    };

    it("answers an unlock with 503 BACKEND_UNAVAILABLE naming the endpoint and the refused connection, and audits the failure", async () => {
        // A port that was free a moment ago: nothing listens there.
        const port = await new Promise<number>((resolve) => {
            const probe = net.createServer().listen(0, "127.0.0.1", () => {
                const p = (probe.address() as net.AddressInfo).port;
                probe.close(() => resolve(p));
            });
        });
        const h = await serviceOn(`s3://state?endpoint=http://127.0.0.1:${port}&s3ForcePathStyle=true&region=us-east-1`);
        const r = await h.call("POST", "/v1/stacks/dev/unlock", { token: h.tokens.admin, body: { confirm: "dev" } });
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.body.error.code, "BACKEND_UNAVAILABLE");
        assert.match(r.body.error.message, new RegExp(`s3://state/ at http://127\\.0\\.0\\.1:${port} failed: ECONNREFUSED`));
        assert.match(r.body.error.message, /Nothing was decided or changed/);
        const audit = (await h.call("GET", "/v1/audit?action=stack.unlock", { token: h.tokens.admin })).body;
        assert.deepEqual(audit.entries.map((e: { result: string }) => e.result), ["failed"]);
    });

    it("names a bucket the server does not have and says to check PULUMI_BACKEND_URL", async () => {
        const h = await serviceOn(`s3://no-such-bucket?endpoint=${s3.endpoint}&s3ForcePathStyle=true&region=us-east-1`);
        const r = await h.call("POST", "/v1/stacks/dev/unlock", { token: h.tokens.admin, body: { confirm: "dev" } });
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.match(r.body.error.message, /s3:\/\/no-such-bucket\/ .*NoSuchBucket \(HTTP 404\) \(the bucket does not exist: check PULUMI_BACKEND_URL\)/);
    });

    it("names the missing permissions when the server refuses the service's credentials", async () => {
        const restore = useCredentials({ AWS_ACCESS_KEY_ID: "someone-else", AWS_SECRET_ACCESS_KEY: "wrong" });
        try {
            const h = await serviceOn(s3.backendUrl);
            const r = await h.call("POST", "/v1/stacks/dev/unlock", { token: h.tokens.admin, body: { confirm: "dev" } });
            assert.equal(r.status, 503, JSON.stringify(r.body));
            assert.match(r.body.error.message, /\(HTTP 403\).*s3:ListBucket on the bucket and s3:GetObject and s3:DeleteObject on the \.pulumi\/locks\/ keys/);
        } finally {
            restore();
        }
    });
});
