// Each policy called with hand-built resource inputs: a compliant case, each violation, and the
// config knobs. runPolicies builds the same argument bags the engine's analyzer passes.
import * as assert from "node:assert/strict";
import {
    cidrWithin, codebuildPrivilegedOnlyForImageBuild, ecrScanOnPush, fargateNoPublicIp, grantsEverything,
    isPublicCidr, logGroupRetention, noAdminIam, noInternetIngress, noPublicAdminPorts, policies,
    albHttpsInProtectedStacks, rdsDeletionProtection, rdsDeletionProtectionAdvisory, rdsNotPublicAndEncrypted, requiredTags,
    s3BucketsPrivateAndEncrypted, s3PublicAccessBlockComplete, stackOfUrn,
} from "../../policy/policies";
import { DeclaredResource, PackConfig, resolvePolicyConfig, runPolicies } from "../../policy/run";

const tags = { ManagedBy: "Pulumi", Project: "todobackend", Stack: "dev" };

function resource(type: string, name: string, inputs: Record<string, unknown>, stack = "dev"): DeclaredResource {
    return { type, name, urn: `urn:pulumi:${stack}::todobackend::${type}::${name}`, inputs };
}

async function messages(policy: (typeof policies)[number], resources: DeclaredResource[], config?: PackConfig): Promise<string[]> {
    const violations = await runPolicies(resources, { policies: [policy], config });
    return violations.map((v) => v.message);
}

const db = (inputs: Record<string, unknown>, stack = "dev") => resource("aws:rds/instance:Instance", `${stack}-db`,
    { engine: "mysql", publiclyAccessible: false, storageEncrypted: true, deletionProtection: true, tags, ...inputs }, stack);

describe("policy pack helpers", () => {
    it("reads the stack from a URN", () => {
        assert.equal(stackOfUrn("urn:pulumi:prod::todobackend::aws:rds/instance:Instance::db"), "prod");
    });

    it("treats private, CGNAT and unique-local ranges as non-public and everything else as public", () => {
        for (const cidr of ["10.0.0.0/16", "172.16.5.0/24", "192.168.1.1/32", "100.64.0.0/10", "fd00::/8"]) {
            assert.equal(isPublicCidr(cidr), false, cidr);
        }
        for (const cidr of ["0.0.0.0/0", "::/0", "203.0.113.7/32", "10.0.0.0/7", "2001:db8::/32"]) {
            assert.equal(isPublicCidr(cidr), true, cidr);
        }
    });

    it("knows a CIDR lies within a wider one but not the reverse", () => {
        assert.equal(cidrWithin("203.0.113.7/32", "203.0.113.0/24"), true);
        assert.equal(cidrWithin("203.0.113.0/24", "203.0.113.7/32"), false);
        assert.equal(cidrWithin("203.0.113.0/24", "::/0"), false);
    });

    it("recognises Action * and *:* in JSON text or objects, only under Allow", () => {
        assert.equal(grantsEverything(JSON.stringify({ Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] })), true);
        assert.equal(grantsEverything({ Statement: { Effect: "Allow", Action: ["s3:GetObject", "*:*"], Resource: "*" } }), true);
        assert.equal(grantsEverything({ Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }] }), false);
        assert.equal(grantsEverything({ Statement: [{ Effect: "Allow", Action: "ecr:*", Resource: "*" }] }), false);
        assert.equal(grantsEverything("not json"), false);
    });
});

describe("rds-private-and-encrypted", () => {
    it("accepts a private, encrypted database", async () => {
        assert.deepEqual(await messages(rdsNotPublicAndEncrypted, [db({})]), []);
    });

    it("refuses a publicly accessible database, naming it and the fix", async () => {
        const [message, ...rest] = await messages(rdsNotPublicAndEncrypted, [db({ publiclyAccessible: true })]);
        assert.deepEqual(rest, []);
        assert.match(message, /'dev-db' is publicly accessible.*publiclyAccessible: false/);
    });

    it("refuses a database whose storage is not encrypted (also when unset)", async () => {
        assert.match((await messages(rdsNotPublicAndEncrypted, [db({ storageEncrypted: false })]))[0], /unencrypted storage.*storageEncrypted: true/);
        assert.match((await messages(rdsNotPublicAndEncrypted, [db({ storageEncrypted: undefined })]))[0], /unencrypted storage/);
    });

    it("leaves encryption of an Aurora member instance to its cluster", async () => {
        assert.deepEqual(await messages(rdsNotPublicAndEncrypted, [db({ storageEncrypted: undefined, dbClusterIdentifier: "c" })]), []);
    });
});

describe("rds-deletion-protection", () => {
    it("is mandatory for prod databases without deletion protection", async () => {
        const violations = await runPolicies([db({ deletionProtection: false }, "prod")], { policies: [rdsDeletionProtection, rdsDeletionProtectionAdvisory] });
        assert.deepEqual(violations.map((v) => [v.policy, v.enforcementLevel]), [["rds-deletion-protection", "mandatory"]]);
        assert.match(violations[0].message, /'prod-db' in stack 'prod' has no deletion protection.*deletionProtection: true/);
    });

    it("is only advisory for dev databases", async () => {
        const violations = await runPolicies([db({ deletionProtection: false }, "dev")], { policies: [rdsDeletionProtection, rdsDeletionProtectionAdvisory] });
        assert.deepEqual(violations.map((v) => [v.policy, v.enforcementLevel]), [["rds-deletion-protection-advisory", "advisory"]]);
    });

    it("accepts protected databases in every stack", async () => {
        const resources = [db({}, "prod"), db({}, "dev")];
        assert.deepEqual(await runPolicies(resources, { policies: [rdsDeletionProtection, rdsDeletionProtectionAdvisory] }), []);
    });

    it("makes deletion protection mandatory for the stacks named in protectedStacks", async () => {
        const config = { "rds-deletion-protection": { protectedStacks: ["prod", "staging"] } };
        assert.equal((await messages(rdsDeletionProtection, [db({ deletionProtection: false }, "staging")], config)).length, 1);
    });
});

describe("alb-https-in-protected-stacks", () => {
    const listener = (name: string, protocol: string, action: Record<string, unknown>, stack = "prod") => resource("aws:lb/listener:Listener", name,
        { loadBalancerArn: "arn:lb", protocol, port: protocol === "HTTP" ? 80 : 443, defaultActions: [action], tags }, stack);
    const forward = { type: "forward", targetGroupArn: "arn:tg" };
    const redirect = { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } };
    it("refuses a prod listener that forwards plain HTTP to the app, naming the fix", async () => {
        const violations = await runPolicies([listener("web-http", "HTTP", forward)], { policies: [albHttpsInProtectedStacks] });
        assert.deepEqual(violations.map((v) => [v.policy, v.enforcementLevel]), [["alb-https-in-protected-stacks", "mandatory"]]);
        assert.match(violations[0].message, /Listener 'web-http' in stack 'prod' forwards plain HTTP to the app\. Fix: .*todobackend:certificateArn/);
    });
    it("accepts prod's HTTPS listener and its HTTP redirect, and plain HTTP in other stacks", async () => {
        assert.deepEqual(await messages(albHttpsInProtectedStacks, [listener("web-http", "HTTP", redirect), listener("web-https", "HTTPS", forward),
            listener("web-http", "HTTP", forward, "dev")]), []);
    });
    it("applies to the stacks named in protectedStacks", async () => {
        const config = { "alb-https-in-protected-stacks": { protectedStacks: ["prod", "staging"] } };
        assert.equal((await messages(albHttpsInProtectedStacks, [listener("web-http", "HTTP", forward, "staging")], config)).length, 1);
    });
});

describe("no-internet-ingress", () => {
    const sg = (name: string, ingress: unknown[]) => resource("aws:ec2/securityGroup:SecurityGroup", name, { ingress, tags });
    const http = { protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"] };

    it("lets the load balancer accept 80 and 443 from anywhere (IPv4 and IPv6)", async () => {
        const alb = sg("dev-alb", [http, { protocol: "tcp", fromPort: 443, toPort: 443, ipv6CidrBlocks: ["::/0"] }]);
        assert.deepEqual(await messages(noInternetIngress, [alb]), []);
    });

    it("refuses the internet on 3306 to the database security group", async () => {
        const [message] = await messages(noInternetIngress, [sg("dev-db", [{ protocol: "tcp", fromPort: 3306, toPort: 3306, cidrBlocks: ["0.0.0.0/0"] }])]);
        assert.match(message, /'dev-db' allows port 3306 from 0\.0\.0\.0\/0/);
    });

    it("refuses port 80 from anywhere on anything but the load balancer", async () => {
        assert.equal((await messages(noInternetIngress, [sg("dev-app", [http])])).length, 1);
    });

    it("refuses the load balancer opening other ports, port ranges or all traffic", async () => {
        const wide = sg("dev-alb", [
            { protocol: "tcp", fromPort: 8000, toPort: 8000, cidrBlocks: ["0.0.0.0/0"] },
            { protocol: "tcp", fromPort: 80, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
            { protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] },
        ]);
        assert.equal((await messages(noInternetIngress, [wide])).length, 3);
    });

    it("checks stand-alone ingress rules of both rule resources", async () => {
        const vpcRule = resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "dev-app-in", { ipProtocol: "tcp", fromPort: 8000, toPort: 8000, cidrIpv6: "::/0" });
        const ec2Rule = resource("aws:ec2/securityGroupRule:SecurityGroupRule", "dev-db-in", { type: "ingress", protocol: "tcp", fromPort: 3306, toPort: 3306, cidrBlocks: ["0.0.0.0/0"] });
        const egress = resource("aws:ec2/securityGroupRule:SecurityGroupRule", "dev-db-out", { type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] });
        assert.equal((await messages(noInternetIngress, [vpcRule, ec2Rule, egress])).length, 2);
    });

    it("identifies the load balancer and its ports through config", async () => {
        const edge = sg("dev-edge", [{ protocol: "tcp", fromPort: 8443, toPort: 8443, cidrBlocks: ["0.0.0.0/0"] }]);
        assert.equal((await messages(noInternetIngress, [edge])).length, 1);
        const config = { "no-internet-ingress": { loadBalancerNamePattern: "-edge$", allowedPorts: [8443] } };
        assert.deepEqual(await messages(noInternetIngress, [edge], config), []);
    });

    it("accepts ingress from private ranges and other security groups", async () => {
        const app = sg("dev-app", [{ protocol: "tcp", fromPort: 8000, toPort: 8000, cidrBlocks: ["10.0.0.0/16"], securityGroups: ["sg-alb"] }]);
        assert.deepEqual(await messages(noInternetIngress, [app]), []);
    });
});

describe("no-public-ssh-rdp", () => {
    const rule = (name: string, fromPort: number, toPort: number, cidr: string, protocol = "tcp") =>
        resource("aws:ec2/securityGroupRule:SecurityGroupRule", name, { type: "ingress", protocol, fromPort, toPort, cidrBlocks: [cidr] });

    it("refuses SSH from a single public address, not only from anywhere", async () => {
        const [message] = await messages(noPublicAdminPorts, [rule("dev-ssh", 22, 22, "203.0.113.7/32")]);
        assert.match(message, /'dev-ssh' opens SSH \(22\) to 203\.0\.113\.7\/32.*SSM Session Manager/);
    });

    it("refuses RDP, and port ranges or all traffic that include 22 or 3389", async () => {
        assert.match((await messages(noPublicAdminPorts, [rule("dev-rdp", 3389, 3389, "0.0.0.0/0")]))[0], /RDP \(3389\)/);
        assert.match((await messages(noPublicAdminPorts, [rule("dev-range", 0, 1024, "0.0.0.0/0")]))[0], /SSH \(22\)/);
        assert.match((await messages(noPublicAdminPorts, [rule("dev-all", 0, 0, "::/0", "-1")]))[0], /SSH \(22\) and RDP \(3389\)/);
    });

    it("accepts SSH from inside the VPC", async () => {
        assert.deepEqual(await messages(noPublicAdminPorts, [rule("dev-ssh", 22, 22, "10.0.0.0/16")]), []);
    });

    it("accepts public SSH sources listed in allowedCidrs, and only those", async () => {
        const config = { "no-public-ssh-rdp": { allowedCidrs: ["203.0.113.0/24"] } };
        assert.deepEqual(await messages(noPublicAdminPorts, [rule("dev-ssh", 22, 22, "203.0.113.7/32")], config), []);
        assert.equal((await messages(noPublicAdminPorts, [rule("dev-ssh", 22, 22, "198.51.100.1/32")], config)).length, 1);
    });
});

describe("no-admin-iam", () => {
    it("refuses attaching AdministratorAccess, in any partition", async () => {
        const attach = resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ci-admin", { role: "ci", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" });
        const gov = resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "gov-admin", { role: "ci", policyArn: "arn:aws-us-gov:iam::aws:policy/AdministratorAccess" });
        const msgs = await messages(noAdminIam, [attach, gov]);
        assert.equal(msgs.length, 2);
        assert.match(msgs[0], /'ci-admin' attaches AdministratorAccess/);
    });

    it("refuses AdministratorAccess through a role's managedPolicyArns", async () => {
        const role = resource("aws:iam/role:Role", "deploy", { managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"], tags });
        assert.equal((await messages(noAdminIam, [role])).length, 1);
    });

    it("refuses Action * in policies, role policies and inline policies", async () => {
        const doc = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*:*", Resource: "*" }] });
        const resources = [
            resource("aws:iam/policy:Policy", "everything", { policy: doc }),
            resource("aws:iam/rolePolicy:RolePolicy", "inline", { role: "r", policy: doc }),
            resource("aws:iam/role:Role", "wide", { inlinePolicies: [{ name: "all", policy: doc }], tags }),
        ];
        const msgs = await messages(noAdminIam, resources);
        assert.equal(msgs.length, 3);
        assert.match(msgs[0], /'everything' allows Action "\*".*specific actions/);
    });

    it("accepts scoped managed policies and documents", async () => {
        const resources = [
            resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "exec", { role: "r", policyArn: "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy" }),
            resource("aws:iam/policy:Policy", "push", { policy: { Statement: [{ Effect: "Allow", Action: ["ecr:PutImage"], Resource: "arn:aws:ecr:*:*:repository/todobackend" }] } }),
        ];
        assert.deepEqual(await messages(noAdminIam, resources), []);
    });
});

describe("ecr-scan-on-push", () => {
    const repo = (scan: unknown) => resource("aws:ecr/repository:Repository", "todobackend", { imageScanningConfiguration: scan, tags });

    it("accepts a repository that scans on push", async () => {
        assert.deepEqual(await messages(ecrScanOnPush, [repo({ scanOnPush: true })]), []);
    });

    it("refuses a repository that does not scan, or does not say", async () => {
        assert.match((await messages(ecrScanOnPush, [repo({ scanOnPush: false })]))[0], /'todobackend' does not scan on push.*scanOnPush: true/);
        assert.equal((await messages(ecrScanOnPush, [repo(undefined)])).length, 1);
    });
});

describe("s3 buckets", () => {
    const bucket = resource("aws:s3/bucket:Bucket", "artifacts", { tags });
    const block = (inputs: Record<string, unknown> = {}) => resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "artifacts-block",
        { bucket: "artifacts", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true, ...inputs });
    const sse = resource("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "artifacts-sse",
        { bucket: "artifacts", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] });

    it("accepts a bucket with a complete public access block and encryption", async () => {
        assert.deepEqual(await messages(s3BucketsPrivateAndEncrypted, [bucket, block(), sse]), []);
        assert.deepEqual(await messages(s3PublicAccessBlockComplete, [block()]), []);
    });

    it("refuses a bucket without a public access block, reported on the bucket", async () => {
        const violations = await runPolicies([bucket, sse], { policies: [s3BucketsPrivateAndEncrypted] });
        assert.equal(violations.length, 1);
        assert.equal(violations[0].resource?.name, "artifacts");
        assert.match(violations[0].message, /'artifacts' has no public access block.*BucketPublicAccessBlock/);
    });

    it("refuses a bucket without encryption", async () => {
        assert.match((await messages(s3BucketsPrivateAndEncrypted, [bucket, block()]))[0], /declares no server-side encryption/);
    });

    it("does not count another bucket's block or encryption", async () => {
        const other = resource("aws:s3/bucket:Bucket", "logs", { tags });
        assert.equal((await messages(s3BucketsPrivateAndEncrypted, [bucket, other, block(), sse])).length, 2);
    });

    it("refuses a public access block with any setting off", async () => {
        assert.match((await messages(s3PublicAccessBlockComplete, [block({ restrictPublicBuckets: false, blockPublicAcls: undefined })]))[0],
            /leaves blockPublicAcls, restrictPublicBuckets off/);
    });
});

describe("codebuild-privileged-only-app-build", () => {
    const project = (name: string, privilegedMode: boolean) => resource("aws:codebuild/project:Project", name, { environment: { privilegedMode, computeType: "BUILD_GENERAL1_SMALL" }, tags });

    it("lets the app build project run privileged for Docker-in-Docker", async () => {
        assert.deepEqual(await messages(codebuildPrivilegedOnlyForImageBuild, [project("todobackend-app-build", true)]), []);
    });

    it("refuses privileged mode on any other project", async () => {
        assert.match((await messages(codebuildPrivilegedOnlyForImageBuild, [project("todobackend-preview", true)]))[0], /'todobackend-preview' runs in privileged mode/);
        assert.deepEqual(await messages(codebuildPrivilegedOnlyForImageBuild, [project("todobackend-preview", false)]), []);
    });

    it("recognises the app build by its CodeBuild project name, not by its resource name", async () => {
        const named = (resourceName: string, projectName: string) => resource("aws:codebuild/project:Project", resourceName,
            { name: projectName, environment: { privilegedMode: true, computeType: "BUILD_GENERAL1_SMALL" }, tags });
        assert.deepEqual(await messages(codebuildPrivilegedOnlyForImageBuild, [named("builds-app", "todobackend-build")]), []);
        assert.match((await messages(codebuildPrivilegedOnlyForImageBuild, [named("builds-app-build", "todobackend-deploy-dev")]))[0],
            /'builds-app-build' runs in privileged mode/);
    });

    it("names the privileged project through config", async () => {
        const config = { "codebuild-privileged-only-app-build": { privilegedProjectPattern: "-image$" } };
        assert.deepEqual(await messages(codebuildPrivilegedOnlyForImageBuild, [project("todobackend-image", true)], config), []);
        assert.equal((await messages(codebuildPrivilegedOnlyForImageBuild, [project("todobackend-app-build", true)], config)).length, 1);
    });
});

describe("fargate-no-public-ip", () => {
    const service = (inputs: Record<string, unknown>) => resource("aws:ecs/service:Service", "dev-xray", { launchType: "FARGATE", tags, ...inputs });

    it("refuses Fargate tasks with public IPs, by launch type, capacity provider or awsx service", async () => {
        const resources = [
            service({ networkConfiguration: { assignPublicIp: true, subnets: ["subnet-private"] } }),
            service({ launchType: undefined, capacityProviderStrategies: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }], networkConfiguration: { assignPublicIp: true } }),
            resource("awsx:ecs:FargateService", "dev-xray2", { networkConfiguration: { assignPublicIp: true } }),
        ];
        const msgs = await messages(fargateNoPublicIp, resources);
        assert.equal(msgs.length, 3);
        assert.match(msgs[0], /'dev-xray' assigns public IPs.*assignPublicIp: false/);
    });

    it("accepts private Fargate tasks and leaves EC2 services alone", async () => {
        assert.deepEqual(await messages(fargateNoPublicIp, [
            service({ networkConfiguration: { assignPublicIp: false } }),
            service({ launchType: "EC2", networkConfiguration: { assignPublicIp: true } }),
        ]), []);
    });
});

describe("log-group-retention", () => {
    it("accepts a retention period and refuses none or zero (never expire)", async () => {
        const group = (retentionInDays: unknown) => resource("aws:cloudwatch/logGroup:LogGroup", "/dev/ecs/todobackend", { retentionInDays, tags });
        assert.deepEqual(await messages(logGroupRetention, [group(7)]), []);
        assert.match((await messages(logGroupRetention, [group(undefined)]))[0], /'\/dev\/ecs\/todobackend' keeps logs forever.*retentionInDays/);
        assert.equal((await messages(logGroupRetention, [group(0)])).length, 1);
    });
});

describe("required-tags", () => {
    it("accepts taggable resources with the base tags and ignores untaggable ones", async () => {
        assert.deepEqual(await messages(requiredTags, [
            resource("aws:ecs/cluster:Cluster", "dev", { tags }),
            resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "exec", { role: "r", policyArn: "arn" }),
        ]), []);
    });

    it("names the missing tags and the resource", async () => {
        const [message] = await messages(requiredTags, [resource("aws:ecs/cluster:Cluster", "dev", { tags: { ManagedBy: "Pulumi" } })]);
        assert.match(message, /'dev' \(aws:ecs\/cluster:Cluster\) lacks tag\(s\) Project, Stack/);
    });

    it("takes the required keys from config", async () => {
        const config = { "required-tags": { tags: ["CostCentre"] } };
        assert.equal((await messages(requiredTags, [resource("aws:ecs/cluster:Cluster", "dev", { tags })], config)).length, 1);
    });
});

describe("policy config", () => {
    it("turns a mandatory policy advisory or off through the CLI's policy config format", async () => {
        const open = db({ publiclyAccessible: true });
        const advisory = await runPolicies([open], { policies: [rdsNotPublicAndEncrypted], config: { "rds-private-and-encrypted": "advisory" } });
        assert.deepEqual(advisory.map((v) => v.enforcementLevel), ["advisory"]);
        assert.deepEqual(await runPolicies([open], { policies: [rdsNotPublicAndEncrypted], config: { all: { enforcementLevel: "disabled" } } }), []);
    });

    it("refuses config keys a policy does not know, naming the known ones", () => {
        assert.throws(() => resolvePolicyConfig(noPublicAdminPorts, { "no-public-ssh-rdp": { allowedCidr: ["1.2.3.4/32"] } }),
            /unknown key\(s\) allowedCidr; known: allowedCidrs/);
    });

    it("gives every policy a unique name, a description and a mandatory or advisory level", () => {
        assert.equal(new Set(policies.map((p) => p.name)).size, policies.length);
        for (const p of policies) {
            assert.ok(p.description.length > 10, p.name);
            assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", p.name);
        }
    });
});
