// Pull-request checkouts with the real git against a local bare repository standing in for
// GitHub (it carries the PR head only under refs/pull/<n>/head, as GitHub does).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Checkouts, gitEnvironment, repositoryUrl } from "../../../automation/sources/checkouts";

const git = (cwd: string, ...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main", ...args], { cwd, encoding: "utf8" }).trim();

describe("pull-request checkouts", () => {
    let root: string;
    let remotes: string;
    let serviceProject: string;
    let mainSha: string;
    let prSha: string;
    let checkouts: Checkouts;
    const source = () => ({ repository: "acme/infra", pullRequest: 3, sha: prSha });

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "checkouts-"));
        const work = path.join(root, "work");
        fs.mkdirSync(path.join(work, "deploy"), { recursive: true });
        fs.writeFileSync(path.join(work, "deploy", "Pulumi.yaml"), "name: fixture\nruntime: nodejs\n");
        fs.writeFileSync(path.join(work, "deploy", "index.js"), "// main\n");
        fs.writeFileSync(path.join(work, "deploy", "package-lock.json"), '{"v":1}\n');
        git(root, "init", "-q", work);
        git(work, "add", ".");
        git(work, "commit", "-qm", "main");
        mainSha = git(work, "rev-parse", "HEAD");
        git(work, "checkout", "-qb", "feature");
        fs.writeFileSync(path.join(work, "deploy", "index.js"), "// the pull request's program\n");
        git(work, "commit", "-qam", "pr");
        prSha = git(work, "rev-parse", "HEAD");
        remotes = path.join(root, "remotes");
        fs.mkdirSync(path.join(remotes, "acme"), { recursive: true });
        git(root, "init", "-q", "--bare", path.join(remotes, "acme", "infra.git"));
        git(work, "push", "-q", path.join(remotes, "acme", "infra.git"), "main", "feature:refs/pull/3/head");
        serviceProject = path.join(root, "service");
        fs.mkdirSync(path.join(serviceProject, "node_modules", "dep"), { recursive: true });
        fs.writeFileSync(path.join(serviceProject, "package-lock.json"), '{"v":1}\n');
        checkouts = new Checkouts({ dataDir: path.join(root, "data"), projectDir: serviceProject, urlTemplate: `file://${remotes}/{repository}.git`, projectPath: "deploy" });
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("checks out the pull request's head commit, not the default branch, as the job's project", async () => {
        const lines: string[] = [];
        const co = await checkouts.prepare("job-1", source(), (l) => lines.push(l));
        assert.equal(co.projectDir, path.join(root, "data", "checkouts", "job-1", "deploy"));
        assert.equal(fs.readFileSync(path.join(co.projectDir, "index.js"), "utf8"), "// the pull request's program\n");
        assert.equal(git(co.projectDir, "rev-parse", "HEAD"), prSha);
        assert.notEqual(prSha, mainSha);
        assert.match(lines.join("\n"), new RegExp(`fetching ${prSha.slice(0, 12)} of acme/infra \\(pull request #3\\)`));
        await co.release();
    });
    it("lends the job the service's installed node_modules and says so when the pull request changes the lockfile", async () => {
        const quiet: string[] = [];
        const same = await checkouts.prepare("job-1", source(), (l) => quiet.push(l));
        assert.equal(fs.realpathSync(path.join(same.projectDir, "node_modules")), fs.realpathSync(path.join(serviceProject, "node_modules")));
        assert.ok(!quiet.some((l) => l.startsWith("warning")));
        await same.release();
        fs.writeFileSync(path.join(serviceProject, "package-lock.json"), '{"v":2}\n');
        const noisy: string[] = [];
        await (await checkouts.prepare("job-2", source(), (l) => noisy.push(l))).release();
        assert.ok(noisy.includes("warning: the pull request changes package-lock.json; it is previewed with the dependencies installed for the service"));
    });
    it("removes the worktree on release, so nothing of the pull request stays on disk", async () => {
        const co = await checkouts.prepare("job-1", source(), () => undefined);
        await co.release();
        assert.ok(!fs.existsSync(path.join(root, "data", "checkouts", "job-1")));
        const mirror = path.join(root, "data", "git", "acme__infra.git");
        assert.equal(git(root, "--git-dir", mirror, "worktree", "list").split("\n").length, 1);
    });
    it("fetches a commit once: later jobs on the same head reuse the mirror", async () => {
        const lines: string[] = [];
        await (await checkouts.prepare("job-1", source(), (l) => lines.push(l))).release();
        await (await checkouts.prepare("job-2", source(), (l) => lines.push(l))).release();
        assert.equal(lines.filter((l) => l.startsWith("fetching")).length, 1);
    });
    it("drops the fetched commits once no job uses them (gc interval 0), and fetches them again when asked", async () => {
        const pruning = new Checkouts({ dataDir: path.join(root, "data"), projectDir: serviceProject, urlTemplate: `file://${remotes}/{repository}.git`, projectPath: "deploy", gcIntervalMs: 0 });
        const mirror = path.join(root, "data", "git", "acme__infra.git");
        const has = (sha: string) => spawnSync("git", ["--git-dir", mirror, "cat-file", "-e", `${sha}^{commit}`]).status === 0;
        const [a, b] = await Promise.all([pruning.prepare("job-a", source(), () => undefined), pruning.prepare("job-b", source(), () => undefined)]);
        await a.release();
        assert.ok(has(prSha), "kept while job-b still uses it");
        await b.release();
        assert.ok(!has(prSha), "dropped with the last job");
        assert.match(git(root, "--git-dir", mirror, "count-objects", "-v"), /^count: 0\n[\s\S]*^in-pack: 0$/m);
        const again = await pruning.prepare("job-c", source(), () => undefined);
        assert.equal(git(again.projectDir, "rev-parse", "HEAD"), prSha);
        await again.release();
    });
    it("checks out two jobs of the same repository at once", async () => {
        const [a, b] = await Promise.all([checkouts.prepare("job-a", source(), () => undefined), checkouts.prepare("job-b", source(), () => undefined)]);
        assert.equal(git(a.projectDir, "rev-parse", "HEAD"), prSha);
        assert.equal(git(b.projectDir, "rev-parse", "HEAD"), prSha);
        await Promise.all([a.release(), b.release()]);
    });
    it("fails with CHECKOUT_FAILED naming the commit when the head cannot be fetched, and leaves no worktree", async () => {
        const gone = { ...source(), sha: "0".repeat(40) };
        await assert.rejects(checkouts.prepare("job-1", gone, () => undefined), (e: { code: string; message: string }) => {
            assert.equal(e.code, "CHECKOUT_FAILED");
            assert.match(e.message, /Commit 000000000000 of pull request #3 could not be fetched from acme\/infra/);
            return true;
        });
        assert.ok(!fs.existsSync(path.join(root, "data", "checkouts", "job-1")));
    });
    it("fails with CHECKOUT_FAILED naming the setting when the head has no Pulumi project at the project path", async () => {
        const elsewhere = new Checkouts({ dataDir: path.join(root, "data"), projectDir: serviceProject, urlTemplate: `file://${remotes}/{repository}.git`, projectPath: "infra" });
        await assert.rejects(elsewhere.prepare("job-1", source(), () => undefined), /no Pulumi.yaml in "infra"; set AUTOMATION_GITHUB_PROJECT_PATH/);
        assert.ok(!fs.existsSync(path.join(root, "data", "checkouts", "job-1")));
    });
    /** Pushes a PR head made by `change` in the work repository as pull request `n`; returns its sha. */
    const pushHead = (n: number, change: (work: string) => void): string => {
        const work = path.join(root, "work");
        git(work, "checkout", "-q", "-b", `pr-${n}`, mainSha);
        change(work);
        git(work, "add", "-A");
        git(work, "commit", "-qm", `pr ${n}`);
        const sha = git(work, "rev-parse", "HEAD");
        git(work, "push", "-q", path.join(remotes, "acme", "infra.git"), `HEAD:refs/pull/${n}/head`);
        return sha;
    };
    it("refuses a project directory the pull request committed as a symlink, writing nothing where it points", async () => {
        const target = path.join(root, "elsewhere");
        fs.mkdirSync(target);
        fs.writeFileSync(path.join(target, "Pulumi.yaml"), "name: elsewhere\n");
        const sha = pushHead(5, (work) => {
            fs.rmSync(path.join(work, "deploy"), { recursive: true });
            fs.symlinkSync(target, path.join(work, "deploy"));
        });
        await assert.rejects(checkouts.prepare("job-1", { repository: "acme/infra", pullRequest: 5, sha }, () => undefined), (e: { code: string; message: string }) => {
            assert.equal(e.code, "UNSAFE_CHECKOUT");
            assert.match(e.message, /"deploy" is a symbolic link/);
            return true;
        });
        assert.deepEqual(fs.readdirSync(target), ["Pulumi.yaml"], "no node_modules link was made where the symlink points");
        assert.ok(!fs.existsSync(path.join(root, "data", "checkouts", "job-1")));
    });
    it("replaces a node_modules the pull request committed (a link to elsewhere) with the service's, leaving its target alone", async () => {
        const target = path.join(root, "precious");
        fs.mkdirSync(target);
        fs.writeFileSync(path.join(target, "keep"), "keep");
        const sha = pushHead(6, (work) => fs.symlinkSync(target, path.join(work, "deploy", "node_modules")));
        const co = await checkouts.prepare("job-1", { repository: "acme/infra", pullRequest: 6, sha }, () => undefined);
        assert.equal(fs.realpathSync(path.join(co.projectDir, "node_modules")), fs.realpathSync(path.join(serviceProject, "node_modules")));
        assert.deepEqual(fs.readdirSync(target), ["keep"]);
        await co.release();
    });
    it("releases a worktree whose .git the previewed program rewrote (a config with hooks) without running git in it", async () => {
        const co = await checkouts.prepare("job-1", source(), () => undefined);
        const marker = path.join(root, "hook-ran");
        // What a sandboxed program can do to its writable worktree: make .git a repository whose config runs a command.
        fs.rmSync(path.join(co.root, ".git"));
        git(co.root, "init", "-q");
        git(co.root, "config", "core.fsmonitor", `touch ${marker}; false`);
        await co.release();
        assert.ok(!fs.existsSync(marker), "no git command ran inside the released worktree");
        assert.ok(!fs.existsSync(co.root) && !fs.existsSync(co.configDir));
    });
    it("refuses a head whose files add up to more than the limit, before writing any of them", async () => {
        const sha = pushHead(8, (work) => fs.writeFileSync(path.join(work, "deploy", "big.bin"), Buffer.alloc(3 * 1024 * 1024, 1)));
        const small = new Checkouts({ dataDir: path.join(root, "data"), projectDir: serviceProject, urlTemplate: `file://${remotes}/{repository}.git`, projectPath: "deploy", maxBytes: 1024 * 1024 });
        await assert.rejects(small.prepare("job-1", { repository: "acme/infra", pullRequest: 8, sha }, () => undefined), (e: { code: string; message: string }) => {
            assert.equal(e.code, "CHECKOUT_TOO_LARGE");
            assert.match(e.message, /holds 31\d{5} bytes of files, more than 1048576 \(AUTOMATION_PR_CHECKOUT_MAX_BYTES\)/);
            return true;
        });
        assert.ok(!fs.existsSync(path.join(root, "data", "checkouts", "job-1")));
    });
    it("keeps the job's config directory beside the worktree, never inside it", async () => {
        const co = await checkouts.prepare("job-1", source(), () => undefined);
        assert.equal(co.configDir, `${co.root}.config`);
        assert.ok(fs.statSync(co.configDir).isDirectory());
        assert.equal(fs.statSync(co.configDir).mode & 0o777, 0o700);
        await co.release();
    });
    it("refuses a sha, pull request number or repository that could be read as anything else", async () => {
        await assert.rejects(checkouts.prepare("job-1", { ...source(), sha: "--upload-pack=touch /tmp/x" }, () => undefined), /is not a full commit sha/);
        await assert.rejects(checkouts.prepare("job-1", { ...source(), pullRequest: 0 }, () => undefined), /is not a pull request number/);
        assert.throws(() => repositoryUrl("https://github.com/{repository}.git", "acme/../../etc"), /is not an owner\/name repository/);
    });
    it("removes checkouts a dead process left behind at start-up, and the commits they held", async () => {
        await checkouts.prepare("job-1", source(), () => undefined);
        assert.equal(await new Checkouts({ dataDir: path.join(root, "data"), projectDir: serviceProject }).pruneLeftovers(), 1);
        assert.deepEqual(fs.readdirSync(path.join(root, "data", "checkouts")), []);
        const mirror = path.join(root, "data", "git", "acme__infra.git");
        assert.notEqual(spawnSync("git", ["--git-dir", mirror, "cat-file", "-e", `${prSha}^{commit}`]).status, 0);
    });
});

describe("git's environment for pull-request fetches", () => {
    it("sends the token as an HTTP header through the environment, for https only, and ignores the machine's git config", () => {
        const env = gitEnvironment("https://github.com/acme/infra.git", "ghs_secret", { PATH: "/bin", HOME: "/root", GIT_DIR: "/elsewhere" });
        assert.deepEqual(env, {
            PATH: "/bin",
            HOME: "/root",
            GIT_TERMINAL_PROMPT: "0",
            GIT_CONFIG_NOSYSTEM: "1",
            GIT_CONFIG_GLOBAL: "/dev/null",
            GIT_CONFIG_COUNT: "1",
            GIT_CONFIG_KEY_0: "http.extraHeader",
            GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from("x-access-token:ghs_secret").toString("base64")}`,
        });
        assert.equal(gitEnvironment("file:///srv/git/acme/infra.git", "ghs_secret", { PATH: "/bin" }).GIT_CONFIG_COUNT, undefined);
    });
});
