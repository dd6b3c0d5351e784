// The offline policy check over hand-built evaluations: verdict, exit decision, report text and
// the command line. (Runs against the real program are in policyOfflineStacks.test.ts.)
import * as assert from "node:assert/strict";
import { CAVEAT, checkStack, Evaluate, parseArgs } from "../../scripts/policy-offline";
import { DeclaredResource } from "../../policy/run";

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
        assert.match(result.report, /1 resources evaluated/);
        assert.match(result.report, /0 mandatory and 1 advisory/);
        assert.ok(result.report.endsWith(CAVEAT));
        assert.match(CAVEAT, /inputs the program declares.*not values only AWS knows/);
    });

    it("fails on a public database with the policy, the resource and the fix", async () => {
        const result = await checkStack({ stack: "dev" }, async () => [database(true)]);
        assert.equal(result.mandatory, 1);
        assert.match(result.report, /\[mandatory\] rds-private-and-encrypted: dev-db \(aws:rds\/instance:Instance\)/);
        assert.match(result.report, /'dev-db' is publicly accessible\. Fix: set publiclyAccessible: false/);
    });

    it("passes stack config overrides to the evaluation and policy config to the policies", async () => {
        let seen: Record<string, string> | undefined;
        const evaluate: Evaluate = async (_stack, opts) => {
            seen = opts?.config;
            return [database(true)];
        };
        const result = await checkStack({ stack: "dev", config: { "todobackend:dbPublic": "true" }, policyConfig: { "rds-private-and-encrypted": "advisory" } }, evaluate);
        assert.deepEqual(seen, { "todobackend:dbPublic": "true" });
        assert.equal(result.mandatory, 0);
    });

    it("reads the stack, config overrides (project-prefixed when bare) and rejects the unknown", () => {
        assert.deepEqual(parseArgs(["prod", "--config", "dbInstanceClass=db.t4g.small", "--config", "aws:region=eu-west-1"]), {
            stack: "prod", config: { "todobackend:dbInstanceClass": "db.t4g.small", "aws:region": "eu-west-1" }, policyConfig: undefined,
        });
        assert.throws(() => parseArgs([]), /no stack given\. usage:/);
        assert.throws(() => parseArgs(["dev", "--config", "novalue"]), /--config needs key=value/);
        assert.throws(() => parseArgs(["dev", "prod"]), /unexpected argument 'prod'/);
    });
});
