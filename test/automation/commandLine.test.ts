// What a person at a terminal meets first: the Node they run it with, the log they read, and the
// Pulumi CLI the docs' examples call. Each runs as the person runs it (a process, npm).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nodeVersionProblem } from "../../automation/nodeVersion";
import { prepareFixture } from "./harness";
import { startServiceProcess } from "./processes";

const REPO = path.resolve(__dirname, "../..");
// The old Node: Debian's, which this machine has (v20). The project's own Node is node_modules/.bin/node.
const OLD_NODE = "/usr/bin/node";

describe("running the service on a Node older than it needs", function () {
    this.timeout(60_000);

    it("accepts Node 22.13 and later and refuses older ones, naming the Node it found and the one to use", () => {
        for (const ok of ["v22.13.0", "v22.23.3", "v23.0.0", "v24.1.0"]) assert.equal(nodeVersionProblem(ok, "/x/node"), undefined, ok);
        for (const old of ["v20.20.2", "v22.12.0", "v18.0.0"]) {
            const problem = nodeVersionProblem(old, "/usr/bin/node");
            assert.match(problem ?? "", new RegExp(`This is Node\\.js ${old.replace(/\./g, "\\.")} \\(/usr/bin/node\\); the automation service needs Node\\.js ≥ 22\\.13`), old);
            assert.match(problem ?? "", /npm start.*node_modules\/\.bin\/node/s);
        }
    });

    for (const [what, entry, args] of [["the service", "automation/main.ts", []], ["the token command", "scripts/token.ts", ["list"]]] as const) {
        it(`stops ${what} on Debian's Node 20 with exit 1 and the Node to use instead, not a stack trace about node:sqlite`, () => {
            const version = execFileSync(OLD_NODE, ["--version"], { encoding: "utf8" }).trim();
            assert.ok(nodeVersionProblem(version, OLD_NODE), `this test needs a Node older than 22.13 at ${OLD_NODE} (found ${version})`);
            const run = spawnSync(OLD_NODE, ["-r", "ts-node/register/transpile-only", entry, ...args], { cwd: REPO, encoding: "utf8", env: { ...process.env, PORT: "0" } });
            assert.equal(run.status, 1);
            assert.equal(run.stderr, `${nodeVersionProblem(version, OLD_NODE)}\n`);
            assert.doesNotMatch(run.stderr + run.stdout, /ERR_UNKNOWN_BUILTIN_MODULE|    at /);
        });
    }
});

describe("the service's log for a person at a terminal", function () {
    this.timeout(120_000);

    it("writes readable lines with AUTOMATION_LOG_FORMAT=pretty and JSON lines by default, and stops on SIGTERM either way", async () => {
        for (const format of ["pretty", undefined]) {
            const f = prepareFixture();
            const svc = await startServiceProcess(f, { PULUMI_CONFIG_PASSPHRASE: "fixture-passphrase", ...(format ? { AUTOMATION_LOG_FORMAT: format } : {}) });
            const res = await fetch(`${svc.url}/healthz`);
            assert.equal(res.status, 200);
            svc.child.kill("SIGTERM");
            assert.equal(await svc.exited, 0);
            const lines = svc.output().split("\n").filter((l) => l.trim());
            const listening = lines.find((l) => l.includes("automation service listening"));
            assert.ok(listening, svc.output());
            if (format === "pretty") {
                assert.match(listening, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: automation service listening$/);
                assert.ok(lines.some((l) => /^\s+url: "http:\/\/[^"]+"$/.test(l)), "the entry's fields follow, one per line");
                assert.ok(lines.every((l) => !l.startsWith("{")), "no JSON line");
            } else {
                const entry = JSON.parse(listening);
                assert.equal(entry.level, 30);
                assert.equal(entry.msg, "automation service listening");
                assert.equal(entry.service, "todobackend-automation");
            }
        }
    });
});

describe("npm run pulumi", function () {
    this.timeout(120_000);
    const npm = (args: string[], o: { cwd: string; env?: Record<string, string> }) =>
        spawnSync("npm", ["run", "--silent", "pulumi", "--", ...args], { cwd: o.cwd, encoding: "utf8", env: { ...process.env, ...o.env } });

    it("runs the pinned CLI from any folder of the repository, with the project's Node first on PATH", () => {
        const pinned = execFileSync("bash", [path.join(REPO, "scripts/setup-pulumi.sh")], { encoding: "utf8" }).trim();
        const expected = execFileSync(path.join(pinned, "pulumi"), ["version"], { encoding: "utf8" }).trim();
        // A PATH with neither the CLI nor the project's Node: the script must bring both.
        const bare = { PATH: `/usr/bin:/bin` };
        const run = npm(["version"], { cwd: path.join(REPO, "docs"), env: bare });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.stdout.trim(), expected);
        assert.match(expected, /^v3\.\d+\.\d+$/);
    });

    it("works on the project's stacks from a sub-folder: `stack ls` in a fresh backend answers an empty list, where a folder outside any project is refused", () => {
        const backend = fs.mkdtempSync(path.join(os.tmpdir(), "npm-pulumi-"));
        const env = { PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "probe", PULUMI_HOME: path.join(backend, "home") };
        try {
            const listed = npm(["stack", "ls", "--json"], { cwd: path.join(REPO, "infra"), env });
            assert.equal(listed.status, 0, listed.stderr);
            assert.deepEqual(JSON.parse(listed.stdout), []);
            // The same CLI outside a project, to show what the script's working directory buys.
            const pinned = execFileSync("bash", [path.join(REPO, "scripts/setup-pulumi.sh")], { encoding: "utf8" }).trim();
            const outside = spawnSync(path.join(pinned, "pulumi"), ["stack", "ls", "--json"], { cwd: backend, encoding: "utf8", env: { ...process.env, ...env } });
            assert.notEqual(outside.status, 0);
            assert.match(outside.stderr, /no Pulumi\.yaml project file found/);
        } finally {
            fs.rmSync(backend, { recursive: true, force: true });
        }
    });
});
