// The offline policy check on the committed delivery stack: it must pass, and it must be looking
// at the delivery stack's real resources (a weakened copy of them fails).
import * as assert from "node:assert/strict";
import { evaluateStack } from "../../scripts/offline/evaluate";
import { checkStack } from "../../scripts/policy-offline";
import { DeclaredResource, runPolicies } from "../../policy/run";
import { EVALUATION_WAIT_MS, startEarly } from "../infra/harness";

const evaluation = startEarly(evaluateStack("delivery"));

describe("offline policy check of the delivery stack", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let resources: DeclaredResource[];
    before(async () => { resources = await evaluation; });

    it("reports no violation at all for the stack as committed", async () => {
        const result = await checkStack({ stack: "delivery" }, async () => resources);
        assert.deepEqual(result.violations.map((v) => `${v.policy}: ${v.resource?.name}: ${v.message}`), []);
        assert.equal(result.mandatory, 0);
        assert.ok(result.resources > 30, `only ${result.resources} resources evaluated`);
    });

    it("lets only the Docker-in-Docker app build run privileged, and would refuse a privileged deploy project", async () => {
        const privileged = resources.filter((r) => r.type === "aws:codebuild/project:Project" &&
            (r.inputs.environment as { privilegedMode?: boolean }).privilegedMode === true);
        assert.deepEqual(privileged.map((r) => r.inputs.name), ["todobackend-build"]);
        const weakened = resources.map((r) => r.name === "builds-execute"
            ? { ...r, inputs: { ...r.inputs, environment: { ...(r.inputs.environment as object), privilegedMode: true } } } : r);
        const violations = await runPolicies(weakened);
        assert.deepEqual(violations.map((v) => [v.policy, v.resource?.name, v.enforcementLevel]),
            [["codebuild-privileged-only-app-build", "builds-execute", "mandatory"]]);
    });

    it("would refuse any delivery resource that lost its base tags", async () => {
        const untagged = resources.map((r) => (r.inputs.tags ? { ...r, inputs: { ...r.inputs, tags: undefined } } : r));
        const names = (await runPolicies(untagged)).filter((v) => v.policy === "required-tags").map((v) => `${v.resource?.type}::${v.resource?.name}`);
        for (const type of ["aws:ecr/repository:Repository", "aws:s3/bucket:Bucket", "aws:iam/role:Role", "aws:codebuild/project:Project",
            "aws:codepipeline/pipeline:Pipeline", "aws:kms/key:Key", "aws:codestarconnections/connection:Connection", "aws:iam/policy:Policy"]) {
            assert.ok(names.some((n) => n.startsWith(`${type}::`)), `no required-tags violation for ${type}: ${names.join(", ")}`);
        }
        assert.equal(names.length, resources.filter((r) => r.inputs.tags).length);
    });
});
