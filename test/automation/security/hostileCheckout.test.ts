// Pull requests that attack the service through the files they commit and the sockets of the
// host, previewed by the real service (on a real Postgres), webhook, CLI and bubblewrap:
// symlinks where the service reads or writes (`.stack-config`, `Pulumi*.yaml`,
// `node_modules`, lockfiles), a project file pointing its stack files outside the worktree,
// a tree entry named `..`, the policies a PR ships in its own `environments/`, and, from inside
// the sandbox, the database's unix socket and TCP port, an abstract socket, `/proc` and hard
// links. Each attack is refused or harmless; the service's files are compared byte for byte.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { startPostgres, type TestPostgres } from "../../support/postgres";
import { commentSink, environmentsDirOf, Harness, publishPullRequest, pullRequestDelivery, startHarness } from "../harness";
import { ATTEMPT_PRELUDE, attemptIn } from "./helpers";

const WEBHOOK_SECRET = "hostile-checkout-webhook-secret-0123456789";
const PLANTED = "planted-secret-7f3c9a1e5d";
const digest = (file: string) => (fs.existsSync(file) ? createHash("sha256").update(fs.readFileSync(file)).digest("hex") : "absent");
const git = (cwd: string, ...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", ...args], { cwd, encoding: "utf8" }).trim();

/** What the PR program tries from inside the sandbox: each prints `ATTEMPT <name>: <result>`. */
function socketAttacks(t: { socketDir: string; pgPort: number; abstract: string; tokensFile: string; dataDir: string; previewId: string }): string {
    // Each network attempt is its own Node process, so the program stays synchronous.
    const viaNode = (code: string) => `require("child_process").execFileSync(process.execPath, ["-e", ${JSON.stringify(code)}], { encoding: "utf8", timeout: 20000 }).trim()`;
    const insert = (host: string) =>
        `const { Client } = require("pg"); const c = new Client({ host: ${JSON.stringify(host)}, port: ${t.pgPort}, user: "automation", database: "automation", connectionTimeoutMillis: 3000 });` +
        `c.connect().then(() => c.query("INSERT INTO approvals (id, preview_id, stack, operation, decision, by_name, role, at) VALUES ($1, $2, 'prod', 'update', 'approve', 'ann-approver', 'approver', now()::text)", [require("crypto").randomUUID(), ${JSON.stringify(t.previewId)}])).then(() => { console.log("inserted"); return c.end(); }, (e) => { console.log(e.code || e.message); process.exit(0); });`;
    return `${ATTEMPT_PRELUDE}
__try("postgres-socket-approval", () => ${viaNode(insert(t.socketDir))});
__try("postgres-tcp-approval", () => ${viaNode(insert("127.0.0.1"))});
__try("abstract-socket", () => ${viaNode(`const c = require("net").connect(${JSON.stringify(t.abstract)}); c.on("data", () => { console.log("connected"); c.destroy(); }); c.on("error", (e) => console.log(e.code));`)});
__try("hard-link-tokens", () => __fs.linkSync(${JSON.stringify(t.tokensFile)}, "tokens-link"));
__try("proc-1-root-data-dir", () => __fs.readdirSync("/proc/1/root" + ${JSON.stringify(t.dataDir)}).join("+"));
__try("proc-environ-secret", () => __fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p)).filter((p) => { try { return __fs.readFileSync("/proc/" + p + "/environ", "latin1").includes("WEBHOOK_SECRET"); } catch { return false; } }).length + " with the secret");
__try("other-stack-state", () => __fs.readFileSync(${JSON.stringify(t.dataDir + "/state/.pulumi/stacks/fixture/prod.json")}, "utf8").length + " bytes");
__try("other-stack-export", () => require("child_process").execFileSync("pulumi", ["stack", "export", "--stack", "organization/fixture/prod", "--show-secrets", "--non-interactive"], { cwd: "/tmp", encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).length + " bytes");
__try("read-config-copy", () => __fs.readFileSync(".stack-config/Pulumi.dev.yaml", "utf8").replace(/\\n/g, " "));
`;
}

describe("pull requests that attack through committed files and the host's sockets (real service, Postgres, CLI, bubblewrap)", function () {
    this.timeout(600_000);
    let pg: TestPostgres;
    let h: Harness;
    let gh: Awaited<ReturnType<typeof commentSink>>;
    let remotes: string;
    let socketDir: string;
    let abstract: net.Server;
    let abstractName: string;
    let prodPreview: string;
    let approver: string;
    let number = 10;

    const prodPolicy = () => path.join(environmentsDirOf(h), "prod.yaml");
    /** Publishes a PR made by `change` on top of the service's project and previews it through the webhook; returns the job and its log. */
    async function previewPullRequest(change: () => void): Promise<{ job: any; log: string[] }> {
        const n = ++number;
        const { headSha } = publishPullRequest(h.projectDir, remotes, { repository: "acme/infra", number: n, change });
        const { raw, headers } = pullRequestDelivery(WEBHOOK_SECRET, { repository: "acme/infra", number: n, sha: headSha });
        const r = await h.call("POST", "/v1/webhooks/github", { raw, headers });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const job = await h.waitFor(r.body.jobs[0].id);
        const log = (await h.server.jobs.logPage(job.id, 0, 5000)).lines.map((l) => l.text);
        return { job, log };
    }
    const attempt = attemptIn;

    before(async () => {
        // Outside /tmp, as a system's PostgreSQL keeps it (/run/postgresql): the sandbox's private /tmp does not hide it.
        socketDir = fs.mkdtempSync(path.join(fs.existsSync("/run") ? "/run" : "/var/tmp", "todobackend-hostile-pg-"));
        pg = startPostgres({ socketDir });
        abstractName = `\0todobackend-hostile-${process.pid}`;
        abstract = net.createServer((c) => c.end("hello\n"));
        await new Promise<void>((r) => abstract.listen(abstractName, r));
        gh = await commentSink();
        remotes = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-checkout-remotes-"));
        h = await startHarness({
            policies: {
                "dev.yaml": "github: { previewOnPullRequest: true }\n",
                "prod.yaml": "operations:\n  update: { approvals: 1, approverRole: approver }\n",
            },
            env: {
                AUTOMATION_DATABASE_URL: pg.url,
                AUTOMATION_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
                AUTOMATION_GITHUB_REPOSITORIES: "acme/infra",
                AUTOMATION_GITHUB_TOKEN: "ghp_" + "c".repeat(36),
                AUTOMATION_GITHUB_API_URL: gh.url,
                AUTOMATION_GITHUB_GIT_URL: `file://${remotes}/{repository}.git`,
            },
        });
        // Through the API: on a shared database the tokens live there, not in the file.
        approver = await h.addToken("ann-approver", "approver");
        fs.writeFileSync(path.join(h.dataDir, "planted.yaml"), `secret: ${PLANTED}\n`, { mode: 0o600 });
        // The stacks exist before a PR previews them (the state is read-only to a PR).
        const dev = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        const prod = await h.call("POST", "/v1/stacks/prod/previews", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(dev.body.id)).state, "succeeded");
        assert.equal((await h.waitFor(prod.body.id)).state, "succeeded");
        prodPreview = prod.body.id;
    });
    after(async () => {
        await h?.stop();
        await gh?.close();
        abstract?.close();
        pg?.stop();
        for (const d of [remotes, socketDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
    });

    describe("a PR whose symlinks aim the service's writes at its policies, and whose program goes for the sockets", () => {
        let job: any;
        let log: string[];
        let before: Record<string, string>;
        const guarded = () => ({
            prodPolicy: digest(prodPolicy()),
            devPolicy: digest(path.join(environmentsDirOf(h), "dev.yaml")),
            tokens: digest(h.tokensFile),
            environments: fs.readdirSync(environmentsDirOf(h)).sort().join(","),
        });

        it("previews the PR to its end, so every attempt was made", async () => {
            before = guarded();
            ({ job, log } = await previewPullRequest(() => {
                const p = h.projectDir;
                fs.mkdirSync(path.join(p, ".stack-config"));
                // Where the service used to write its config copy: links to the prod policy.
                fs.symlinkSync(prodPolicy(), path.join(p, ".stack-config", "Pulumi.yaml"));
                fs.symlinkSync(prodPolicy(), path.join(p, ".stack-config", "Pulumi.dev.yaml"));
                // The stack file the service copies from, holding a policy that needs no approval and destroys in a minute.
                fs.writeFileSync(path.join(p, "Pulumi.dev.yaml"), "operations:\n  update: { role: operator }\nschedules:\n  destroy: { ttlMinutes: 1 }\n");
                // Its own policies, for the service to pick up if it read the PR's environments/.
                fs.mkdirSync(path.join(p, "environments"), { recursive: true });
                fs.writeFileSync(path.join(p, "environments", "prod.yaml"), "operations:\n  update: { role: operator }\n");
                // Links where the service links its dependencies and compares lockfiles.
                fs.symlinkSync(environmentsDirOf(h), path.join(p, "node_modules"));
                fs.symlinkSync(h.tokensFile, path.join(p, "package-lock.json"));
                const program = path.join(p, "index.js");
                fs.writeFileSync(program, socketAttacks({ socketDir: pg.socketDir, pgPort: pg.port, abstract: abstractName, tokensFile: h.tokensFile, dataDir: h.dataDir, previewId: prodPreview }) + fs.readFileSync(program, "utf8"));
            }));
            assert.equal(job.state, "succeeded", JSON.stringify(job.error) + "\n" + log.join("\n"));
        });
        it("writes nothing through the PR's symlinks: the policies, the tokens and the environments dir are byte-identical", () => {
            assert.deepEqual(guarded(), before);
        });
        it("keeps prod's policy, not the one the PR ships or wrote: updates still need an approval", async () => {
            const prod = await h.call("GET", "/v1/stacks/prod", { token: h.tokens.viewer });
            assert.match(JSON.stringify(prod.body), /approv/i);
            const u = await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: {} });
            assert.deepEqual([u.status, u.body.error?.code], [422, "APPROVAL_REQUIRED"], JSON.stringify(u.body));
        });
        it("replaces the PR's node_modules link with the service's dependencies, leaving its target alone, and says the lockfile differs without reading it", () => {
            assert.ok(log.some((l) => l.includes("changes package-lock.json")), log.join("\n"));
            assert.ok(!log.join("\n").includes("ada-admin"), "nothing of the tokens file reached the log");
        });
        it("cannot reach the database by its unix socket or its TCP port, so it inserts no approval", async () => {
            assert.equal(attempt(log, "postgres-socket-approval"), "succeeded ENOENT");
            assert.match(attempt(log, "postgres-tcp-approval"), /^succeeded (ECONNREFUSED|ENETUNREACH)/);
            const c = new Client({ connectionString: pg.url });
            await c.connect();
            try {
                assert.equal(Number((await c.query("SELECT count(*) AS n FROM approvals WHERE preview_id = $1", [prodPreview])).rows[0].n), 0);
            } finally {
                await c.end();
            }
        });
        it("cannot reach an abstract unix socket of the host", () => {
            assert.equal(attempt(log, "abstract-socket"), "succeeded ECONNREFUSED");
        });
        it("cannot hard-link the tokens file, nor find the data dir's files through /proc, nor read another process's environment", () => {
            assert.match(attempt(log, "hard-link-tokens"), /^refused (ENOENT|EXDEV|EPERM)/);
            const listed = attempt(log, "proc-1-root-data-dir");
            assert.ok(!/tokens\.json|jobs\.sqlite|audit|planted/.test(listed), listed);
            assert.equal(attempt(log, "proc-environ-secret"), "succeeded 0 with the secret");
        });
        it("cannot read another stack's state, directly or through the CLI, so prod's secrets stay out of a dev preview", () => {
            assert.match(attempt(log, "other-stack-state"), /^refused ENOENT/);
            assert.match(attempt(log, "other-stack-export"), /^refused /);
        });
        it("finds no config copy of the service's in its worktree", () => {
            assert.match(attempt(log, "read-config-copy"), /^refused ENOENT/);
        });
    });

    it("refuses a PR whose stack file is a symlink to the service's tokens, reading nothing of it", async () => {
        const { job, log } = await previewPullRequest(() => {
            fs.rmSync(path.join(h.projectDir, "Pulumi.dev.yaml"));
            fs.symlinkSync(h.tokensFile, path.join(h.projectDir, "Pulumi.dev.yaml"));
            const program = path.join(h.projectDir, "index.js");
            fs.writeFileSync(program, `console.log("CONFIG " + require("fs").readFileSync(".stack-config/Pulumi.dev.yaml", "utf8"));\n` + fs.readFileSync(program, "utf8"));
        });
        assert.deepEqual([job.state, job.error?.code], ["failed", "UNSAFE_CHECKOUT"], JSON.stringify(job.error));
        assert.match(job.error.message, /"Pulumi\.dev\.yaml" is a symbolic link/);
        assert.ok(!log.join("\n").includes("ada-admin") && !gh.comments.join("\n").includes("ada-admin"), "nothing of the tokens file in the log or the PR comment");
    });

    it("refuses a PR whose Pulumi.yaml puts its stack files outside the worktree (stackConfigDir), reading nothing there", async () => {
        // Two levels up from the worktree is the data dir, where a file of the PR's chosen name is planted.
        fs.copyFileSync(path.join(h.dataDir, "planted.yaml"), path.join(h.dataDir, "Pulumi.dev.yaml"));
        try {
            const { job, log } = await previewPullRequest(() => {
                fs.appendFileSync(path.join(h.projectDir, "Pulumi.yaml"), "stackConfigDir: ../..\n");
                const program = path.join(h.projectDir, "index.js");
                fs.writeFileSync(program, `console.log("CONFIG " + process.env.PULUMI_CONFIG);\n` + fs.readFileSync(program, "utf8"));
            });
            assert.deepEqual([job.state, job.error?.code], ["failed", "UNSAFE_CHECKOUT"], JSON.stringify(job.error));
            assert.match(job.error.message, /points outside the checkout/);
            assert.ok(!log.join("\n").includes(PLANTED));
        } finally {
            fs.rmSync(path.join(h.dataDir, "Pulumi.dev.yaml"), { force: true });
        }
    });

    it("refuses a PR whose Pulumi.yaml is itself a symlink", async () => {
        const { job } = await previewPullRequest(() => {
            const file = path.join(h.projectDir, "Pulumi.yaml");
            fs.renameSync(file, path.join(h.projectDir, "project.yaml"));
            fs.symlinkSync("project.yaml", file);
        });
        assert.deepEqual([job.state, job.error?.code], ["failed", "UNSAFE_CHECKOUT"], JSON.stringify(job.error));
    });

    it("fails a PR whose tree has an entry named '..' at the checkout, writing nothing outside the worktree", async () => {
        // A tree git's porcelain never makes, built with its plumbing on top of main and pushed
        // as the PR's head; the service's own checkout of the project does not change.
        const n = ++number;
        const { mainSha } = publishPullRequest(h.projectDir, remotes, { repository: "acme/infra", number: n });
        const write = (args: string[], input: string) => execFileSync("git", args, { cwd: h.projectDir, input, encoding: "utf8" }).trim();
        const escaped = write(["hash-object", "-w", "--stdin"], "escaped\n");
        const inner = write(["mktree"], `100644 blob ${escaped}\tescaped\n`);
        const entries = git(h.projectDir, "ls-tree", `${mainSha}^{tree}`);
        const tree = write(["mktree"], `${entries}\n040000 tree ${inner}\t..\n`);
        const headSha = git(h.projectDir, "commit-tree", tree, "-p", mainSha, "-m", "dot-dot");
        git(h.projectDir, "push", "-q", path.join(remotes, "acme/infra.git"), `${headSha}:refs/pull/${n}/head`);
        const { raw, headers } = pullRequestDelivery(WEBHOOK_SECRET, { repository: "acme/infra", number: n, sha: headSha });
        const r = await h.call("POST", "/v1/webhooks/github", { raw, headers });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const job = await h.waitFor(r.body.jobs[0].id);
        assert.deepEqual([job.state, job.error?.code], ["failed", "CHECKOUT_FAILED"], JSON.stringify(job.error));
        for (const p of [path.join(h.dataDir, "checkouts", "escaped"), path.join(h.dataDir, "escaped"), path.join(h.dataDir, "checkouts", job.id)]) assert.ok(!fs.existsSync(p), `${p} was not written`);
    });

    it("does not count an approval row written into the database behind the service's back, and reports it as tampering", async () => {
        const p = await h.call("POST", "/v1/stacks/prod/previews", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(p.body.id)).state, "succeeded");
        const prodPreview = p.body.id as string;
        // What the socket attack did before the sandbox was an allow-list: a row, straight into the table.
        const c = new Client({ connectionString: pg.url });
        await c.connect();
        const forged = randomUUID();
        try {
            await c.query("INSERT INTO approvals (id, preview_id, stack, operation, decision, by_name, role, at) VALUES ($1, $2, 'prod', 'update', 'approve', 'ann-approver', 'approver', $3)", [forged, prodPreview, new Date().toISOString()]);
        } finally {
            await c.end();
        }
        const u = await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: { previewId: prodPreview } });
        assert.deepEqual([u.status, u.body.error?.code], [409, "NOT_APPROVED"], JSON.stringify(u.body));
        const listed = await h.call("GET", `/v1/jobs/${prodPreview}/approvals`, { token: h.tokens.viewer });
        assert.deepEqual(listed.body.approvals, []);
        assert.deepEqual(listed.body.unrecorded.map((a: { id: string }) => a.id), [forged]);
        const audit = await h.call("GET", "/v1/audit?action=approval.unrecorded", { token: h.tokens.admin });
        assert.deepEqual(audit.body.entries.map((e: { approvalId: string; result: string }) => [e.approvalId, e.result]), [[forged, "tampered"]]);
        // The real approval, through the service, counts.
        const a = await h.call("POST", `/v1/jobs/${prodPreview}/approvals`, { token: approver, body: { decision: "approve" } });
        assert.equal(a.status, 201, JSON.stringify(a.body));
        const ok = await h.call("POST", "/v1/stacks/prod/updates", { token: h.tokens.operator, body: { previewId: prodPreview } });
        assert.equal(ok.status, 202, JSON.stringify(ok.body));
        assert.equal((await h.waitFor(ok.body.id)).state, "succeeded");
    });
});
