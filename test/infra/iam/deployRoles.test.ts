// The pipeline's roles, checked with a real IAM policy evaluator against what the AWS provider
// calls for every resource the environment stacks declare (test/infra/iam/providerActions.ts).
// The environment stacks are evaluated with the delivery stack's own outputs, so the boundary
// on their roles is the one the delivery stack's policies name.
import * as assert from "node:assert/strict";
import { EVALUATION_WAIT_MS, Evaluated, evaluateStack, policyDoc, startEarly } from "../harness";
import { MOCK_ACCOUNT } from "../../../scripts/offline/mocks";
import { s3KmsCalls } from "./impliedCalls";
import { decide, mismatches, Policies, providerRequests, REGION, Request, targets } from "./requests";
import { PROVIDER_ACTIONS } from "./providerActions";

const DELIVERY = "organization/todobackend/delivery";

/** RDS's default option and parameter groups (`og:default:…`, `pg:default.…`): AWS's, shared by every instance that names no group. */
const isRdsDefaultGroup = (arn: string) => /^arn:aws:rds:[^:]+:\d+:(og:default:|pg:default\.)/.test(arn);
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";

const stacks = startEarly((async () => {
    const delivery = await evaluateStack("delivery", { background: true });
    const stackOutputs = { [DELIVERY]: delivery.outputs };
    const [dev, prod] = await Promise.all([evaluateStack("dev", { stackOutputs, background: true }), evaluateStack("prod", { stackOutputs, background: true })]);
    return { delivery, dev, prod };
})());

/**
 * Changes a dev role can make to prod's resources, each because AWS offers nothing to fence it
 * with (no resource-level permission or tag condition for the action). Each is named in
 * docs/delivery.md ("What each deploy role may do").
 */
const UNFENCED_HERE: Record<string, string> = {
    "ecs:DeregisterTaskDefinition": "takes no resource-level permission; a deregistered revision keeps running",
    "route53:ChangeResourceRecordSets": "Route 53 has no tag conditions; Cloud Map's zone is made with the caller's rights",
    "route53:CreateHostedZone": "the same: Cloud Map creates the namespace's zone with the caller's rights",
    "route53:GetHostedZone": "read during Cloud Map's namespace creation; Route 53 has no tag conditions",
    "route53:ListHostedZonesByName": "read during Cloud Map's namespace creation; takes no resource",
    "ec2:DescribeVpcs": "read during Cloud Map's namespace creation; region-wide like every Describe",
    "ec2:DescribeRegions": "read during Cloud Map's namespace creation; takes no resource",
    "iam:CreateServiceLinkedRole": "one role per service and account, shared by every environment: creating it changes nothing of prod's",
    "kms:DescribeKey": "key metadata, read while RDS makes its managed secret",
};

/**
 * RDS names the master secret it makes `rds!db-<random>`: nothing in a new one's name or in the
 * request (AWS documents no tag sent with it) tells the environment. Creating one changes no
 * existing secret, and the tag that goes with it is never the environment tag (docs/delivery.md).
 */
const isRdsSecretCreate = (r: Request) => r.arn.includes(":secret:rds!db-") && ["secretsmanager:CreateSecret", "secretsmanager:TagResource"].includes(r.action);

describe("the pipeline's roles under a real IAM policy evaluator", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let delivery: Evaluated;
    let dev: Evaluated;
    let prod: Evaluated;
    let devRequests: Request[];
    let prodRequests: Request[];
    const role = (name: string): Policies => ({ identity: [policyDoc(delivery.one(ROLE_POLICY, name).inputs.policy)] });
    before(async () => {
        ({ delivery, dev, prod } = await stacks);
        devRequests = await providerRequests("dev", dev.resources);
        prodRequests = await providerRequests("prod", prod.resources);
    });

    it("knows the provider's actions for every resource type the environment stacks declare", () => {
        const types = new Set([...targets(dev.resources), ...targets(prod.resources)].map((t) => t.type));
        assert.deepEqual([...types].filter((t) => !PROVIDER_ACTIONS[t]), []);
        assert.ok(types.size >= 30, `only ${types.size} types`);
        assert.ok(devRequests.length > 400, `only ${devRequests.length} requests`);
    });

    it("lets the Dev stage's role create, read, update, tag and delete every resource of dev, on its ARN", async () => {
        assert.deepEqual(await mismatches(role("builds-deploy-dev"), devRequests, "Allowed"), []);
    });

    it("lets the ExecuteChangeSet role create, read, update, tag and delete every resource of prod, on its ARN", async () => {
        assert.deepEqual(await mismatches(role("builds-deploy-prod"), prodRequests, "Allowed"), []);
    });

    it("denies the Dev stage's role every change to a prod resource but the ones AWS cannot fence", async () => {
        // An Amazon-owned AMI is nobody's environment: launching needs the fenced instance, volume and interface too.
        // Nor are RDS's default option and parameter groups: using one in a request changes neither it nor prod's database.
        const changes = prodRequests.filter((r) => r.step !== "read" && !UNFENCED_HERE[r.action] && !r.arn.includes("::image/") && !isRdsDefaultGroup(r.arn) && !isRdsSecretCreate(r));
        assert.ok(changes.length > 200);
        assert.deepEqual(await mismatches(role("builds-deploy-dev"), changes, (d) => d !== "Allowed"), []);
    });

    it("lets the ChangeSet role (a preview of unapproved code) read prod and change nothing there", async () => {
        const preview = role("builds-preview-prod");
        const reads = prodRequests.filter((r) => r.step === "read" && r.action !== "secretsmanager:GetSecretValue");
        assert.deepEqual(await mismatches(preview, reads, "Allowed"), []);
        // Reads AWS makes while creating (Cloud Map's DescribeVpcs) change nothing either.
        assert.deepEqual(await mismatches(preview, prodRequests.filter((r) => r.step !== "read" && !/:(Describe|Get|List)/.test(r.action)), (d) => d !== "Allowed"), []);
    });

    it("denies every deploy role any write to the delivery stack's roles and to the other environment's roles", async () => {
        const deliveryRoles = ["todobackend-3f2a1bc", "builds-deploy-dev-9e8d7c6", "builds-app-1a2b3c4"].map((n) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${n}`);
        const writes = ["iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRolePermissionsBoundary",
            "iam:DeleteRole", "iam:TagRole"];
        const attempts = (arns: readonly string[], boundary: string): Request[] => arns.flatMap((arn) => [
            ...writes.map((action) => ({ origin: "attack", step: "update" as const, action, arn, context: { "iam:PermissionsBoundary": boundary } })),
            ...["codepipeline.amazonaws.com", "codebuild.amazonaws.com", "ecs-tasks.amazonaws.com", "lambda.amazonaws.com"].map((service) =>
                ({ origin: "attack", step: "update" as const, action: "iam:PassRole", arn, context: { "iam:PassedToService": service } })),
        ]);
        const boundaries = delivery.outputs.environmentRoleBoundaryArns as Record<string, string>;
        const prodRoles = targets(prod.resources).filter((t) => t.type === "aws:iam/role:Role").map((t) => `arn:aws:iam::${MOCK_ACCOUNT}:role${t.inputs.path}${t.inputs.name}`);
        const devRoles = targets(dev.resources).filter((t) => t.type === "aws:iam/role:Role").map((t) => `arn:aws:iam::${MOCK_ACCOUNT}:role${t.inputs.path}${t.inputs.name}`);
        assert.equal(prodRoles.length, 8);
        for (const [name, others] of [["builds-deploy-dev", [...deliveryRoles, ...prodRoles]], ["builds-deploy-prod", [...deliveryRoles, ...devRoles]],
            ["builds-preview-prod", [...deliveryRoles, ...prodRoles, ...devRoles]]] as const) {
            // Even with the boundary named in the request, so only the path can refuse it.
            assert.deepEqual(await mismatches(role(name), attempts(others, boundaries.dev), (d) => d !== "Allowed"), [], name);
            assert.deepEqual(await mismatches(role(name), attempts(others, boundaries.prod), (d) => d !== "Allowed"), [], name);
        }
    });

    it("refuses the dev role any tag that would pull a resource into dev: prod's, or an untagged one outside dev's names", async () => {
        const dev = role("builds-deploy-dev");
        const arnOf = (service: string, part: string) => `arn:aws:${service}:us-east-1:${MOCK_ACCOUNT}:${part}`;
        const adopt = (action: string, arn: string, tags: Record<string, string>) => decide(dev, { origin: "attack", step: "tag", action, arn,
            context: { "aws:RequestTag/Environment": "dev", "aws:TagKeys": ["Environment"], ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])) } });
        const targets: Array<[string, string]> = [
            ["logs:TagResource", arnOf("logs", "log-group:/other-team/app")], ["ecs:TagResource", arnOf("ecs", "cluster/other-cluster")],
            ["secretsmanager:TagResource", arnOf("secretsmanager", "secret:other/db-AbCdEf")], ["rds:AddTagsToResource", arnOf("rds", "db:other-db")],
            ["lambda:TagResource", arnOf("lambda", "function:other-fn")], ["elasticloadbalancing:AddTags", arnOf("elasticloadbalancing", "loadbalancer/app/other-alb/0123456789abcdef")],
            ["ecs:TagResource", arnOf("ecs", "cluster/todobackend-prod-cluster")], ["logs:TagResource", arnOf("logs", "log-group:/todobackend-prod/ecs/todobackend")],
        ];
        for (const [action, arn] of targets) {
            assert.notEqual(await adopt(action, arn, {}), "Allowed", `${action} on untagged ${arn}`);
            assert.notEqual(await adopt(action, arn, { Environment: "prod" }), "Allowed", `${action} on prod-tagged ${arn}`);
        }
        // Its own new resources it does tag as they are created.
        assert.equal(await adopt("logs:TagResource", arnOf("logs", "log-group:/todobackend-dev/ecs/new"), {}), "Allowed");
    });

    it("lets a deploy role create an environment role only with the boundary on it, and never remove it", async () => {
        const dev = role("builds-deploy-dev");
        const arn = `arn:aws:iam::${MOCK_ACCOUNT}:role/todobackend-dev/todobackend-dev-admin`;
        const boundaries = delivery.outputs.environmentRoleBoundaryArns as Record<string, string>;
        const ask = (action: string, context: Record<string, string>) => decide(dev, { origin: "t", step: "create", action, arn, context });
        assert.equal(await ask("iam:CreateRole", { "iam:PermissionsBoundary": boundaries.dev }), "Allowed");
        assert.equal(await ask("iam:CreateRole", {}), "ImplicitlyDenied");
        assert.equal(await ask("iam:CreateRole", { "iam:PermissionsBoundary": boundaries.prod }), "ImplicitlyDenied");
        assert.equal(await ask("iam:PutRolePolicy", { "iam:PermissionsBoundary": `arn:aws:iam::${MOCK_ACCOUNT}:policy/other` }), "ImplicitlyDenied");
        assert.equal(await ask("iam:DeleteRolePermissionsBoundary", {}), "ExplicitlyDenied");
        assert.equal(await ask("iam:PassRole", { "iam:PassedToService": "codebuild.amazonaws.com" }), "ImplicitlyDenied");
    });

    // The probes (issue 23): each a request AWS makes on a first deploy that an earlier
    // table of provider actions did not know, so the roles lacked it while every test passed.
    it("probe: lets each deploy role create the ECS service auto scaling service-linked role that the first RegisterScalableTarget needs", async () => {
        for (const [name, requests] of [["builds-deploy-dev", devRequests], ["builds-deploy-prod", prodRequests]] as const) {
            const slr = requests.filter((r) => r.action === "iam:CreateServiceLinkedRole" && r.context["iam:AWSServiceName"] === "ecs.application-autoscaling.amazonaws.com");
            assert.equal(slr.length, 1, "derived from the stack's scalable target");
            assert.deepEqual(await mismatches(role(name), slr, "Allowed"), [], name);
        }
    });

    it("probe: lets the ChangeSet role (prod preview) take and release prod's lock in the SSE-KMS state bucket, S3 asking KMS with its rights", async () => {
        const sse = delivery.byType("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
            .map((r) => (r.inputs.rules as Array<{ applyServerSideEncryptionByDefault: { sseAlgorithm: string; kmsMasterKeyId?: string } }>)[0].applyServerSideEncryptionByDefault)
            .find((d) => d.sseAlgorithm === "aws:kms");
        assert.ok(sse?.kmsMasterKeyId, "the state bucket is SSE-KMS");
        const bucketArn = policyDoc(delivery.one(ROLE_POLICY, "builds-preview-prod").inputs.policy).Statement.find((s) => s.Sid === "StateList")!.Resource as string;
        const lock = `${bucketArn}/.pulumi/locks/organization/todobackend/prod/0123.json`;
        const requests: Request[] = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"].flatMap((action) => [
            { origin: "prod preview: lock", step: "update" as const, action, arn: lock, context: {} },
            ...s3KmsCalls(action, sse.kmsMasterKeyId!, REGION).map((k) => ({ ...k, origin: `prod preview: S3 asks KMS for ${action}` })),
        ]);
        assert.ok(requests.some((r) => r.action === "kms:GenerateDataKey"));
        assert.deepEqual(await mismatches(role("builds-preview-prod"), requests, "Allowed"), []);
        // KMS answers S3 for this role, not the role calling KMS directly for its own data keys.
        assert.notEqual(await decide(role("builds-preview-prod"), { origin: "t", step: "update", action: "kms:GenerateDataKey", arn: sse.kmsMasterKeyId!, context: {} }), "Allowed");
    });

    it("probe: lets each deploy role create its Auto Scaling group, which runs instances from the launch template on every resource a launch touches", async () => {
        for (const [name, requests] of [["builds-deploy-dev", devRequests], ["builds-deploy-prod", prodRequests]] as const) {
            const launch = requests.filter((r) => r.action === "ec2:RunInstances" && r.origin.includes("autoscaling/group"));
            const kinds = new Set(launch.map((r) => /:(\w[\w-]*)\/[^:]*$/.exec(r.arn.replace(/::image/, ":x:image"))?.[1]));
            assert.deepEqual([...kinds].sort(), ["image", "instance", "launch-template", "network-interface", "security-group", "subnet", "volume"]);
            assert.deepEqual(await mismatches(role(name), launch, "Allowed"), [], name);
        }
    });

    // The AWS reviewer's probes (after issue 23): requests a first deploy makes that the table of
    // the issue-23 roles still lacked.
    it("probe: lets each deploy role create and upgrade its database on RDS's default option and parameter groups, which carry no tag of ours", async () => {
        for (const [name, requests] of [["builds-deploy-dev", devRequests], ["builds-deploy-prod", prodRequests]] as const) {
            const groups = requests.filter((r) => isRdsDefaultGroup(r.arn));
            assert.deepEqual([...new Set(groups.map((r) => `${r.step} ${r.action} ${r.arn.split(":").slice(5).join(":")}`))].sort(), [
                "create rds:CreateDBInstance og:default:mysql-8-4", "create rds:CreateDBInstance pg:default.mysql8.4",
                "update rds:ModifyDBInstance og:default:mysql-8-4", "update rds:ModifyDBInstance pg:default.mysql8.4"]);
            assert.deepEqual(await mismatches(role(name), groups, "Allowed"), [], name);
        }
        // Only the defaults: a group someone else made is not this role's to use.
        const other = (kind: string, group: string) => ({ origin: "t", step: "create" as const, action: "rds:CreateDBInstance",
            arn: `arn:aws:rds:${REGION}:${MOCK_ACCOUNT}:${kind}:${group}`, context: {} });
        assert.equal(await decide(role("builds-deploy-dev"), other("pg", "other-team-mysql84")), "ImplicitlyDenied");
        assert.equal(await decide(role("builds-deploy-dev"), other("og", "other-team-mysql84")), "ImplicitlyDenied");
    });

    it("probe: lets each deploy role have Application Auto Scaling make, read and delete its target-tracking alarms, with the caller's rights, and not the other environment's", async () => {
        for (const [name, own, other] of [["builds-deploy-dev", devRequests, prodRequests], ["builds-deploy-prod", prodRequests, devRequests]] as const) {
            const alarms = (requests: Request[]) => requests.filter((r) => r.arn.includes(":alarm:TargetTracking-"));
            assert.deepEqual([...new Set(alarms(own).map((r) => r.action))].sort(), ["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm"]);
            assert.equal(alarms(own).filter((r) => r.action === "cloudwatch:PutMetricAlarm").length, 4, "AlarmHigh and AlarmLow, on create and update");
            assert.deepEqual(await mismatches(role(name), alarms(own), "Allowed"), [], name);
            assert.deepEqual(await mismatches(role(name), alarms(other).filter((r) => r.action !== "cloudwatch:DescribeAlarms"), (d) => d !== "Allowed"), [], `${name} on the other's`);
        }
    });

    it("probe: lets each deploy role have RDS create its managed master secret whatever tags RDS sends, and never tag one into an environment", async () => {
        for (const [name, requests] of [["builds-deploy-dev", devRequests], ["builds-deploy-prod", prodRequests]] as const) {
            const secret = requests.filter((r) => r.arn.includes(":secret:rds!db-") && r.step === "create");
            assert.deepEqual([...new Set(secret.map((r) => r.action))].sort(), ["secretsmanager:CreateSecret", "secretsmanager:TagResource"]);
            assert.deepEqual(await mismatches(role(name), secret, "Allowed"), [], name);
            // With the instance's tag in the request too, should RDS send it.
            const env = name.endsWith("dev") ? "dev" : "prod";
            const tagged = secret.map((r) => ({ ...r, context: { "aws:RequestTag/aws:rds:primaryDBInstanceArn": `arn:aws:rds:${REGION}:${MOCK_ACCOUNT}:db:todobackend-${env}-db`,
                "aws:TagKeys": ["aws:rds:primaryDBInstanceArn"] } }));
            assert.deepEqual(await mismatches(role(name), tagged, "Allowed"), [], `${name} with the tag`);
        }
        // Tagging an RDS secret (prod's, say) with the environment tag would make it the dev role's to read.
        const adopt = { origin: "attack", step: "tag" as const, action: "secretsmanager:TagResource", arn: `arn:aws:secretsmanager:${REGION}:${MOCK_ACCOUNT}:secret:rds!db-0123-AbCdEf`,
            context: { "aws:RequestTag/Environment": "dev", "aws:TagKeys": ["Environment"], "aws:ResourceTag/aws:rds:primaryDBInstanceArn": `arn:aws:rds:${REGION}:${MOCK_ACCOUNT}:db:todobackend-prod-db` } };
        assert.notEqual(await decide(role("builds-deploy-dev"), adopt), "Allowed");
    });

    it("probe: lets each deploy role create Cloud Map's private hosted zone, which Cloud Map creates in Route 53 with the caller's rights", async () => {
        const zone = devRequests.filter((r) => r.action.startsWith("route53:") && r.origin.includes("CreatePrivateDnsNamespace"));
        assert.deepEqual(zone.map((r) => r.action).sort(), ["route53:CreateHostedZone", "route53:GetHostedZone", "route53:ListHostedZonesByName"]);
        assert.deepEqual(await mismatches(role("builds-deploy-dev"), zone, "Allowed"), []);
    });

    it("lets each stage's role decrypt only its own environment's secrets: one KMS key (secrets provider) per environment", async () => {
        // The keys' ARNs as the mocks make them (key/<resource name>).
        const keyArn = (name: string) => `arn:aws:kms:${REGION}:${MOCK_ACCOUNT}:key/${delivery.one("aws:kms/key:Key", name).name}`;
        const keys = { dev: keyArn("pulumi-dev"), prod: keyArn("pulumi-prod") };
        const ask = (name: string, action: string, key: string) => decide(role(name), { origin: "t", step: "update", action, arn: key, context: {} });
        for (const action of ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"]) assert.equal(await ask("builds-deploy-dev", action, keys.dev), "Allowed", action);
        assert.equal(await ask("builds-preview-prod", "kms:Decrypt", keys.prod), "Allowed");
        assert.equal(await ask("builds-deploy-prod", "kms:Decrypt", keys.prod), "Allowed");
        // prod's data key (in Pulumi.prod.yaml) and so every secret of prod's state and plans stay closed to dev.
        for (const action of ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"]) assert.notEqual(await ask("builds-deploy-dev", action, keys.prod), "Allowed", action);
        assert.notEqual(await ask("builds-deploy-prod", "kms:Decrypt", keys.dev), "Allowed");
        // The delivery stack's key (its own secrets, and the state bucket's encryption) decrypts only what a StackReference to it needs.
        const deliveryKey = keyArn("pulumi");
        assert.equal(await ask("builds-deploy-dev", "kms:Decrypt", deliveryKey), "Allowed");
        assert.notEqual(await ask("builds-deploy-dev", "kms:Encrypt", deliveryKey), "Allowed");
        assert.notEqual(await ask("builds-deploy-dev", "kms:GenerateDataKey", deliveryKey), "Allowed");
    });

    it("keeps each stage's role to the pipeline artifacts its action consumes and produces", async () => {
        const artifacts = policyDoc(delivery.one(ROLE_POLICY, "todobackend").inputs.policy).Statement.find((s) => s.Sid === "Artifacts")!.Resource[0] as string;
        // CodePipeline's object keys: <pipeline name, first 20 characters>/<artifact name, first 10>/<random>.
        const object = (folder: string) => `${artifacts}/todobackend/${folder}/AbCdEf1`;
        const ask = (name: string, action: string, folder: string) => decide(role(name), { origin: "t", step: "update", action, arn: object(folder), context: {} });
        const may: Array<[string, string, string]> = [["builds-deploy-dev", "s3:GetObject", "Deployment"], ["builds-deploy-dev", "s3:GetObject", "Applicatio"],
            ["builds-preview-prod", "s3:GetObject", "Deployment"], ["builds-preview-prod", "s3:GetObject", "Applicatio"], ["builds-preview-prod", "s3:PutObject", "ChangeSetP"],
            ["builds-deploy-prod", "s3:GetObject", "Deployment"], ["builds-deploy-prod", "s3:GetObject", "ChangeSetP"],
            ["builds-app", "s3:GetObject", "MyApp"], ["builds-app", "s3:PutObject", "Applicatio"]];
        for (const [name, action, folder] of may) assert.equal(await ask(name, action, folder), "Allowed", `${name} ${action} ${folder}`);
        // The prod plan (prod's state and secret ciphertexts) is not dev's to read; the code ExecuteChangeSet runs
        // with prod's rights is no earlier action's to rewrite, nor is the approved plan the app build's.
        const mayNot: Array<[string, string, string]> = [["builds-deploy-dev", "s3:GetObject", "ChangeSetP"], ["builds-deploy-dev", "s3:PutObject", "Deployment"],
            ["builds-preview-prod", "s3:PutObject", "Deployment"], ["builds-preview-prod", "s3:PutObject", "Applicatio"],
            ["builds-deploy-prod", "s3:PutObject", "ChangeSetP"], ["builds-deploy-prod", "s3:PutObject", "Deployment"],
            ["builds-app", "s3:PutObject", "Deployment"], ["builds-app", "s3:PutObject", "ChangeSetP"], ["builds-app", "s3:GetObject", "ChangeSetP"]];
        for (const [name, action, folder] of mayNot) assert.notEqual(await ask(name, action, folder), "Allowed", `${name} ${action} ${folder}`);
    });

    it("keeps each deploy role to its own stack's Pulumi state", async () => {
        // The state bucket's ARN as the policies name it (under the mocks, not S3's real shape).
        const bucketArn = policyDoc(delivery.one(ROLE_POLICY, "builds-deploy-dev").inputs.policy).Statement.find((s) => s.Sid === "StateList")!.Resource as string;
        const object = (key: string) => `${bucketArn}/${key}`;
        const ask = (name: string, action: string, key: string) => decide(role(name), { origin: "t", step: "update", action, arn: object(key), context: {} });
        assert.equal(await ask("builds-deploy-dev", "s3:PutObject", ".pulumi/stacks/todobackend/dev.json"), "Allowed");
        assert.equal(await ask("builds-deploy-dev", "s3:GetObject", ".pulumi/stacks/todobackend/delivery.json"), "Allowed");
        assert.equal(await ask("builds-deploy-dev", "s3:PutObject", ".pulumi/stacks/todobackend/prod.json"), "ImplicitlyDenied");
        assert.equal(await ask("builds-deploy-dev", "s3:GetObject", ".pulumi/stacks/todobackend/prod.json"), "ImplicitlyDenied");
        assert.equal(await ask("builds-deploy-dev", "s3:PutObject", ".pulumi/stacks/todobackend/delivery.json"), "ImplicitlyDenied");
        assert.equal(await ask("builds-preview-prod", "s3:PutObject", ".pulumi/stacks/todobackend/prod.json"), "ImplicitlyDenied");
        assert.equal(await ask("builds-preview-prod", "s3:PutObject", ".pulumi/locks/organization/todobackend/prod/1.json"), "Allowed");
        assert.equal(await ask("builds-deploy-prod", "s3:PutObject", ".pulumi/history/todobackend/prod/prod-1.history.json"), "Allowed");
    });
});
