// The automation service's container image, built by scripts/build-image.sh and run with the real
// podman: the service answers, previews the fixture project mounted read-only with its state in
// the data volume, runs as a non-root user and stops cleanly on SIGTERM. Slow (a full image build),
// so it runs in `npm run test:image`, not in `npm test`.
import * as assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../automation/identityProvider";
import { call, prepareFixture, publishPullRequest, pullRequestDelivery, until, type FixtureCopy } from "../automation/harness";

const repo = path.resolve(__dirname, "../..");
const cache = process.env.TODOBACKEND_IMAGE_CACHE ?? path.join(os.homedir(), ".cache", "todobackend-image");
// What scripts/build-image.sh writes when CONTAINERS_CONF is unset (runc, ulimits within this machine's).
const podmanEnv = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? path.join(cache, "containers.conf") };
const run = promisify(execFile);
const podman = async (...args: string[]) => (await run("podman", args, { env: podmanEnv, maxBuffer: 64 << 20 })).stdout.trim();

describe("the automation service's container image, run with podman", function () {
    this.timeout(120_000);
    const tag = `${process.pid}-${Date.now().toString(36)}`;
    const image = `localhost/todobackend-automation:test-${tag}`;
    const container = `todobackend-automation-test-${tag}`;
    const volume = `todobackend-automation-test-${tag}`;
    let fixture: FixtureCopy;
    let remotes = "";
    let pr = { mainSha: "", headSha: "" };
    let base = "";
    let token = "";
    const webhookSecret = "image-test-webhook-secret";

    before(async function () {
        // The build runs every step each time (npm ci, the compile): minutes on two cores.
        this.timeout(1_500_000);
        execFileSync("bash", [path.join(repo, "scripts/build-image.sh")], { env: { ...process.env, IMAGE: image, IMAGE_LAYER_CACHE: "false" }, stdio: ["ignore", "ignore", "inherit"] });
        fixture = prepareFixture();
        // Pull requests of "acme/infra" preview dev; a local bare repository stands in for GitHub.
        fs.mkdirSync(path.join(fixture.projectDir, "environments"));
        fs.writeFileSync(path.join(fixture.projectDir, "environments", "dev.yaml"), "stack: dev\ngithub: { previewOnPullRequest: true }\n");
        // The project's node_modules, which a pull request's worktree borrows, are the image's own.
        fs.symlinkSync("/app/node_modules", path.join(fixture.projectDir, "node_modules"));
        fs.appendFileSync(path.join(fixture.projectDir, ".gitignore"), "node_modules\n");
        remotes = fs.mkdtempSync(path.join(os.tmpdir(), "image-test-remotes-"));
        pr = publishPullRequest(fixture.projectDir, remotes, {
            repository: "acme/infra",
            number: 3,
            change: () => fs.appendFileSync(path.join(fixture.projectDir, "index.js"), 'new Item("from-pull-request", { ...common, fileName: "pr.txt" });\n'),
        });
        // Owned by the service's user, as GitHub's repositories are by GitHub's: git refuses another uid's.
        execFileSync("chown", ["-R", "10001:10001", remotes]);
        await podman("volume", "create", volume);
        // The documented way to make a token: the image's own token command, into the data volume.
        const minted = await podman("run", "--rm", "--no-healthcheck", "-v", `${volume}:/data`, "-v", `${fixture.projectDir}:/project:ro`, image,
            "node", "--disable-warning=ExperimentalWarning", "scripts/token.js", "--name", "image-test", "--role", "operator");
        token = /^tbk_\S+$/m.exec(minted)?.[0] ?? "";
        assert.ok(token, `the token command printed no token: ${minted}`);
        const port = await freePort();
        await podman("run", "-d", "--name", container,
            "-p", `127.0.0.1:${port}:8080`,
            "-v", `${volume}:/data`,
            "-v", `${fixture.projectDir}:/project:ro`,
            "-e", "PULUMI_BACKEND_URL=file:///data/state",
            "-e", "AUTOMATION_SHUTDOWN_GRACE_MS=3000",
            "-v", `${remotes}:/remotes:ro`,
            "-e", `AUTOMATION_GITHUB_WEBHOOK_SECRET=${webhookSecret}`,
            "-e", "AUTOMATION_GITHUB_REPOSITORIES=acme/infra",
            "-e", "AUTOMATION_GITHUB_GIT_URL=file:///remotes/{repository}.git",
            // What bubblewrap needs here (docs/image.md): a /proc it may mount.
            "--security-opt", "unmask=/proc/*",
            image);
        base = `http://127.0.0.1:${port}`;
        await until(async () => {
            const state = await podman("inspect", "--format", "{{.State.Status}}", container);
            if (state !== "running") throw new Error(`the container is ${state}: ${await podman("logs", container)}`);
            return (await call(base, "GET", "/readyz").catch(() => undefined))?.status === 200 ? true : undefined;
        }, "GET /readyz to answer 200", 60_000);
    });

    after(async function () {
        this.timeout(60_000);
        // Everything this file made, whatever failed (the build kept no intermediate images);
        // the cached Debian base stays.
        await podman("rm", "-f", "-t", "0", container).catch(() => undefined);
        await podman("volume", "rm", "-f", volume).catch(() => undefined);
        await podman("rmi", "-f", image).catch(() => undefined);
        if (fixture) fs.rmSync(path.dirname(fixture.projectDir), { recursive: true, force: true });
        if (remotes) fs.rmSync(remotes, { recursive: true, force: true });
    });

    it("answers /healthz and reports ready on /readyz with the image's Pulumi CLI and the data volume", async () => {
        assert.equal((await call(base, "GET", "/healthz")).status, 200);
        const ready = await call(base, "GET", "/readyz");
        assert.equal(ready.status, 200, JSON.stringify(ready.body));
        assert.match(JSON.stringify(ready.body), /3\.259\.0/);
    });

    it("its HEALTHCHECK (a node one-liner against /readyz) reports the container healthy", async () => {
        assert.match(await podman("image", "inspect", "--format", "{{json .HealthCheck}}", image), /readyz/);
        // Exit status 0 is healthy; podman answers non-zero for unhealthy.
        await podman("healthcheck", "run", container);
    });

    it("previews the fixture project mounted read-only: two items and the stack to create, the state in the data volume's file:// backend", async () => {
        const r = await call(base, "POST", "/v1/stacks/dev/previews", { token, body: {} });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const job = await until(async () => {
            const j = (await call(base, "GET", `/v1/jobs/${r.body.id}`, { token })).body;
            return ["queued", "running"].includes(j.state) ? undefined : j;
        }, `preview job ${r.body.id}`, 90_000);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        assert.deepEqual(job.summary.counts, { create: 3 });
        const items = job.summary.steps.filter((s: { type: string }) => s.type === "pulumi-nodejs:dynamic:Resource");
        assert.deepEqual(items.map((s: { urn: string; op: string }) => [s.urn.split("::").pop(), s.op]).sort(), [["item-0", "create"], ["item-1", "create"]]);
        // The stack lives in the volume's backend; nothing was written into the mounted project.
        assert.match(await podman("exec", container, "ls", "/data/state/.pulumi/stacks/fixture"), /^dev\.json/m);
        assert.equal(fs.existsSync(path.join(fixture.projectDir, "out")), false);
        assert.equal(fs.existsSync(path.join(fixture.projectDir, ".automation")), false);
        // git reads the mounted repository though another uid owns it: the preview records its commit.
        const approvals = await call(base, "GET", `/v1/jobs/${job.id}/approvals`, { token });
        assert.equal(approvals.body.commit, execFileSync("git", ["rev-parse", "HEAD"], { cwd: fixture.projectDir, encoding: "utf8" }).trim(), JSON.stringify(approvals.body));
    });

    it("previews a pull request from a GitHub webhook inside bubblewrap: the pull request's program, fetched into the data volume", async () => {
        const { raw, headers } = pullRequestDelivery(webhookSecret, { repository: "acme/infra", number: 3, sha: pr.headSha });
        const r = await call(base, "POST", "/v1/webhooks/github", { raw, headers });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const id = r.body.jobs[0].id;
        const job = await until(async () => {
            const j = (await call(base, "GET", `/v1/jobs/${id}`, { token })).body;
            return ["queued", "running"].includes(j.state) ? undefined : j;
        }, `pull-request preview ${id}`, 90_000);
        const log = (await call(base, "GET", `/v1/jobs/${id}/log?limit=100`, { token })).body.lines.map((l: { text: string }) => l.text);
        assert.equal(job.state, "succeeded", `${JSON.stringify(job.error)}\n${log.join("\n")}`);
        assert.deepEqual(job.options.source, { repository: "acme/infra", pullRequest: 3, sha: pr.headSha });
        const created = job.summary.steps.filter((s: { op: string; type: string }) => s.op === "create" && s.type !== "pulumi:pulumi:Stack");
        assert.deepEqual(created.map((s: { urn: string }) => s.urn.split("::").pop()).sort(), ["from-pull-request", "item-0", "item-1"]);
        assert.ok(log.includes(`previewing pull request #3 of acme/infra at ${pr.headSha}`), log.join("\n"));
    });

    it("runs every process as the unprivileged user automation (uid 10001) and writes the data volume as that user", async () => {
        const table = await podman("exec", container, "sh", "-c",
            `for p in /proc/[0-9]*; do [ -r "$p/cmdline" ] && echo "$(awk '/^Uid:/ { print $2 }' "$p/status") $(tr '\\0' ' ' < "$p/cmdline")"; done`);
        const procs = table.split("\n").filter(Boolean).map((l) => ({ uid: l.split(" ")[0], cmd: l.slice(l.indexOf(" ") + 1) }));
        assert.ok(procs.some((p) => p.cmd.includes("automation/main.js")), table);
        assert.ok(procs.some((p) => p.cmd.startsWith("/usr/bin/tini")), table);
        assert.deepEqual([...new Set(procs.map((p) => p.uid))], ["10001"], table);
        assert.equal(await podman("exec", container, "stat", "-c", "%n %U %u", "/data", "/data/jobs.sqlite", "/data/state"), "/data automation 10001\n/data/jobs.sqlite automation 10001\n/data/state automation 10001");
    });

    // The service's own sandbox module, inside the image, wraps node as a pull-request preview's
    // program would be (no network, read-only root); what differs between runs is only the
    // container's /proc: podman masks parts of it, and bwrap may not mount a fresh one over that.
    const sandboxProbe = `
        const { sandboxArgs, previewMounts, findBwrap } = require("/app/automation/pulumi/sandbox.js");
        const host = { repoRoot: "/app", projectDir: "/project", project: "fixture", execPath: process.execPath, pulumiBin: "/opt/pulumi/bin", policyPacks: [], backendDir: "/data/state", home: require("os").homedir() };
        const args = sandboxArgs(previewMounts(host, { root: "/data", configDir: "/tmp", stack: "dev" }, false));
        const r = require("child_process").spawnSync(findBwrap(), [...args, "--remount-ro", "/", "--", process.execPath, "-e", "process.stdout.write('sandboxed as ' + process.getuid())"], { encoding: "utf8" });
        process.stdout.write(r.status === 0 ? r.stdout : "bwrap failed: " + r.stderr);`;
    const probeSandbox = (...options: string[]) =>
        podman("run", "--rm", "--no-healthcheck", ...options, image, "node", "-e", sandboxProbe);

    it("makes the pull-request preview sandbox with its bubblewrap when run with --security-opt unmask=/proc/*, and cannot without", async () => {
        assert.equal(await probeSandbox("--security-opt", "unmask=/proc/*"), "sandboxed as 10001");
        assert.match(await probeSandbox(), /^bwrap failed: .*proc/);
    });

    it("stops on SIGTERM (podman stop) through the service's graceful shutdown: exit code 0 within 10 s", async () => {
        const started = Date.now();
        await podman("stop", "-t", "30", container);
        const took = Date.now() - started;
        assert.equal(await podman("inspect", "--format", "{{.State.ExitCode}}", container), "0");
        assert.ok(took < 10_000, `podman stop took ${took} ms`);
        // The service's own handler ran (not a kill): it logged the signal.
        assert.match(await podman("logs", container), /"signal":"SIGTERM"[^\n]*"signal received"/);
    });
});
