// The policies read property names; this proves those names are the ones real @pulumi/aws
// resources declare. Resources are constructed under Pulumi's runtime mocks, their inputs
// captured as the offline evaluation captures them, and the pack is run over them.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { DeclaredResource, runPolicies } from "../../policy/run";

const captured: DeclaredResource[] = [];

/** Constructs resources with the real SDK classes and returns what the mocks saw. */
async function declare(build: (tags: Record<string, string>) => pulumi.Resource[]): Promise<DeclaredResource[]> {
    captured.length = 0;
    const resources = build({ ManagedBy: "Pulumi", Project: "todobackend", Stack: "prod" });
    await Promise.all(resources.map((r) => new Promise((resolve) => r.urn.apply(resolve))));
    return [...captured];
}

function environment(insecure: boolean) {
    return (tags: Record<string, string>) => {
        const anywhere = ["0.0.0.0/0"];
        const albSg = new aws.ec2.SecurityGroup("prod-alb", {
            ingress: [80, 443].map((port) => ({ protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: anywhere })), tags,
        });
        const dbSg = new aws.ec2.SecurityGroup("prod-db", {
            ingress: [{ protocol: "tcp", fromPort: 3306, toPort: 3306, securityGroups: [albSg.id], cidrBlocks: insecure ? anywhere : [] }], tags,
        });
        const ssh = new aws.vpc.SecurityGroupIngressRule("prod-app-ssh", {
            securityGroupId: dbSg.id, ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: insecure ? "0.0.0.0/0" : "10.0.0.0/16", tags,
        });
        const db = new aws.rds.Instance("prod-db", {
            engine: "mysql", instanceClass: "db.t4g.micro", allocatedStorage: 20, storageType: "gp3",
            publiclyAccessible: insecure, storageEncrypted: !insecure, deletionProtection: !insecure, tags,
        });
        const repo = new aws.ecr.Repository("todobackend", { imageScanningConfiguration: { scanOnPush: !insecure }, tags });
        const logs = new aws.cloudwatch.LogGroup("prod-ecs-todobackend", { retentionInDays: insecure ? undefined : 7, tags });
        const preview = new aws.codebuild.Project("todobackend-preview", {
            artifacts: { type: "CODEPIPELINE" }, serviceRole: "arn:aws:iam::123456789012:role/ci",
            environment: { computeType: "BUILD_GENERAL1_SMALL", image: "aws/codebuild/standard:7.0", type: "LINUX_CONTAINER", privilegedMode: insecure },
            source: { type: "CODEPIPELINE" }, tags,
        });
        const role = new aws.iam.Role("ci", { assumeRolePolicy: JSON.stringify({ Statement: [] }), tags });
        const attach = new aws.iam.RolePolicyAttachment("ci-policy", {
            role: role.name, policyArn: insecure ? "arn:aws:iam::aws:policy/AdministratorAccess" : "arn:aws:iam::aws:policy/AWSCodeBuildReadOnlyAccess",
        });
        const xray = new aws.ecs.Service("prod-xray", {
            launchType: "FARGATE", taskDefinition: "xray:1", desiredCount: 2,
            networkConfiguration: { subnets: ["subnet-a"], assignPublicIp: insecure }, tags,
        });
        const bucket = new aws.s3.Bucket("artifacts", { tags });
        const block = new aws.s3.BucketPublicAccessBlock("artifacts", {
            bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: !insecure,
        });
        const sse = new aws.s3.BucketServerSideEncryptionConfiguration("artifacts", {
            bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }],
        });
        return [albSg, dbSg, ssh, db, repo, logs, preview, role, attach, xray, bucket, block, sse];
    };
}

describe("policies over inputs declared by real @pulumi/aws resources", () => {
    before(() => {
        pulumi.runtime.setMocks({
            newResource: (args) => {
                // IDs unrelated to names, so stack policies must link resources through the recorded id.
                const id = `mock-${captured.length}`;
                captured.push({ type: args.type, name: args.name, urn: `urn:pulumi:prod::todobackend::${args.type}::${args.name}`, inputs: args.inputs, id });
                return { id, state: args.inputs };
            },
            call: (args) => args.inputs,
        }, "todobackend", "prod", false);
    });

    it("find nothing wrong with a compliant prod environment, load balancer on 80/443 included", async () => {
        const violations = await runPolicies(await declare(environment(false)));
        assert.deepEqual(violations.map((v) => `${v.policy}: ${v.message}`), []);
    });

    it("catch every insecure setting of the same environment", async () => {
        const violations = await runPolicies(await declare(environment(true)));
        const fired = new Set(violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policy));
        assert.deepEqual([...fired].sort(), [
            "codebuild-privileged-only-app-build", "ecr-scan-on-push", "fargate-no-public-ip", "log-group-retention",
            "no-admin-iam", "no-internet-ingress", "no-public-ssh-rdp", "rds-deletion-protection", "rds-private-and-encrypted",
            "s3-public-access-block-complete",
        ]);
    });
});
