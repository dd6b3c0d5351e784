// A pull request whose program attacks the service that previews it: every attack the trust
// review carried out (docs/safety.md, "Threat model"), tried at once from inside the real,
// sandboxed preview, through the real webhook, service and CLI. Each attempt prints its result
// into the job log, which the test reads; the service's files are compared byte for byte.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../../../automation/config";
import { addToken } from "../../../automation/security/tokens";
import { commentSink, Harness, publishPullRequest, pullRequestDelivery, startHarness } from "../harness";
import { ATTEMPT_PRELUDE, attemptIn } from "./helpers";

const WEBHOOK_SECRET = "hostile-pr-webhook-secret-0123456789";
const GITHUB_TOKEN = "ghp_" + "h".repeat(36);
const PASSPHRASE = "fixture-passphrase";
const b64 = (s: string) => Buffer.from(s).toString("base64");
const digest = (file: string) => (fs.existsSync(file) ? createHash("sha256").update(fs.readFileSync(file)).digest("hex") : "absent");

/** The attacks, as code the pull request adds to the top of the fixture's program. */
function attackProgram(targets: { dataDir: string; serviceProject: string; repoRoot: string; port: number }): string {
    return `${ATTEMPT_PRELUDE}
const __t = ${JSON.stringify(targets)};
__try("mint-admin-token", () => __fs.appendFileSync(__t.dataDir + "/tokens.json", "{}"));
__try("read-tokens", () => __fs.readFileSync(__t.dataDir + "/tokens.json", "utf8").length);
__try("write-approvals-db", () => __fs.appendFileSync(__t.dataDir + "/safety.sqlite", "x"));
__try("write-job-store", () => __fs.appendFileSync(__t.dataDir + "/jobs.sqlite", "x"));
__try("write-node-modules", () => __fs.writeFileSync(__t.repoRoot + "/node_modules/pwned.js", "x"));
__try("write-service-program", () => __fs.appendFileSync(__t.serviceProject + "/index.js", "// pwned"));
__try("write-service-code", () => __fs.appendFileSync(__t.repoRoot + "/automation/main.ts", "// pwned"));
__try("environment-names", () => Object.keys(process.env).sort().join(","));
__try("environment-base64", () => Buffer.from(process.env.AUTOMATION_GITHUB_WEBHOOK_SECRET || "none").toString("base64"));
__try("passphrase-base64", () => Buffer.from(process.env.PULUMI_CONFIG_PASSPHRASE || "none").toString("base64"));
__try("other-processes-environ", () => __fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p)).filter((p) => { try { return __fs.readFileSync("/proc/" + p + "/environ", "latin1").includes("WEBHOOK_SECRET"); } catch { return false; } }).length + " with the secret");
__try("worker-ipc-channel", () => __fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p)).filter((p) => { try { return __fs.readFileSync("/proc/" + p + "/environ", "latin1").includes("NODE_CHANNEL_FD="); } catch { return false; } }).length + " with an IPC channel");
__try("forge-engine-events", () => { const dirs = __fs.readdirSync("/tmp").filter((d) => d.startsWith("automation-logs-")); for (const d of dirs) __fs.appendFileSync("/tmp/" + d + "/eventlog.txt", "null\\n[]\\n\\"text\\"\\n{\\"diagnosticEvent\\":null}\\n"); return dirs.length + " event logs"; });
__try("service-api", () => require("child_process").execFileSync(process.execPath, ["-e", "fetch('http://127.0.0.1:' + ${targets.port} + '/healthz').then(r => console.log(r.status), e => { console.log(e.cause && e.cause.code || e.message); })"], { encoding: "utf8" }).trim());
`;
}

describe("a pull request whose program attacks the service, previewed in the sandbox (real CLI)", function () {
    this.timeout(300_000);
    let h: Harness;
    let remotes: string;
    let gh: Awaited<ReturnType<typeof commentSink>>;
    let comments: string[] = [];
    let log: string[];
    let before: Record<string, string>;
    const guarded = () => ({
        tokens: digest(path.join(h.dataDir, "tokens.json")),
        approvals: digest(path.join(h.dataDir, "safety.sqlite")),
        program: digest(path.join(h.projectDir, "index.js")),
        nodeModulesLock: digest(path.join(REPO_ROOT, "node_modules", ".package-lock.json")),
        pwned: String(fs.existsSync(path.join(REPO_ROOT, "node_modules", "pwned.js"))),
    });

    it("runs the attacking preview to its end, so every attempt below was really made", async () => {
        gh = await commentSink();
        comments = gh.comments;
        remotes = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-remotes-"));
        h = await startHarness({
            policies: { "dev.yaml": "github: { previewOnPullRequest: true }\n" },
            env: {
                PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
                AUTOMATION_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
                AUTOMATION_GITHUB_REPOSITORIES: "acme/infra",
                AUTOMATION_GITHUB_TOKEN: GITHUB_TOKEN,
                AUTOMATION_GITHUB_API_URL: gh.url,
                AUTOMATION_GITHUB_GIT_URL: `file://${remotes}/{repository}.git`,
            },
        });
        addToken(h.tokensFile, "alice-approver", "approver");
        const first = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(first.body.id)).state, "succeeded");
        const port = Number(new URL(h.url).port);
        const { headSha } = publishPullRequest(h.projectDir, remotes, {
            repository: "acme/infra",
            number: 9,
            change: () => {
                const program = path.join(h.projectDir, "index.js");
                fs.writeFileSync(program, attackProgram({ dataDir: h.dataDir, serviceProject: h.projectDir, repoRoot: REPO_ROOT, port }) + fs.readFileSync(program, "utf8"));
            },
        });
        before = guarded();
        const { raw, headers } = pullRequestDelivery(WEBHOOK_SECRET, { repository: "acme/infra", number: 9, sha: headSha });
        const r = await h.call("POST", "/v1/webhooks/github", { raw, headers });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const job = await h.waitFor(r.body.jobs[0].id);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        log = (await h.server.jobs.logPage(job.id, 0, 5000)).lines.map((l) => l.text);
        const attempts = log.filter((l) => l.includes("ATTEMPT "));
        assert.ok(attempts.length >= 15, attempts.join("\n"));
        for (let i = 0; i < 100 && comments.length === 0; i++) await new Promise((r2) => setTimeout(r2, 100));
    });

    const attempt = (name: string) => attemptIn(log, name);

    it("cannot mint a token, read the token file, or write the approval or job stores: the data dir is not there", () => {
        // Read-only where a bind covers the path, absent otherwise (a checkout under /tmp lies under the sandbox's private /tmp).
        for (const name of ["mint-admin-token", "write-approvals-db", "write-job-store"]) assert.match(attempt(name), /^refused (EROFS|ENOENT)/, name);
        assert.match(attempt("read-tokens"), /^refused ENOENT/);
    });
    it("cannot change the service's node_modules (read-only), its code or its own checkout of the program (not there)", () => {
        assert.match(attempt("write-node-modules"), /^refused EROFS/);
        for (const name of ["write-service-program", "write-service-code"]) assert.match(attempt(name), /^refused (ENOENT|EROFS)/, name);
    });
    it("leaves the tokens, the approvals database, the service's program and node_modules byte-identical", () => {
        assert.deepEqual(guarded(), before);
        assert.equal(before.pwned, "false");
    });
    it("sees none of the service's variables, only PATH, HOME, locale and the Pulumi ones (the CLI adds its own for the program)", () => {
        const names = attempt("environment-names").replace(/^succeeded /, "").split(",");
        assert.deepEqual(names.filter((n) => n.startsWith("AUTOMATION_") && n !== "AUTOMATION_WORKER_TAG"), []);
        assert.ok(names.every((n) => ["PATH", "HOME", "PWD", "LANG", "LC_ALL", "TZ", "TMPDIR", "AUTOMATION_WORKER_TAG"].includes(n) || n.startsWith("PULUMI_") || n.startsWith("NODE_")), names.join(","));
        assert.equal(attempt("environment-base64"), `succeeded ${b64("none")}`, "the webhook secret is not in its environment");
    });
    it("cannot read another process's environment: it sees only the sandbox's own processes", () => {
        assert.equal(attempt("other-processes-environ"), "succeeded 0 with the secret");
    });
    it("cannot find the job's worker, whose channel to the service stays outside the sandbox", () => {
        assert.equal(attempt("worker-ipc-channel"), "succeeded 0 with an IPC channel");
    });
    it("forges engine events of every wrong shape into its event log, and the service runs on: the preview still ends", () => {
        assert.match(attempt("forge-engine-events"), /^succeeded [1-9]\d* event logs$/);
    });
    it("cannot reach the service over the network: the sandbox has none", () => {
        assert.match(attempt("service-api"), /^(succeeded (ECONNREFUSED|ENETUNREACH|fetch failed)|refused)/);
    });
    it("gets the passphrase it needs to decrypt the stack, but its base64 form is redacted from the log", () => {
        assert.equal(attempt("passphrase-base64"), "succeeded [secret]");
    });
    it("leaks no service secret, nor the passphrase, in plain or base64 form, into the job log or the PR comment", () => {
        const everything = [...log, ...comments].join("\n");
        assert.ok(comments.length > 0, "the preview was commented on the pull request");
        for (const secret of [WEBHOOK_SECRET, GITHUB_TOKEN, PASSPHRASE]) {
            assert.ok(!everything.includes(secret), "plain secret leaked");
            assert.ok(!everything.includes(b64(secret)), "base64 secret leaked");
        }
    });

    after(async () => {
        await h?.stop();
        await gh?.close();
        if (remotes) fs.rmSync(remotes, { recursive: true, force: true });
    });
});
