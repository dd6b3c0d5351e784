// A pull_request webhook previews the PR's head commit, end to end: the real service, CLI and
// file:// backend, the fixture project as a git repository whose "GitHub" is a local bare
// repository holding the PR head only under refs/pull/3/head, as GitHub does.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Job } from "../../../automation/jobs/types";
import { addToken } from "../../../automation/security/tokens";
import { SafeHarness, startSafeHarness } from "../approvals/safeHarness";
import { publishPullRequest, pullRequestDelivery, until } from "../harness";

const SECRET = "pr-preview-webhook-secret";
const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

describe("pull-request previews of the head commit, with the real Pulumi CLI", function () {
    this.timeout(300_000);
    let h: SafeHarness;
    let remotes: string;
    let mainSha: string;
    let prSha: string;
    let approver: string;

    before(async () => {
        remotes = fs.mkdtempSync(path.join(os.tmpdir(), "pr-remotes-"));
        h = await startSafeHarness(
            { "dev.yaml": "github: { previewOnPullRequest: true }\n", "prod.yaml": "github: { previewOnPullRequest: false }\n" },
            { AUTOMATION_GITHUB_WEBHOOK_SECRET: SECRET, AUTOMATION_GITHUB_REPOSITORIES: "acme/infra", AUTOMATION_GITHUB_GIT_URL: `file://${remotes}/{repository}.git` },
        );
        approver = addToken(h.tokensFile, "alice-approver", "approver");
        // Items go to one absolute directory, so the checkout's location changes no input.
        h.configure("dev", { dir: path.join(h.dataDir, "items-dev") });
        // The stack exists (and its file holds its salt) in the backend before any pull request: a sandboxed preview can read
        // the state but never create it (the state is read-only to pull-request code).
        const first = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(first.body.id)).state, "succeeded");
        ({ mainSha, headSha: prSha } = publishPullRequest(h.projectDir, remotes, {
            repository: "acme/infra",
            number: 3,
            change: () => fs.appendFileSync(path.join(h.projectDir, "index.js"), 'new Item("from-pull-request", { ...common, fileName: "pr.txt" });\n'),
        }));
    });
    after(async () => {
        await h?.close();
        fs.rmSync(remotes, { recursive: true, force: true });
    });

    const deliver = (sha: string, action = "opened") => {
        const { raw, headers } = pullRequestDelivery(SECRET, { repository: "acme/infra", number: 3, sha, action });
        return h.call("POST", "/v1/webhooks/github", { raw, headers });
    };
    const created = (job: Job) => job.summary!.steps.filter((s) => s.op === "create" && s.type !== "pulumi:pulumi:Stack").map((s) => s.urn.split("::").pop());
    const checkoutsLeft = () => {
        const dir = path.join(h.dataDir, "checkouts");
        return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    };

    let prPreview: Job;
    let ownPreview: Job;
    it("previews the pull request's head commit, with the program the pull request proposes", async () => {
        const r = await deliver(prSha);
        assert.equal(r.status, 202, JSON.stringify(r.body));
        assert.deepEqual(r.body.jobs.map((j: { stack: string; op: string }) => [j.stack, j.op]), [["dev", "preview"]]);
        prPreview = await h.waitFor(r.body.jobs[0].id);
        assert.equal(prPreview.state, "succeeded", JSON.stringify(prPreview.error));
        assert.deepEqual(prPreview.options.source, { repository: "acme/infra", pullRequest: 3, sha: prSha });
        assert.deepEqual(created(prPreview).sort(), ["from-pull-request", "item-0", "item-1"]);
        const log = (await h.server.store.logPage(prPreview.id, 0, 1000)).lines.map((l) => l.text);
        assert.ok(log.includes(`previewing pull request #3 of acme/infra at ${prSha}`), log.slice(0, 5).join("\n"));
    });
    it("leaves the service's own checkout as it was and removes the job's worktree", async () => {
        assert.equal(git(h.projectDir, "rev-parse", "HEAD"), mainSha);
        assert.equal(git(h.projectDir, "status", "--porcelain"), "");
        await until(() => (checkoutsLeft().length === 0 ? true : undefined), "the job's checkout removed", 10_000);
        const own = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        ownPreview = await h.waitFor(own.body.id);
        assert.deepEqual(created(ownPreview).sort(), ["item-0", "item-1"]);
    });
    it("refuses to approve the pull request's preview, which never supersedes the checkout's own", async () => {
        const r = await deliver(prSha, "synchronize");
        const again = await h.waitFor(r.body.jobs[0].id);
        assert.equal(again.state, "succeeded", JSON.stringify(again.error));
        const refused = await h.call("POST", `/v1/jobs/${again.id}/approvals`, { token: approver, body: { decision: "approve" } });
        assert.equal(refused.status, 409);
        assert.equal(refused.body.error.code, "PREVIEW_OF_PULL_REQUEST");
        assert.match(refused.body.error.message, /ran pull request #3 at [0-9a-f]{12}, not the service's checkout/);
        const own = await h.call("GET", `/v1/jobs/${ownPreview.id}/approvals`, { token: h.tokens.viewer });
        assert.equal(own.body.latest, true);
    });
    it("fails the job with CHECKOUT_FAILED, saying why, when the head commit cannot be fetched", async () => {
        const r = await deliver("0".repeat(40));
        const job = await h.waitFor(r.body.jobs[0].id);
        assert.equal(job.state, "failed");
        assert.equal(job.error?.code, "CHECKOUT_FAILED");
        assert.match(job.error!.message, /could not be fetched from acme\/infra/);
        assert.deepEqual(checkoutsLeft(), []);
    });
    it("cancels a pull request's preview whose program does not end: the SIGINT reaches the sandboxed CLI, nothing is killed, nothing is left", async () => {
        const { headSha } = publishPullRequest(h.projectDir, remotes, {
            repository: "acme/infra",
            number: 4,
            // The program waits two minutes before declaring anything.
            change: () => fs.writeFileSync(path.join(h.projectDir, "Pulumi.dev.yaml"), `config:\n  fixture:dir: ${JSON.stringify(path.join(h.dataDir, "items-dev"))}\n  fixture:programMs: "120000"\n`),
        });
        const { raw, headers } = pullRequestDelivery(SECRET, { repository: "acme/infra", number: 4, sha: headSha });
        const r = await h.call("POST", "/v1/webhooks/github", { raw, headers });
        const id = r.body.jobs[0].id as string;
        await until(async () => ((await h.server.jobs.logPage(id, 0, 500)).lines.some((l) => /previewing pull request #4/.test(l.text)) && (await h.server.store.getJob(id))?.state === "running" ? true : undefined), "the preview to run");
        await new Promise((res) => setTimeout(res, 3000));
        await h.call("POST", `/v1/jobs/${id}/cancel`, { token: h.tokens.operator });
        const done = await h.waitFor(id, undefined, 60_000);
        assert.equal(done.state, "cancelled", JSON.stringify(done.error));
        assert.ok(!(await h.server.store.eventsAfter(id, 0, 10_000)).some((e) => e.type === "forceKill"), "stopped by its SIGINT, not killed after the grace");
        assert.deepEqual(checkoutsLeft(), []);
    });
});
