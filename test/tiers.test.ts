// The fast tier stays fast and loses nothing: it starts no Pulumi CLI, browser or database, and
// the two tiers together are every test file `npm test` used to run.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { fast } = require("./tiers") as { fast: string[] };
// What makes a test file slow: jobs on the real CLI (the harness that runs them, a service process,
// the Automation API directly), a browser, a throwaway Postgres or MariaDB, a container. HTTP-rule
// tests may start the service in-process (startSafeHarness) as long as no job reaches the CLI, and
// infra tests evaluate the program under Pulumi's runtime mocks, which runs no CLI either.
const SLOW = /startHarness|startServiceProcess|LocalWorkspace|setup-pulumi|launchBrowser|startPostgres|startMariadb|podman|s3rver|runCli|spawnSync\("pulumi"/;

function testFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? testFiles(p) : e.name.endsWith(".test.ts") ? [path.relative(ROOT, p)] : [];
    });
}

describe("the test tiers", () => {
    it("put only existing test files in the fast tier, each once", () => {
        assert.ok(fast.length >= 40, `${fast.length} fast files`);
        assert.equal(new Set(fast).size, fast.length);
        for (const f of fast) assert.ok(fs.existsSync(path.join(ROOT, f)) && f.endsWith(".test.ts"), f);
    });

    it("keep jobs on the real CLI, browsers, databases and containers out of the fast tier", () => {
        // (this file names them, and is exempt)
        assert.deepEqual(fast.filter((f) => f !== "test/tiers.test.ts" && SLOW.test(fs.readFileSync(path.join(ROOT, f), "utf8"))), []);
    });

    it("run, together, every test file but the image's", () => {
        const all = testFiles(path.join(ROOT, "test")).filter((f) => !f.startsWith("test/image/"));
        const cli = all.filter((f) => !fast.includes(f));
        assert.deepEqual([...fast, ...cli].sort(), all.sort());
        assert.ok(cli.length >= 50, `${cli.length} CLI-tier files`);
    });
});
