// The README's "Running it" on the fixture, run as written: the second block with bash and curl
// against a service started as the first block starts it (the fixture project, its shipped
// policies, one token per role), so the README cannot drift from what works.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { addToken } from "../../automation/security/tokens";
import { Harness, startHarness } from "./harness";

const README = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
const FIXTURE_POLICIES = path.join(__dirname, "..", "fixture", "project", "environments");

/** The fenced sh blocks of the README's "Running it" section, in order. */
function runningItBlocks(): string[] {
    const section = README.slice(README.indexOf("## Running it"), README.indexOf("\n## ", README.indexOf("## Running it") + 5));
    return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe("the README's Running it, as written", function () {
    this.timeout(240_000);
    let h: Harness;
    after(async () => h?.stop());

    it("starts the service on the fixture with a token per role", () => {
        const [start] = runningItBlocks();
        assert.match(start, /^export AUTOMATION_PROJECT_DIR=\$PWD\/test\/fixture\/project AUTOMATION_DATA_DIR=\$PWD\/\.automation-fixture$/m);
        for (const role of ["operator", "approver", "admin"]) assert.match(start, new RegExp(`^npm run -s token -- --name \\w+ --role ${role}`, "m"));
        assert.match(start, /^npm start/m);
        assert.ok(fs.existsSync(path.join(FIXTURE_POLICIES, "prod.yaml")), "the fixture ships the policies the flow needs");
    });

    it("takes dev through an update, prod through an approved preview and update, and destroys dev as an admin", async () => {
        const policies = Object.fromEntries(fs.readdirSync(FIXTURE_POLICIES).map((f) => [f, fs.readFileSync(path.join(FIXTURE_POLICIES, f), "utf8")]));
        h = await startHarness({ policies });
        const ann = addToken(h.tokensFile, "ann", "approver");
        const [, flow] = runningItBlocks();
        // The placeholder line stands for pasting the tokens; the URL is the test service's.
        const script = flow.split("\n").filter((l) => !l.startsWith("OTTO=<")).join("\n").replaceAll("http://127.0.0.1:8080", h.url);
        const { stdout } = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", script],
            { env: { ...process.env, OTTO: h.tokens.operator, ANN: ann, ADA: h.tokens.admin }, timeout: 120_000 });
        assert.doesNotMatch(stdout, /"error"/, stdout);
        const jobs = async () => (await h.call("GET", "/v1/jobs?limit=10", { token: h.tokens.viewer })).body.jobs as Array<{ id: string; stack: string; op: string }>;
        for (const j of await jobs()) await h.waitFor(j.id);
        const done = (await Promise.all((await jobs()).map(async (j) => [j.stack, j.op, (await h.server.store.getJob(j.id))!.state]))).reverse();
        assert.deepEqual(done, [["dev", "update", "succeeded"], ["prod", "preview", "succeeded"], ["prod", "update", "succeeded"], ["dev", "destroy", "succeeded"]]);
    });
});
