// Environment config: defaults per stack, both image modes, the existing-VPC mode, and every
// refusal names the key and the fix.
import * as assert from "node:assert/strict";
import { baseTags, environmentName, physicalName } from "../../infra/config/common";
import { validateEnvironmentConfig } from "../../infra/config/environment";

const DELIVERY = { deliveryStack: "organization/todobackend/delivery" };
/** prod as the bootstrap leaves it, the ECS AMI pinned, with the certificate its operator sets. */
const CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f";
const PROD = { ...DELIVERY, amiId: "ami-0a1b2c3d4e5f60718", certificateArn: CERT };

describe("environment config", () => {
    it("gives dev a single NAT gateway, one day of backups and no deletion protection", () => {
        const c = validateEnvironmentConfig(DELIVERY, "dev");
        assert.deepEqual([c.production, c.natGateways, c.dbBackupRetentionDays, c.dbDeletionProtection, c.dbMultiAz],
            [false, "single", 1, false, false]);
    });

    it("gives prod a NAT gateway per AZ, 7-day backups, deletion protection, Multi-AZ, and two tasks on two instances", () => {
        const c = validateEnvironmentConfig(PROD, "prod");
        assert.deepEqual([c.production, c.natGateways, c.dbBackupRetentionDays, c.dbDeletionProtection, c.dbMultiAz],
            [true, "perAz", 7, true, true]);
        assert.deepEqual([c.desiredCount, c.appMinCount, c.clusterMinSize, c.amiId], [2, 2, 2, "ami-0a1b2c3d4e5f60718"]);
    });

    it("leaves the image tag unset unless configured: the stack then keeps the tag it deployed", () => {
        assert.equal(validateEnvironmentConfig(DELIVERY, "dev").imageTag, undefined);
        assert.equal(validateEnvironmentConfig({ ...PROD, imageTag: "5fdbe62.12" }, "prod").imageTag, "5fdbe62.12");
        assert.equal(validateEnvironmentConfig({ ...DELIVERY, imageTag: "latest" }, "dev").imageTag, "latest", "dev may follow latest on purpose");
    });

    it("applies the book's and the modern defaults", () => {
        const c = validateEnvironmentConfig(DELIVERY, "dev");
        assert.equal(c.envName, "todobackend-dev");
        assert.deepEqual([c.imageTag, c.desiredCount, c.appMinCount, c.appMaxCount, c.logRetentionDays], [undefined, 1, 1, 4, 7]);
        assert.deepEqual([c.dbEngineVersion, c.dbInstanceClass, c.dbAllocatedStorage], ["8.4", "db.t4g.micro", 20]);
        assert.deepEqual([c.instanceType, c.clusterMinSize, c.clusterMaxSize, c.amiId], ["t3.micro", 1, 4, undefined]);
        assert.deepEqual([c.vpcCidr, c.availabilityZones, c.vpcId], ["10.0.0.0/16", 2, undefined]);
        assert.equal(c.xrayNamespace, "dev.services.dockerinaws.org");
    });

    it("takes images from config when no delivery stack is named, with the official X-Ray image by default", () => {
        const c = validateEnvironmentConfig({ appImageRepository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/todobackend" }, "dev");
        assert.equal(c.deliveryStack, undefined);
        assert.equal(c.xrayImage, "amazon/aws-xray-daemon:3.x");
    });

    it("reads strings the way `pulumi config set` stores them, and lists as JSON or comma-separated", () => {
        const c = validateEnvironmentConfig({ ...PROD, desiredCount: "2", appMaxCount: "6", production: "true", vpcId: "vpc-0a1b2c3d",
            publicSubnetIds: "subnet-0a1b2c3d, subnet-1a2b3c4d", privateSubnetIds: "[\"subnet-2a2b3c4d\",\"subnet-3a2b3c4d\"]" }, "staging");
        assert.deepEqual([c.desiredCount, c.appMaxCount, c.production], [2, 6, true]);
        assert.deepEqual(c.publicSubnetIds, ["subnet-0a1b2c3d", "subnet-1a2b3c4d"]);
        assert.deepEqual(c.privateSubnetIds, ["subnet-2a2b3c4d", "subnet-3a2b3c4d"]);
    });

    it("treats an empty value as unset, so a key can be switched back to its default", () => {
        const c = validateEnvironmentConfig({ deliveryStack: "", appImageRepository: "acme/todobackend", imageTag: "" }, "dev");
        assert.deepEqual([c.deliveryStack, c.imageTag], [undefined, undefined]);
    });

    const refusals: Array<[string, Record<string, unknown>, string, RegExp]> = [
        ["a typo of a key, suggesting the right one", { ...DELIVERY, desiredcount: "2" }, "dev",
            /^todobackend:desiredcount is not a key of an environment stack \(did you mean desiredCount\?\)\. Fix: pulumi config rm todobackend:desiredcount -s dev/],
        ["10 GiB of storage (the book's, below RDS's minimum)", { ...DELIVERY, dbAllocatedStorage: "10" }, "dev",
            /^todobackend:dbAllocatedStorage is invalid \("10"\).*>=20\. Fix: pulumi config set todobackend:dbAllocatedStorage 20$/],
        ["MySQL 5.7", { ...DELIVERY, dbEngineVersion: "5.7" }, "dev", /^todobackend:dbEngineVersion .*MySQL 8\.0 or 8\.4\. Fix: pulumi config set todobackend:dbEngineVersion 8\.4$/],
        ["a db.t2 class", { ...DELIVERY, dbInstanceClass: "db.t2.micro" }, "dev", /^todobackend:dbInstanceClass .*db\.t3 or db\.t4g/],
        ["a non-number count", { ...DELIVERY, desiredCount: "two" }, "dev", /^todobackend:desiredCount is invalid \("two"\).*Fix: pulumi config set todobackend:desiredCount 1$/],
        ["a boolean that is not one", { ...DELIVERY, production: "maybe" }, "dev", /^todobackend:production is invalid \("maybe"\): must be true or false\./],
        ["a retention CloudWatch does not offer", { ...DELIVERY, logRetentionDays: "8" }, "dev", /^todobackend:logRetentionDays .*\(1, 3, 5, 7, 14/],
        ["neither a delivery stack nor an app repository", {}, "dev",
            /^todobackend:appImageRepository is required when no deliveryStack is configured\. Fix: pulumi config set todobackend:deliveryStack organization\/todobackend\/delivery, or/],
        ["a delivery stack and an image from config at once", { ...DELIVERY, xrayImage: "amazon/aws-xray-daemon:3.3.14" }, "dev",
            /^todobackend:xrayImage conflicts with deliveryStack.*Fix: pulumi config rm todobackend:xrayImage/],
        ["an existing VPC without its subnets", { ...DELIVERY, vpcId: "vpc-0a1b2c3d" }, "dev",
            /^todobackend:publicSubnetIds is required when an existing VPC is used/],
        ["one existing subnet only", { ...DELIVERY, vpcId: "vpc-0a1b2c3d", publicSubnetIds: "subnet-0a1b2c3d", privateSubnetIds: "subnet-1a2b3c4d,subnet-2a2b3c4d" }, "dev",
            /^todobackend:publicSubnetIds .*at least two subnets in different AZs/],
        ["VPC creation settings for an existing VPC", { ...DELIVERY, vpcId: "vpc-0a1b2c3d", publicSubnetIds: "subnet-0a1b2c3d,subnet-1a2b3c4d",
            privateSubnetIds: "subnet-2a2b3c4d,subnet-3a2b3c4d", natGateways: "single" }, "dev", /^todobackend:natGateways only applies to a VPC this program creates/],
        ["a desired count above the autoscaling maximum", { ...DELIVERY, desiredCount: "5" }, "dev", /^todobackend:desiredCount \(5\) lies outside appMinCount\.\.appMaxCount \(1\.\.4\)/],
        ["a cluster minimum above its maximum", { ...DELIVERY, clusterMinSize: "5" }, "dev", /^todobackend:clusterMinSize \(5\) exceeds clusterMaxSize \(4\)/],
        ["prod with the image tag latest, which moves with every build", { ...PROD, imageTag: "latest" }, "prod",
            /^todobackend:imageTag is latest in a production stack.*Fix: pulumi config rm todobackend:imageTag -s prod \(the stack keeps the tag it deployed\)/],
        ["prod without a pinned AMI, which SSM would change under an approved preview", { ...DELIVERY, certificateArn: CERT }, "prod",
            /^todobackend:amiId is required in a production stack: an AMI read from SSM .*Fix: pulumi config set todobackend:amiId "\$\(aws ssm get-parameter --name \/aws\/service\/ecs\/optimized-ami\/amazon-linux-2023\/recommended\/image_id/],
        ["prod without a certificate, which would serve the app (sessions, passwords) over plain HTTP", { ...PROD, certificateArn: "" }, "prod",
            /^todobackend:certificateArn is required in a production stack: without it the load balancer serves the app over plain HTTP.*Fix: pulumi config set todobackend:certificateArn arn:aws:acm:<region>:<account>:certificate\/<id> -s prod/],
        ["prod with one task", { ...PROD, appMinCount: "1", desiredCount: "1" }, "prod", /^todobackend:appMinCount is 1 in a production stack, which keeps at least 2 tasks\. Fix: pulumi config rm todobackend:appMinCount -s prod$/],
        ["prod with one instance", { ...PROD, clusterMinSize: "1" }, "prod", /^todobackend:clusterMinSize is 1 in a production stack, which keeps at least 2 instances/],
        ["prod without deletion protection", { ...PROD, dbDeletionProtection: "false" }, "prod",
            /^todobackend:dbDeletionProtection is false in a production stack\. Fix: pulumi config rm todobackend:dbDeletionProtection$/],
        ["prod with fewer than 7 days of backups", { ...PROD, dbBackupRetentionDays: "3" }, "prod", /^todobackend:dbBackupRetentionDays is 3 in a production stack/],
        ["a certificate that is not an ACM ARN", { ...DELIVERY, certificateArn: "arn:aws:iam::123456789012:server-certificate/x" }, "dev",
            /^todobackend:certificateArn .*ACM certificate ARN/],
        ["a stack name that cannot prefix AWS names", DELIVERY, "Dev_Env", /^stack name "Dev_Env" cannot prefix AWS names\. Fix:/],
    ];
    for (const [what, raw, stack, message] of refusals) {
        it(`refuses ${what}, naming the key and the fix`, () => {
            assert.throws(() => validateEnvironmentConfig(raw, stack), (e: Error) => { assert.match(e.message, message); return true; });
        });
    }
});

describe("names and tags", () => {
    it("prefixes physical names with todobackend-<stack> so dev and prod coexist", () => {
        assert.equal(physicalName(environmentName("dev"), "cluster"), "todobackend-dev-cluster");
        assert.notEqual(physicalName(environmentName("prod"), "alb", 32), physicalName(environmentName("dev"), "alb", 32));
    });

    it("refuses a name longer than AWS allows", () => {
        assert.throws(() => physicalName("todobackend-a-very-long-stack", "alb", 32), /longer than the 32 characters AWS allows here\. Fix: use a shorter stack name/);
    });

    it("tags with the keys the required-tags policy demands, plus Environment", () => {
        assert.deepEqual(baseTags("prod", "prod"), { Project: "todobackend", Stack: "prod", Environment: "prod", ManagedBy: "pulumi" });
    });
});
