// The whole dev and prod programs under mocks: what differs between them, where images come
// from, tags on everything, the stack outputs, and refusal of bad config.
import * as assert from "node:assert/strict";
import { taggedTypes } from "../../policy/policies";
import { deliveryOutputs } from "../../scripts/offline/mocks";
import { EVALUATION_WAIT_MS, Evaluated, evaluateStack, startEarly } from "./harness";

const DELIVERY_APP = "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/todobackend";
const APP_REPO = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/acme/todobackend";
const CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abc";

// No delivery stack yet: images from config, a pinned tag; a certificate for HTTPS; the book's
// mode of an existing VPC and subnets.
const STANDALONE = { deliveryStack: "", appImageRepository: APP_REPO, imageTag: "5fdbe62", certificateArn: CERT,
    vpcCidr: "", vpcId: "vpc-0f8233a8", publicSubnetIds: "subnet-0a5d3ece,subnet-0324e246", privateSubnetIds: "subnet-01111111,subnet-02222222" };
const evaluateAll = (background: boolean) => Promise.all([
    evaluateStack("dev", { background }), evaluateStack("prod", { background }), evaluateStack("dev", { config: STANDALONE, background }),
]);
startEarly(evaluateAll(true));

describe("environment stacks", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let dev: Evaluated;
    let prod: Evaluated;
    let standalone: Evaluated;
    before(async () => {
        [dev, prod, standalone] = await evaluateAll(false);
    });

    const names = (e: Evaluated, type: string) => e.byType(type).map((r) => r.inputs.name).sort();

    it("exports the public URL, cluster, service, database endpoint and X-Ray address", () => {
        for (const [e, env, scheme] of [[dev, "dev", "http"], [prod, "prod", "https"]] as const) {
            assert.match(String(e.outputs.publicUrl), new RegExp(`^${scheme}://todobackend-${env}-alb-\\d+\\.us-east-1\\.elb\\.amazonaws\\.com$`));
            assert.equal(e.outputs.clusterName, `todobackend-${env}-cluster`);
            assert.equal(e.outputs.dbEndpoint, `todobackend-${env}-db.abcdefghijkl.us-east-1.rds.amazonaws.com:3306`);
        }
        for (const key of ["publicUrl", "clusterName", "serviceName", "dbEndpoint", "xrayAddress"]) {
            if (key in dev.outputs) assert.ok(dev.outputs[key], key);
        }
    });

    it("gives dev one NAT gateway and prod one per AZ, each in its own VPC range", () => {
        assert.deepEqual(dev.one("awsx:ec2:Vpc", "network-vpc").inputs.natGateways, { strategy: "Single" });
        assert.deepEqual(prod.one("awsx:ec2:Vpc", "network-vpc").inputs.natGateways, { strategy: "OnePerAz" });
        assert.notEqual(dev.one("awsx:ec2:Vpc", "network-vpc").inputs.cidrBlock, prod.one("awsx:ec2:Vpc", "network-vpc").inputs.cidrBlock);
    });

    it("protects only the prod database", () => {
        const db = (e: Evaluated) => e.one("aws:rds/instance:Instance", "db").inputs;
        assert.deepEqual([db(dev).deletionProtection, db(dev).skipFinalSnapshot, db(dev).backupRetentionPeriod, db(dev).multiAz], [false, true, 1, false]);
        assert.deepEqual([db(prod).deletionProtection, db(prod).skipFinalSnapshot, db(prod).backupRetentionPeriod, db(prod).multiAz], [true, false, 7, true]);
        assert.equal(db(prod).finalSnapshotIdentifier, "todobackend-prod-db-final");
    });

    it("derives every physical name from the stack so dev and prod coexist", () => {
        for (const type of ["aws:ecs/cluster:Cluster", "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup",
            "aws:ec2/securityGroup:SecurityGroup", "aws:iam/role:Role", "aws:autoscaling/group:Group", "aws:ecs/capacityProvider:CapacityProvider"]) {
            const d = names(dev, type);
            assert.ok(d.length > 0, type);
            for (const n of d) assert.match(String(n), /^todobackend-dev-/, `${type} ${n}`);
            for (const n of names(prod, type)) assert.match(String(n), /^todobackend-prod-/, `${type} ${n}`);
        }
        assert.equal(dev.one("aws:rds/instance:Instance", "db").inputs.identifier, "todobackend-dev-db");
        assert.equal(prod.one("aws:rds/instance:Instance", "db").inputs.identifier, "todobackend-prod-db");
    });

    it("tags every taggable resource with project, stack and environment", () => {
        for (const [e, env] of [[dev, "dev"], [prod, "prod"]] as const) {
            const taggable = e.resources.filter((r) => taggedTypes.includes(r.type) || r.type === "awsx:ec2:Vpc");
            assert.ok(taggable.length >= 15);
            for (const r of taggable) {
                const tags = r.inputs.tags as Record<string, string> | undefined;
                assert.deepEqual(tags && [tags.Project, tags.Stack, tags.Environment, tags.ManagedBy], ["todobackend", env, env, "pulumi"], `${r.type} ${r.name}`);
            }
        }
    });

    it("reads the images from the delivery stack named in config, with the configured tag", () => {
        const ref = dev.one("pulumi:pulumi:StackReference", "delivery");
        assert.equal(ref.inputs.name, "organization/todobackend/delivery");
        assert.equal(dev.outputs.appImage, `${DELIVERY_APP}:mock-deployed-1`, "no tag configured: the tag dev deployed last");
        assert.match(String(dev.outputs.xrayImage), /^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/docker-in-aws\/xray@sha256:/);
    });

    it("deploys the tag the stack last deployed when none is configured, read from its own output through a StackReference", () => {
        for (const [e, env] of [[dev, "dev"], [prod, "prod"]] as const) {
            assert.equal(e.one("pulumi:pulumi:StackReference", "deployed").inputs.name, `organization/todobackend/${env}`);
            assert.equal(e.outputs.appImageTag, "mock-deployed-1", env);
            assert.equal(JSON.parse(String(e.one("aws:ecs/taskDefinition:TaskDefinition", "app").inputs.containerDefinitions))[0].image, `${DELIVERY_APP}:mock-deployed-1`);
        }
        assert.deepEqual(standalone.byType("pulumi:pulumi:StackReference").map((r) => r.name), [], "a configured tag needs no reference");
        assert.equal(standalone.outputs.appImageTag, "5fdbe62");
    });

    it("fails a first update without a configured tag, and a prod update whose deployed tag is latest, naming the key", async () => {
        await assert.rejects(evaluateStack("dev", { stackOutputs: { "organization/todobackend/dev": {} } }),
            /todobackend:imageTag is not set and the stack dev has deployed no image yet \(no output appImageTag\)\. Fix: pulumi config set todobackend:imageTag/);
        await assert.rejects(evaluateStack("prod", { stackOutputs: { "organization/todobackend/prod": { appImageTag: "latest" } } }),
            /the stack prod last deployed the tag latest, which a production stack refuses\. Fix: pulumi config set todobackend:imageTag/);
    });

    it("serves prod over HTTPS only (80 redirects) behind a load balancer that refuses deletion; dev may serve plain HTTP", () => {
        const listeners = (e: Evaluated) => e.byType("aws:lb/listener:Listener").map((l) => [l.inputs.protocol, l.inputs.port, (l.inputs.defaultActions as Array<{ type: string }>)[0].type]);
        assert.deepEqual(listeners(prod), [["HTTP", 80, "redirect"], ["HTTPS", 443, "forward"]]);
        assert.deepEqual(listeners(dev), [["HTTP", 80, "forward"]]);
        // Pulumi.prod.yaml gets its certificate from its operator (docs/infra.md); offline, a stand-in.
        assert.equal(prod.one("aws:lb/listener:Listener", "web-https").inputs.certificateArn, "arn:aws:acm:us-east-1:123456789012:certificate/offline-stand-in");
        assert.deepEqual([prod.one("aws:lb/loadBalancer:LoadBalancer", "web-alb").inputs.enableDeletionProtection,
            dev.one("aws:lb/loadBalancer:LoadBalancer", "web-alb").inputs.enableDeletionProtection], [true, false]);
    });

    it("runs prod on at least two tasks and two instances from a pinned AMI; dev on one, from SSM", () => {
        const counts = (e: Evaluated) => [e.one("aws:ecs/service:Service", "app").inputs.desiredCount, e.one("aws:appautoscaling/target:Target", "app").inputs.minCapacity,
            e.one("aws:autoscaling/group:Group", "ecs-instances").inputs.minSize];
        assert.deepEqual(counts(prod), [2, 2, 2]);
        assert.deepEqual(counts(dev), [1, 1, 1]);
        // Pulumi.prod.yaml gets its AMI from the bootstrap; offline, the mocks' stand-in.
        assert.equal(prod.one("aws:ec2/launchTemplate:LaunchTemplate", "ecs-instances").inputs.imageId, "ami-0123456789abcdef0");
    });

    it("puts its own environment's boundary on every role it creates, under its own IAM path, as its deploy role requires", () => {
        const boundaries = deliveryOutputs("us-east-1").environmentRoleBoundaryArns as Record<string, string>;
        for (const [env, e] of [["dev", dev], ["prod", prod]] as const) {
            const roles = e.byType("aws:iam/role:Role");
            assert.deepEqual(roles.map((r) => r.name).sort(), ["app-execution", "app-migrate-execution", "app-migrate-task", "app-migrations", "app-task",
                "ecs-instance", "xray-execution", "xray-task"]);
            for (const r of roles) {
                assert.equal(r.inputs.permissionsBoundary, boundaries[env], r.name);
                assert.equal(r.inputs.path, `/todobackend-${env}/`, r.name);
            }
            assert.equal(e.one("aws:iam/instanceProfile:InstanceProfile", "ecs-instance").inputs.path, `/todobackend-${env}/`);
        }
        for (const r of standalone.byType("aws:iam/role:Role")) assert.equal(r.inputs.permissionsBoundary, undefined, `${r.name}: no delivery stack, no boundary`);
    });

    it("takes the images from config when no delivery stack is named, defaulting to the official X-Ray image", () => {
        assert.equal(standalone.byType("pulumi:pulumi:StackReference").length, 0);
        assert.equal(standalone.outputs.appImage, `${APP_REPO}:5fdbe62`);
        assert.equal(standalone.outputs.xrayImage, "amazon/aws-xray-daemon:3.x");
    });

    it("places the ALB in public subnets and the instances and database in private ones", () => {
        assert.deepEqual(dev.one("aws:lb/loadBalancer:LoadBalancer", "web-alb").inputs.subnets, ["subnet-public-0", "subnet-public-1"]);
        assert.deepEqual(dev.one("aws:autoscaling/group:Group", "ecs-instances").inputs.vpcZoneIdentifiers, ["subnet-private-0", "subnet-private-1"]);
        assert.deepEqual(dev.one("aws:rds/subnetGroup:SubnetGroup", "db-subnets").inputs.subnetIds, ["subnet-private-0", "subnet-private-1"]);
    });

    it("builds in an existing VPC's subnets without creating a network when config names them", () => {
        assert.equal(standalone.byType("awsx:ec2:Vpc").length, 0);
        assert.equal(standalone.outputs.vpcId, "vpc-0f8233a8");
        for (const g of standalone.byType("aws:ec2/securityGroup:SecurityGroup")) assert.equal(g.inputs.vpcId, "vpc-0f8233a8");
        assert.deepEqual(standalone.one("aws:lb/loadBalancer:LoadBalancer", "web-alb").inputs.subnets, ["subnet-0a5d3ece", "subnet-0324e246"]);
        assert.deepEqual(standalone.one("aws:autoscaling/group:Group", "ecs-instances").inputs.vpcZoneIdentifiers, ["subnet-01111111", "subnet-02222222"]);
        assert.deepEqual(standalone.one("aws:rds/subnetGroup:SubnetGroup", "db-subnets").inputs.subnetIds, ["subnet-01111111", "subnet-02222222"]);
    });

    it("opens no port to the internet except the load balancer's 80", () => {
        const open = dev.byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0");
        assert.deepEqual(open.map((r) => [r.name, r.inputs.fromPort, r.inputs.toPort]), [["security-alb-in-80", 80, 80]]);
    });

    it("serves HTTPS with a redirect when a certificate is configured", () => {
        assert.match(String(standalone.outputs.publicUrl), /^https:\/\//);
        assert.deepEqual(standalone.byType("aws:lb/listener:Listener").map((l) => l.inputs.port).sort(), [443, 80]);
        assert.equal(standalone.one("aws:lb/listener:Listener", "web-https").inputs.certificateArn, CERT);
        assert.deepEqual(standalone.byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            .filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0").map((r) => r.inputs.fromPort).sort(), [443, 80]);
    });

    it("fails on invalid config with the key and the fix", async () => {
        await assert.rejects(evaluateStack("prod", { config: { dbDeletionProtection: "false" } }),
            /^Error: todobackend:dbDeletionProtection is false in a production stack\. Fix: pulumi config rm todobackend:dbDeletionProtection$/);
    });
});
