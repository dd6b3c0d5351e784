// The pull-request sandbox is an allow-list: these tests run the real bubblewrap with the
// arguments the service builds and look from inside, the way a hostile program would.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../../../automation/config";
import { findBwrap, previewMounts, sandboxArgs, sandboxEnvironment, SYSTEM_PATHS, type PreviewHost } from "../../../automation/pulumi/sandbox";

describe("the pull-request sandbox's arguments and environment (real bubblewrap)", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-args-"));
    const project = path.join(root, "project");
    const data = path.join(project, ".automation");
    const state = path.join(data, "state");
    const worktree = path.join(data, "checkouts", "job-1");
    const configDir = `${worktree}.config`;
    const cli = path.join(root, "cli");
    const pack = path.join(root, "policy");
    for (const d of [state, worktree, configDir, cli, pack, path.join(project, "node_modules")]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(data, "tokens.json"), '{"tokens":[{"name":"admin"}]}');
    fs.writeFileSync(path.join(project, ".env"), "AWS_SECRET_ACCESS_KEY=not-for-the-pr");
    fs.writeFileSync(path.join(state, "stack.json"), "{}");
    // A file backend: meta.yaml, the previewed stack's checkpoint and another stack's.
    const stacksDir = path.join(state, ".pulumi", "stacks", "fixture");
    fs.mkdirSync(stacksDir, { recursive: true });
    fs.writeFileSync(path.join(state, ".pulumi", "meta.yaml"), "version: 1\n");
    fs.writeFileSync(path.join(stacksDir, "dev.json"), '{"stack":"dev"}');
    fs.writeFileSync(path.join(stacksDir, "prod.json"), '{"stack":"prod","secret":"prod-only"}');
    const host: PreviewHost = { repoRoot: REPO_ROOT, projectDir: project, project: "fixture", execPath: process.execPath, pulumiBin: cli, policyPacks: [pack], backendDir: state, home: path.join(root, "home") };
    const job = { root: worktree, configDir, stack: "dev" };
    const args = sandboxArgs(previewMounts(host, job, false));
    /** Runs `script` with Node inside the sandbox, as the job's program would; returns its stdout. */
    const inside = (script: string, extra: string[] = args) => execFileSync(findBwrap()!, [...extra, "--chdir", worktree, "--", process.execPath, "-e", script], { encoding: "utf8" }).trim();
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it("starts from an empty root and brings in only the system's programs, Node, node_modules, the CLI, the policy packs, the previewed stack's state and the job's two directories, read-only", () => {
        const mounts = args.flatMap((a, i) => (["--tmpfs", "--ro-bind", "--bind", "--dev", "--proc", "--symlink", "--remount-ro"].includes(a) ? [`${a} ${args[i + 1]}`] : []));
        const system = SYSTEM_PATHS.filter((p) => fs.existsSync(p)).map((p) => `--ro-bind ${p}`);
        assert.equal(mounts[0], "--tmpfs /", "an empty root");
        assert.ok(!args.some((a, i) => a === "--ro-bind" && args[i + 1] === "/"), "the host's root is never shown");
        const shown = new Set(mounts);
        for (const m of [
            ...system,
            "--dev /dev",
            "--proc /proc",
            "--tmpfs /tmp",
            `--ro-bind ${path.join(REPO_ROOT, "node_modules")}`,
            `--ro-bind ${path.join(project, "node_modules")}`,
            `--ro-bind ${cli}`,
            `--ro-bind ${pack}`,
            `--ro-bind ${path.join(state, ".pulumi", "meta.yaml")}`,
            `--ro-bind ${path.join(stacksDir, "dev.json")}`,
            `--ro-bind ${worktree}`,
            `--ro-bind ${configDir}`,
        ]) {
            assert.ok(shown.has(m), `${m} in\n${mounts.join("\n")}`);
        }
        const binds = mounts.filter((m) => /^--(ro-)?bind /.test(m)).map((m) => m.split(" ")[1]);
        for (const never of [project, data, state, path.join(stacksDir, "prod.json"), REPO_ROOT, path.join(REPO_ROOT, "automation"), "/etc", "/run", "/var", "/home", "/root", os.homedir()]) assert.ok(!binds.includes(never), `${never} is not shown`);
        assert.ok(!mounts.some((m) => m.startsWith("--bind ")), "nothing of the host is writable");
        const tmp = args.findIndex((a, i) => a === "--tmpfs" && args[i + 1] === "/tmp");
        assert.deepEqual(args.slice(tmp - 2, tmp), ["--size", String(512 * 1024 * 1024)], "the private /tmp is bounded");
        assert.equal(mounts[mounts.length - 1], "--remount-ro /", "the root is read-only once everything is in place");
        for (const flag of ["--unshare-pid", "--unshare-ipc", "--unshare-net", "--die-with-parent", "--new-session"]) assert.ok(args.includes(flag), flag);
        assert.deepEqual(args.slice(args.indexOf("--cap-drop"), args.indexOf("--cap-drop") + 2), ["--cap-drop", "ALL"]);
    });

    it("shows nothing of the data dir but the previewed stack's state, nor another stack's, nor the project's .env, the host's home, /run, /var or /etc/ssl/private", () => {
        const seen = JSON.parse(
            inside(`const fs = require("fs"); const probe = (p) => { try { return "listed:" + fs.readdirSync(p).sort().join(","); } catch (e) { try { fs.readFileSync(p); return "read"; } catch (e2) { return e2.code; } } };
            console.log(JSON.stringify(Object.fromEntries(${JSON.stringify([path.join(data, "tokens.json"), path.join(project, ".env"), path.join(stacksDir, "dev.json"), path.join(stacksDir, "prod.json"), path.join(state, "stack.json"), os.homedir(), "/run", "/var", "/etc/ssl/private", "/etc/shadow", "/srv", "/home", path.join(REPO_ROOT, "automation", "main.ts"), path.join(REPO_ROOT, "package.json")])}.map((p) => [p, probe(p)]))));`),
        );
        assert.deepEqual(seen, {
            [path.join(data, "tokens.json")]: "ENOENT",
            [path.join(project, ".env")]: "ENOENT",
            [path.join(stacksDir, "dev.json")]: "read",
            [path.join(stacksDir, "prod.json")]: "ENOENT",
            [path.join(state, "stack.json")]: "ENOENT",
            // The home exists in the sandbox only as the way to a bound path under it (a checkout under
            // the home: its node_modules), and then holds nothing but that way.
            [os.homedir()]: REPO_ROOT.startsWith(`${os.homedir()}/`) ? `listed:${path.relative(os.homedir(), REPO_ROOT).split(path.sep)[0]}` : "ENOENT",
            "/run": "ENOENT",
            "/var": "ENOENT",
            "/etc/ssl/private": "ENOENT",
            "/etc/shadow": "ENOENT",
            "/srv": "ENOENT",
            "/home": "ENOENT",
            [path.join(REPO_ROOT, "automation", "main.ts")]: "ENOENT",
            [path.join(REPO_ROOT, "package.json")]: "ENOENT",
        });
    });

    it("hides what the host adds after the sandbox was designed: a new secret file and a new directory outside the allow-list", () => {
        const later = fs.mkdtempSync(path.join(os.homedir(), ".sandbox-later-"));
        const etcSecret = path.join("/etc", `sandbox-later-${process.pid}.key`);
        try {
            fs.writeFileSync(path.join(later, "secret"), "s3cret");
            fs.writeFileSync(etcSecret, "s3cret");
            const reads = inside(`const fs = require("fs"); console.log(${JSON.stringify([path.join(later, "secret"), etcSecret])}.map((p) => { try { return fs.readFileSync(p, "utf8"); } catch (e) { return e.code; } }).join(","))`);
            assert.equal(reads, "ENOENT,ENOENT");
        } finally {
            fs.rmSync(later, { recursive: true, force: true });
            fs.rmSync(etcSecret, { force: true });
        }
    });

    it("cannot connect to a unix socket on the host, by path or in the abstract namespace", async () => {
        const dir = fs.mkdtempSync(path.join(os.homedir(), ".sandbox-sock-"));
        const socket = path.join(dir, ".s.PGSQL.5432");
        const abstract = `\0sandbox-test-${process.pid}`;
        const servers = [net.createServer((c) => c.end("hello\n")), net.createServer((c) => c.end("hello\n"))];
        await new Promise<void>((r) => servers[0].listen(socket, r));
        await new Promise<void>((r) => servers[1].listen(abstract, r));
        try {
            // The host reaches both, so a refusal inside is the sandbox's doing.
            const reach = (p: string) => `new Promise((r) => { const c = require("net").connect(${JSON.stringify(p)}); c.on("data", () => r("connected")); c.on("error", (e) => r(e.code)); })`;
            const script = `Promise.all([${reach(socket)}, ${reach(abstract)}]).then((r) => console.log(r.join(",")))`;
            const outside = await new Promise<string>((resolve) => {
                const p = spawn(process.execPath, ["-e", script]);
                let out = "";
                p.stdout.on("data", (d) => (out += d));
                p.on("close", () => resolve(out.trim()));
            });
            assert.equal(outside, "connected,connected");
            const res = await new Promise<string>((resolve) => {
                const p = spawn(findBwrap()!, [...args, "--chdir", worktree, "--", process.execPath, "-e", script]);
                let out = "";
                p.stdout.on("data", (d) => (out += d));
                p.on("close", () => resolve(out.trim()));
            });
            assert.equal(res, "ENOENT,ECONNREFUSED");
        } finally {
            for (const s of servers) s.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("can write only its private /tmp; its worktree, its config copy, the root, node_modules and the state are read-only", () => {
        const result = inside(`const fs = require("fs"); console.log(${JSON.stringify([path.join(worktree, "x"), path.join(configDir, "x"), "/tmp/x", "/x", path.join(REPO_ROOT, "node_modules", "pwned.js"), path.join(stacksDir, "dev.json"), "/usr/x"])}.map((p) => { try { fs.writeFileSync(p, "x"); return "written"; } catch (e) { return e.code; } }).join(","))`);
        assert.equal(result, "EROFS,EROFS,written,EROFS,EROFS,EROFS,EROFS");
        assert.ok(!fs.existsSync(path.join(REPO_ROOT, "node_modules", "pwned.js")));
    });

    it("cannot fill more of the host's memory than its /tmp's size", () => {
        const small = sandboxArgs({ ...previewMounts(host, job, false), tmpBytes: 16 * 1024 * 1024 });
        const result = inside(`const fs = require("fs"); const mb = Buffer.alloc(1024 * 1024); let n = 0; try { for (; n < 64; n++) fs.appendFileSync("/tmp/fill", mb); console.log("wrote " + n); } catch (e) { console.log(e.code + " after " + n); }`, small);
        assert.match(result, /^ENOSPC after 1[56]$/);
    });
    it("sees only its own processes in /proc", () => {
        const pids = inside(`console.log(require("fs").readdirSync("/proc").filter((p) => /^\\d+$/.test(p)).length)`);
        assert.ok(Number(pids) <= 3, `${pids} processes visible`);
    });

    it("shows the Pulumi plugins read-only in the sandbox's scratch home", () => {
        const plugins = path.join(host.home, ".pulumi", "plugins");
        fs.mkdirSync(plugins, { recursive: true });
        const withPlugins = sandboxArgs(previewMounts(host, job, false));
        const i = withPlugins.indexOf(plugins);
        assert.deepEqual(withPlugins.slice(i - 1, i + 2), ["--ro-bind", plugins, "/tmp/home/.pulumi/plugins"]);
    });
    it("shares the network only when the configuration grants it", () => {
        assert.ok(!sandboxArgs(previewMounts(host, job, true)).includes("--unshare-net"));
    });
    it("passes PATH, locale, the Pulumi variables and the named ones, and nothing else of the service's", () => {
        const env = sandboxEnvironment({ PATH: "/bin", LANG: "C", PULUMI_BACKEND_URL: "file:///s", PULUMI_CONFIG_PASSPHRASE: "p", AWS_REGION: "eu-west-1", AWS_SECRET_ACCESS_KEY: "k", GITHUB_TOKEN: "t" }, ["AWS_REGION"]);
        assert.deepEqual(env, { HOME: "/tmp/home", PULUMI_HOME: "/tmp/home/.pulumi", PATH: "/bin", LANG: "C", PULUMI_BACKEND_URL: "file:///s", PULUMI_CONFIG_PASSPHRASE: "p", AWS_REGION: "eu-west-1" });
    });
    it("finds bubblewrap on PATH, which npm run setup installs", () => {
        assert.match(findBwrap() ?? "", /\/bwrap$/);
        assert.equal(findBwrap("/nonexistent"), undefined);
    });
});
