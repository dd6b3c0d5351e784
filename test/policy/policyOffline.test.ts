// The offline policy check over hand-built evaluations: verdict, exit decision, report text and
// the command line. (Runs against the real program are in policyOfflineStacks.test.ts.)
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CAVEAT, checkStack, Evaluate, parseArgs } from "../../scripts/policy-offline";
import { DeclaredResource } from "../../policy/run";
import { overrideFix } from "../../scripts/offline/evaluate";

const tags = { ManagedBy: "Pulumi", Project: "todobackend", Stack: "dev" };
const urn = (type: string, name: string) => `urn:pulumi:dev::todobackend::${type}::${name}`;
const database = (publiclyAccessible: boolean): DeclaredResource => ({
    type: "aws:rds/instance:Instance", name: "dev-db", urn: urn("aws:rds/instance:Instance", "dev-db"),
    inputs: { publiclyAccessible, storageEncrypted: true, deletionProtection: false, tags },
});

describe("offline policy check", () => {
    it("passes a stack whose declared resources comply, reporting only the advisory and the caveat", async () => {
        const result = await checkStack({ stack: "dev" }, async () => [database(false)]);
        assert.equal(result.mandatory, 0);
        assert.deepEqual(result.violations.map((v) => v.policy), ["rds-deletion-protection-advisory"]);
        assert.match(result.report, /: 1 resources in 0 components\./);
        assert.match(result.report, /0 mandatory and 1 advisory/);
        assert.ok(result.report.endsWith(CAVEAT));
        assert.match(CAVEAT, /inputs the program declares.*not values only AWS knows/);
    });

    it("names every policy it ran with the enforcement level it ran at", async () => {
        const result = await checkStack({ stack: "dev", policyConfig: { "rds-private-and-encrypted": "advisory" } }, async () => [database(false)]);
        assert.ok(result.policies.length >= 12, `${result.policies.length} policies`);
        assert.deepEqual(result.policies.find((p) => p.name === "rds-private-and-encrypted"), { name: "rds-private-and-encrypted", level: "advisory" });
        assert.deepEqual(result.policies.find((p) => p.name === "no-admin-iam"), { name: "no-admin-iam", level: "mandatory" });
        const line = result.report.split("\n").find((l) => l.startsWith("Policies run: "));
        assert.ok(line?.includes("rds-private-and-encrypted (advisory)") && line.includes("no-admin-iam (mandatory)"), line);
    });

    it("blames a --config flag, not the program, for a violation only the flag causes, and says how to drop it", async () => {
        const evaluate: Evaluate = async (_stack, opts) => [database(opts?.config?.["todobackend:dbPublic"] === "true")];
        const result = await checkStack({ stack: "dev", config: { "todobackend:dbPublic": "true" } }, evaluate);
        assert.equal(result.mandatory, 1);
        assert.match(result.report, /Config overridden on the command line: --config todobackend:dbPublic=true\./);
        assert.match(result.report, /Caused by --config todobackend:dbPublic=true: the stack as committed passes this policy\. Fix: drop the flag; .*`pulumi config set todobackend:dbPublic true -s dev`/);
        // The advisory the committed stack has too is not blamed on the flag.
        assert.equal(result.report.match(/Caused by/g)?.length, 1);
    });

    it("turns a config error's stack-file fix into the flag's when the value came from --config", () => {
        const message = "todobackend:dbPubliclyAccessible is not a key of an environment stack. Fix: pulumi config rm todobackend:dbPubliclyAccessible -s prod (known keys: a, b)";
        assert.equal(overrideFix(message, "prod", { "todobackend:dbPubliclyAccessible": "true" }),
            "todobackend:dbPubliclyAccessible is not a key of an environment stack. Fix: change or drop `--config todobackend:dbPubliclyAccessible=true` on this command " +
            "(Pulumi.prod.yaml does not set todobackend:dbPubliclyAccessible) (known keys: a, b)");
        assert.equal(overrideFix(message, "prod", {}), message, "a key from the stack file keeps the stack-file fix");
    });

    it("fails on a public database with the policy, the resource and the fix", async () => {
        const result = await checkStack({ stack: "dev" }, async () => [database(true)]);
        assert.equal(result.mandatory, 1);
        assert.match(result.report, /\[mandatory\] rds-private-and-encrypted: dev-db \(aws:rds\/instance:Instance\)/);
        assert.match(result.report, /'dev-db' is publicly accessible\. Fix: set publiclyAccessible: false/);
    });

    it("passes stack config overrides to the evaluation and policy config to the policies", async () => {
        const seen: Array<Record<string, string> | undefined> = [];
        const evaluate: Evaluate = async (_stack, opts) => {
            seen.push(opts?.config);
            return [database(true)];
        };
        const result = await checkStack({ stack: "dev", config: { "todobackend:dbPublic": "true" }, policyConfig: { "rds-private-and-encrypted": "advisory" } }, evaluate);
        // With the overrides, then as committed (to tell which violations the overrides cause).
        assert.deepEqual(seen, [{ "todobackend:dbPublic": "true" }, undefined]);
        assert.equal(result.mandatory, 0);
    });

    it("reads the stack, config overrides (project-prefixed when bare) and rejects the unknown", () => {
        assert.deepEqual(parseArgs(["prod", "--config", "dbInstanceClass=db.t4g.small", "--config", "aws:region=eu-west-1"]), {
            stack: "prod", config: { "todobackend:dbInstanceClass": "db.t4g.small", "aws:region": "eu-west-1" }, policyConfig: undefined, resourcesFile: undefined,
        });
        assert.equal(parseArgs(["dev", "--resources", "list.json"]).resourcesFile, "list.json");
        assert.throws(() => parseArgs([]), /no stack given\. usage:/);
        assert.throws(() => parseArgs(["dev", "--config", "novalue"]), /--config needs key=value/);
        assert.throws(() => parseArgs(["dev", "prod"]), /unexpected argument 'prod'/);
    });

    describe("as a command", function () {
        this.timeout(60_000);
        const repo = path.resolve(__dirname, "../..");
        let dir: string;
        before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-offline-")); });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        const command = (resources: DeclaredResource[]) => new Promise<{ code: number | null; stdout: string }>((resolve) => {
            const file = path.join(dir, `${resources.length}-${Date.now()}.json`);
            fs.writeFileSync(file, JSON.stringify(resources));
            execFile(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/policy-offline.ts", "dev", "--resources", file],
                { cwd: repo }, (err, stdout) => resolve({ code: err ? (err as { code?: number }).code ?? -1 : 0, stdout }));
        });

        it("exits 1 and prints the mandatory violation for a hand-built public database", async () => {
            const { code, stdout } = await command([database(true)]);
            assert.equal(code, 1, stdout);
            assert.match(stdout, /\[mandatory\] rds-private-and-encrypted: dev-db/);
            assert.match(stdout, /not values only AWS knows/);
        });

        it("exits 0 when only advisories remain", async () => {
            const { code, stdout } = await command([database(false)]);
            assert.equal(code, 0, stdout);
            assert.match(stdout, /\[advisory\] rds-deletion-protection-advisory/);
        });
    });
});
