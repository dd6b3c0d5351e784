import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findBwrap, sandboxArgs, sandboxEnvironment } from "../../../automation/pulumi/sandbox";

describe("the pull-request sandbox's arguments and environment", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-args-"));
    const repo = path.join(root, "repo");
    const data = path.join(repo, ".automation");
    const state = path.join(data, "state");
    const checkout = path.join(data, "checkouts", "job-1");
    for (const d of [state, checkout]) fs.mkdirSync(d, { recursive: true });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it("hides the data dir inside the read-only project, shows the state inside it again, and lets only the checkout be written", () => {
        const args = sandboxArgs({ hide: [data, root], readOnly: [repo, state, path.join(root, "missing")], network: false }, checkout);
        const mounts = args.flatMap((a, i) => (["--tmpfs", "--ro-bind", "--bind", "--remount-ro"].includes(a) ? [`${a} ${args[i + 1]}`] : []));
        assert.deepEqual(mounts, [
            "--ro-bind /",
            "--tmpfs /tmp",
            `--tmpfs ${root}`,
            `--ro-bind ${repo}`,
            `--tmpfs ${data}`,
            `--ro-bind ${state}`,
            `--bind ${checkout}`,
            `--remount-ro ${root}`,
            `--remount-ro ${data}`,
        ]);
        for (const flag of ["--unshare-pid", "--unshare-ipc", "--unshare-net", "--die-with-parent", "--new-session"]) assert.ok(args.includes(flag), flag);
        assert.deepEqual(args.slice(args.indexOf("--cap-drop"), args.indexOf("--cap-drop") + 2), ["--cap-drop", "ALL"]);
    });
    it("shows the Pulumi plugins read-only in the sandbox's scratch home", () => {
        const plugins = path.join(root, "plugins");
        fs.mkdirSync(plugins);
        const args = sandboxArgs({ hide: [], readOnly: [], plugins, network: false }, checkout);
        const i = args.indexOf(plugins);
        assert.deepEqual(args.slice(i - 1, i + 2), ["--ro-bind", plugins, "/tmp/home/.pulumi/plugins"]);
    });
    it("shows a tokens file kept outside the data dir empty, and nothing else of its directory changes (real bubblewrap)", () => {
        const conf = path.join(root, "conf");
        fs.mkdirSync(conf);
        fs.writeFileSync(path.join(conf, "tokens.json"), '{"tokens":[{"name":"admin"}]}');
        fs.writeFileSync(path.join(conf, "ssl.cnf"), "what the program may need");
        // conf stands for /etc: visible (here under the test's /tmp, which the sandbox replaces, so shown explicitly)
        const args = sandboxArgs({ hide: [], readOnly: [conf], mask: [path.join(conf, "tokens.json")], network: false }, checkout);
        const read = (file: string) => execFileSync(findBwrap()!, [...args, "--", "cat", path.join(conf, file)], { encoding: "utf8" });
        assert.equal(read("tokens.json"), "");
        assert.equal(read("ssl.cnf"), "what the program may need");
    });
    it("does not mask a tokens file inside a hidden directory, where it is hidden already", () => {
        fs.writeFileSync(path.join(data, "tokens.json"), "{}");
        const args = sandboxArgs({ hide: [data], readOnly: [], mask: [path.join(data, "tokens.json")], network: false }, checkout);
        assert.ok(!args.includes(path.join(data, "tokens.json")), args.join(" "));
    });
    it("never hides the root directory, whatever HOME says", () => {
        const args = sandboxArgs({ hide: ["/", data], readOnly: [], network: false }, checkout);
        assert.deepEqual(args.flatMap((a, i) => (a === "--tmpfs" ? [args[i + 1]] : [])), ["/tmp", data]);
    });
    it("shares the network only when the configuration grants it", () => {
        assert.ok(!sandboxArgs({ hide: [], readOnly: [], network: true }, checkout).includes("--unshare-net"));
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
