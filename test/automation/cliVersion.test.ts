// Each CLI command is a start of the whole CLI (0.34 s of CPU here for `pulumi version` alone), so
// a job runs only the ones it needs: the CLI's version is asked once per binary by the service and
// handed to every job's worker, and no job asks for the `stack history` summary nobody reads.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PULUMI_VERSION } from "../../automation/config";
import { cliVersion, knownCliVersion } from "../../automation/pulumi/stacks";
import { startHarness, type Harness } from "./harness";

const PINNED_BIN = path.join(os.homedir(), ".pulumi", "versions", PULUMI_VERSION, "bin");

/** A bin directory whose `pulumi` logs each command line to `calls`, then runs the pinned CLI (or prints `fixed`). */
function loggingBin(o: { fixed?: string } = {}): { bin: string; calls(): string[]; replace(fixed: string): void } {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "cli-version-"));
    const log = path.join(bin, "calls.log");
    const write = (fixed?: string) => {
        const run = fixed ? `echo ${fixed}` : `exec ${path.join(PINNED_BIN, "pulumi")} "$@"`;
        fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\necho "$*" >> ${log}\n${run}\n`, { mode: 0o755 });
    };
    write(o.fixed);
    // The rest of the CLI's directory (language host, dynamic provider, policy analyzer) as it is.
    for (const f of fs.readdirSync(PINNED_BIN)) if (f !== "pulumi") fs.symlinkSync(path.join(PINNED_BIN, f), path.join(bin, f));
    return { bin, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []), replace: write };
}

describe("the Pulumi CLI's version, asked once per binary", function () {
    this.timeout(120_000);

    it("asks a CLI once for callers at the same moment, and again only after its binary changed", async () => {
        const cli = loggingBin({ fixed: "v3.300.1" });
        assert.deepEqual(await Promise.all([cliVersion(cli.bin), cliVersion(cli.bin), cliVersion(cli.bin)]), ["3.300.1", "3.300.1", "3.300.1"]);
        assert.equal(cli.calls().length, 1);
        assert.equal(knownCliVersion(cli.bin), "3.300.1");
        cli.replace("v3.301.0-rc.1");
        assert.equal(knownCliVersion(cli.bin), undefined, "a replaced binary's version is not taken from the old one");
        assert.equal(await cliVersion(cli.bin), "3.301.0-rc.1");
        assert.equal(cli.calls().length, 2);
    });

    it("asks a CLI again once its answer is five minutes old, for a pulumi that is a wrapper choosing the CLI elsewhere", async () => {
        const cli = loggingBin({ fixed: "v3.300.2" });
        assert.equal(await cliVersion(cli.bin), "3.300.2");
        const now = performance.now.bind(performance);
        try {
            performance.now = () => now() + 5 * 60_000 + 1;
            assert.equal(knownCliVersion(cli.bin), undefined);
        } finally {
            performance.now = now;
        }
        assert.equal(await cliVersion(cli.bin), "3.300.2");
        assert.equal(cli.calls().length, 2, "asked again, once");
        assert.equal(knownCliVersion(cli.bin), "3.300.2");
    });

    it("knows no version of a directory without a working CLI, nor of a pulumi answering more than a version", async () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "cli-version-none-"));
        assert.equal(await cliVersion(empty), undefined);
        assert.equal(knownCliVersion(empty), undefined);
        for (const answer of ["v3.300.3\\nextra", "not a version", "3.300", "v3.300.3 (a wrapper)", "3.259.0+a+b", "99999999999999999999.0.0"]) {
            const cli = loggingBin({ fixed: `"${answer}"` });
            assert.equal(await cliVersion(cli.bin), undefined, answer);
        }
        assert.equal(await cliVersion(loggingBin({ fixed: "v3.301.0-alpha.1+dev" }).bin), "3.301.0-alpha.1+dev");
    });

    describe("on the real service", () => {
        let h: Harness;
        let cli: ReturnType<typeof loggingBin>;
        before(async () => {
            cli = loggingBin();
            h = await startHarness({ env: { AUTOMATION_PULUMI_BIN: cli.bin } });
        });
        after(async () => h?.stop());

        it("runs previews, an update and a refresh in warm workers that never ask the CLI its version or the stack's history, and reads state without selecting the stack", async () => {
            // The warm workers are forked once the service knows the version.
            await h.call("GET", "/readyz");
            for (const op of ["previews", "updates", "previews", "refreshes"]) {
                const r = await h.call("POST", `/v1/stacks/dev/${op}`, { token: h.tokens.operator, body: {} });
                assert.equal(r.status, 202, JSON.stringify(r.body));
                const job = await h.waitFor(r.body.id);
                const log = job.state === "succeeded" ? undefined : (await h.call("GET", `/v1/jobs/${job.id}/log`, { token: h.tokens.operator })).body;
                assert.equal(job.state, "succeeded", JSON.stringify(log));
            }
            const calls = cli.calls();
            assert.deepEqual(calls.filter((c) => c === "version"), ["version"], calls.join("\n"));
            assert.equal(calls.filter((c) => /^(preview|up|refresh) /.test(c)).length, 4, calls.join("\n"));
            // The service's own reads (each preview's fingerprint: history and export) run this
            // binary, not one in its parent's bin/, and open the stack without a `stack select`
            // (the one select is the first job's, creating the stack); the jobs ask no history,
            // and the update reads its outputs with one export instead of two `stack output`.
            assert.equal(calls.filter((c) => c.startsWith("stack export")).length, 3, calls.join("\n"));
            assert.equal(calls.filter((c) => c.startsWith("stack history")).length, 2, calls.join("\n"));
            assert.deepEqual(calls.filter((c) => c.startsWith("stack output")), [], calls.join("\n"));
            assert.deepEqual(calls.filter((c) => c.startsWith("stack select")), ["stack select --stack dev --non-interactive"], calls.join("\n"));
        });
    });
});
