// The offline plan's inventory, from hand-built evaluations (no child process needed).
import * as assert from "node:assert/strict";
import { markMockValues, maskSecrets, parsePlanArgs, renderInventory, statements, summarize } from "../../scripts/plan-offline";
import { checkStack } from "../../scripts/policy-offline";
import { evaluateStack } from "../../scripts/offline/evaluate";
import { EVALUATION_WAIT_MS, evaluateStack as evaluateStackFull } from "./harness";
import type { EvaluatedResource } from "../../scripts/offline/evaluate";

const urn = (type: string, name: string) => `urn:pulumi:dev::todobackend::${type}::${name}`;
const component: EvaluatedResource = { type: "todobackend:infra:Database", name: "db", urn: urn("todobackend:infra:Database", "db"), inputs: {}, custom: false };
const sg: EvaluatedResource = { type: "aws:ec2/securityGroup:SecurityGroup", name: "sg-db", urn: urn("sg", "sg-db"), id: "sg-db-id", inputs: { name: "todobackend-dev-db-sg" } };
const rule: EvaluatedResource = { type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", name: "sg-db-in", urn: urn("rule", "in"), id: "r",
    inputs: { securityGroupId: "sg-db-id", ipProtocol: "tcp", fromPort: 3306, toPort: 3306, referencedSecurityGroupId: "sg-app-id" } };
const db: EvaluatedResource = { type: "aws:rds/instance:Instance", name: "db", urn: urn("aws:rds/instance:Instance", "db"), parent: component.urn, id: "db-id",
    inputs: { identifier: "todobackend-dev-db", engine: "mysql", engineVersion: "8.4", instanceClass: "db.t4g.micro", allocatedStorage: 20, storageType: "gp3",
        storageEncrypted: true, publiclyAccessible: false, multiAz: false, backupRetentionPeriod: 1, deletionProtection: false, skipFinalSnapshot: true,
        manageMasterUserPassword: true } };
const secret: EvaluatedResource = { type: "aws:secretsmanager/secretVersion:SecretVersion", name: "s", urn: urn("sv", "s"), inputs: { secretString: "x" }, secretPaths: ["secretString"] };

describe("plan:offline inventory", () => {
    it("lists the awsx VPC's children, marked as listed rather than evaluated, and counts what the policy check counts", async function () {
        this.timeout(EVALUATION_WAIT_MS);
        const evaluation = await evaluateStackFull("dev");
        const text = renderInventory("dev", evaluation);
        const count = Number(/under mocks: (\d+) resources in 10 components/.exec(text)?.[1]);
        // dev: 2 AZs × (public + private) × (subnet, route table, association, route), the VPC, the internet gateway, one NAT and its address.
        assert.equal(text.match(/\(listed from awsx, not evaluated\)/g)?.length, 20);
        assert.match(text, /aws:ec2\/natGateway:NatGateway network-vpc-1 .*\(listed from awsx, not evaluated\)/);
        const policy = await checkStack({ stack: "dev" }, evaluateStack);
        assert.equal(policy.resources, count);
        assert.match(policy.report, new RegExp(`: ${count} resources in 10 components\\.`));
    });

    it("marks the values the mocks made up, and leaves the program's own values alone", () => {
        assert.equal(markMockValues("ami=ami-0123456789abcdef0 subnets=subnet-private-0,subnet-private-1 t3.micro todobackend-dev-alb"),
            "ami=ami-0123456789abcdef0† subnets=subnet-private-0†,subnet-private-1† t3.micro todobackend-dev-alb");
        assert.equal(markMockValues("arn:aws:iam::123456789012:role/x"), "arn:aws:iam::123456789012†:role/x");
        const text = renderInventory("dev", { resources: [db], outputs: { vpcId: "vpc-network-vpc", url: "http://x" }, secretOutputs: [] });
        assert.match(text, /vpcId: "vpc-network-vpc†"/);
        assert.match(text, /url: "http:\/\/x"$/m);
        assert.match(text, /† made up by the mocks/);
    });

    it("shows each IAM statement's effect, actions, resources and conditions", () => {
        assert.equal(statements(JSON.stringify({ Statement: [
            { Effect: "Allow", Action: ["ecs:RunTask"], Resource: "arn:td:*", Condition: { ArnEquals: { "ecs:cluster": "arn:c" } } },
            { Effect: "Deny", Action: "iam:*", Resource: ["a", "b"] },
        ] })), "Allow ecs:RunTask on arn:td:* if ecs:cluster ArnEquals arn:c | Deny iam:* on a,b");
    });

    it("shows the database settings a reviewer checks", () => {
        assert.equal(summarize(db), "todobackend-dev-db mysql 8.4 db.t4g.micro 20GiB gp3 encrypted=true public=false multiAz=false backups=1d " +
            "deletionProtection=false finalSnapshot=false managedPassword=true");
    });

    it("names security groups in rules by their physical names", () => {
        const text = renderInventory("dev", { resources: [sg, rule], outputs: {}, secretOutputs: [] });
        assert.match(text, /sg-db-in {2}todobackend-dev-db-sg in tcp 3306 from sg-app-id†/);
    });

    it("nests children under their component and counts resources apart from components", () => {
        const text = renderInventory("dev", { resources: [component, db], outputs: {}, secretOutputs: [] });
        assert.match(text, /^Stack 'dev' under mocks: 1 resources in 1 components\./);
        assert.match(text, /\ntodobackend:infra:Database db\n {2}aws:rds\/instance:Instance db {2}todobackend-dev-db /);
    });

    it("never prints a secret: secret inputs are named, secret outputs masked", () => {
        const text = renderInventory("dev", { resources: [secret], outputs: { url: "http://x", password: "hunter2" }, secretOutputs: ["password"] });
        assert.doesNotMatch(text, /hunter2/);
        assert.match(text, /\[secret: secretString\]/);
        assert.match(text, /password: \[secret\]/);
        assert.match(text, /url: "http:\/\/x"/);
    });

    it("masks secret values, nested ones too, in the JSON resource list", () => {
        const nested: EvaluatedResource = { ...secret, inputs: { a: { b: [{ c: "hunter2", d: "kept" }] }, secretString: "x" }, secretPaths: ["a.b[0].c", "secretString"] };
        assert.deepEqual(maskSecrets(nested).inputs, { a: { b: [{ c: "[secret]", d: "kept" }] }, secretString: "[secret]" });
        assert.equal(nested.inputs.secretString, "x", "the evaluation itself is left alone");
    });

    it("parses the stack, config overrides and --json, and refuses anything else", () => {
        assert.deepEqual(parsePlanArgs(["prod", "--config", "imageTag=abc", "--json"]), { stack: "prod", config: { imageTag: "abc" }, json: true });
        assert.throws(() => parsePlanArgs([]), /no stack given/);
        assert.throws(() => parsePlanArgs(["dev", "--config", "x"]), /--config needs key=value/);
        assert.throws(() => parsePlanArgs(["dev", "prod"]), /unexpected argument 'prod'/);
    });
});
