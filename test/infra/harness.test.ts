// The offline evaluation every infra test and `npm run plan:offline` rely on.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { EVALUATION_WAIT_MS, Evaluated, evaluateProgram, evaluateStack, startEarly } from "./harness";
import { readStackConfig } from "../../scripts/offline/evaluate";

const probeModule = path.join(__dirname, "programs", "harnessProbe.ts");
const PROBE_CONFIG = { password: "hunter2" };
startEarly(evaluateProgram(probeModule, "probe", { config: PROBE_CONFIG, background: true }));

describe("offline evaluation harness", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let probe: Evaluated;
    before(async () => {
        probe = await evaluateProgram(probeModule, "probe", { config: PROBE_CONFIG });
    });

    it("records each resource's parent URN and URN", () => {
        const component = probe.one("todobackend:test:Probe", "probe");
        const child = probe.one("aws:secretsmanager/secretVersion:SecretVersion", "probe-secret");
        assert.equal(child.parent, component.urn);
        assert.equal(child.urn, "urn:pulumi:dev::todobackend::todobackend:test:Probe$aws:secretsmanager/secretVersion:SecretVersion::probe-secret");
        assert.equal(component.id, undefined, "components have no ID");
        assert.equal(child.id, "probe-secret-id");
    });

    it("unwraps secret inputs and lists their paths", () => {
        const child = probe.one("aws:secretsmanager/secretVersion:SecretVersion", "probe-secret");
        assert.equal(child.inputs.secretString, "hunter2");
        assert.ok(probe.isSecret(child, "secretString"));
        assert.ok(!probe.isSecret(child, "secretId"));
        assert.deepEqual(probe.secretOutputs, ["password"]);
    });

    it("answers StackReferences with delivery outputs and the AMI parameter with an AMI id", () => {
        assert.equal(probe.outputs.appRepositoryUrl, "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/todobackend");
        const ref = probe.one("pulumi:pulumi:StackReference", "delivery");
        assert.deepEqual([ref.inputs.name, ref.read], ["organization/todobackend/delivery", true]);
        assert.match(String(probe.outputs.ami), /^ami-[0-9a-f]{17}$/);
    });

    it("rejects with the program's own error message", async () => {
        await assert.rejects(evaluateProgram(probeModule, "broken"), /todobackend:thing is wrong\. Fix: set it/);
    });

    it("refuses a stack without a stack file, naming the file", () => {
        assert.throws(() => readStackConfig("staging"), /Pulumi\.staging\.yaml does not exist/);
    });

    it("evaluates the committed delivery stack with its outputs", async () => {
        const delivery = await evaluateStack("delivery");
        assert.ok(delivery.byType("aws:codepipeline/pipeline:Pipeline").length === 1);
        assert.equal(delivery.outputs.stateBucketUrl, "s3://pulumi-state-bucket?region=us-east-1");
        assert.match(delivery.resources[0].urn, /^urn:pulumi:delivery::todobackend::/);
    });
});
