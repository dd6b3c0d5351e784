// The automation service in the delivery stack (automation:enabled), under Pulumi's mocks: what it
// opens to whom, what its database and secrets are, what its task may do and which roles trust it.
// The decisions are also tested as pure functions, and AUTOMATION_STACK_ROLES is read back by the
// service's own parser.
import * as assert from "node:assert/strict";
import { EVALUATION_WAIT_MS, Evaluated, evaluateStack, policyDoc, startEarly } from "./harness";
import { MOCK_ACCOUNT } from "../../scripts/offline/mocks";
import { validateAutomationConfig } from "../../infra/config/automation";
import { validateAutomationServiceArgs, AutomationServiceArgs } from "../../infra/automationService";
import { automationDatabaseSettings, automationSecurityRules, automationTaskRoleArn, stackRolesJson, validateFargateSize } from "../../infra/lib/automation";
import { TLS_POLICY } from "../../infra/loadBalancer";
import { parseStackRoles } from "../../automation/pulumi/stackRoles";

const CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
const ON = { "automation:enabled": "true", "automation:certificateArn": CERT, "automation:ingressCidrs": "203.0.113.0/24,198.51.100.7/32",
    "automation:publicUrl": "https://automation.example.com", "automation:imageTag": "1.0.0" };
const CLIENT_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:automation/oidc-AbCdEf";
/** Not production, an existing VPC, an image from elsewhere, sign-in on. */
const TRIAL = { "automation:enabled": "true", "automation:certificateArn": CERT, "automation:ingressCidrs": "10.0.0.0/8",
    "automation:publicUrl": "https://automation.example.com", "automation:image": "ghcr.io/example/automation:1.2.3", "automation:production": "false",
    "automation:vpcId": "vpc-0abc", "automation:publicSubnetIds": "subnet-0a1,subnet-0a2", "automation:privateSubnetIds": "subnet-0b1,subnet-0b2",
    "automation:oidcIssuer": "https://login.example.com/realms/main", "automation:oidcClientId": "automation",
    "automation:oidcClientSecretArn": CLIENT_SECRET, "automation:oidcRoleMapFile": "/etc/automation/roles.yaml" };

const on = startEarly(evaluateStack("delivery", { config: ON, background: true }));
const trial = startEarly(evaluateStack("delivery", { config: TRIAL, background: true }));
const off = startEarly(evaluateStack("delivery", { background: true }));

const T = {
    sg: "aws:ec2/securityGroup:SecurityGroup", in: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    out: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", db: "aws:rds/instance:Instance", role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy", td: "aws:ecs/taskDefinition:TaskDefinition", service: "aws:ecs/service:Service",
    listener: "aws:lb/listener:Listener", tg: "aws:lb/targetGroup:TargetGroup", alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    secret: "aws:secretsmanager/secret:Secret", topicPolicy: "aws:sns/topicPolicy:TopicPolicy", bucket: "aws:s3/bucket:Bucket",
};
const secretArn = (name: string) => `arn:aws:secretsmanager:us-east-1:${MOCK_ACCOUNT}:secret:todobackend-automation/${name}-0123456789abcdef-AbCdEf`;
const TASK_ROLE = `arn:aws:iam::${MOCK_ACCOUNT}:role/todobackend-automation/todobackend-automation-service-task`;
const container = (e: Evaluated) => JSON.parse(String(e.one(T.td, "automation").inputs.containerDefinitions))[0];
const envOf = (e: Evaluated) => Object.fromEntries((container(e).environment as Array<{ name: string; value: string }>).map((x) => [x.name, x.value]));

describe("the automation service in the delivery stack", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let e: Evaluated;
    let t: Evaluated;
    before(async () => {
        [e, t] = await Promise.all([evaluateStack("delivery", { config: ON }), evaluateStack("delivery", { config: TRIAL })]);
    });

    it("is not deployed unless automation:enabled is true, and the stage roles then trust CodeBuild alone", async () => {
        const d = await evaluateStack("delivery");
        assert.deepEqual(d.resources.filter((r) => r.name.startsWith("automation")).map((r) => r.name), []);
        for (const role of ["builds-deploy-dev", "builds-preview-prod", "builds-deploy-prod"]) {
            assert.deepEqual(policyDoc(d.one(T.role, role).inputs.assumeRolePolicy).Statement.map((s) => s.Principal), [{ Service: "codebuild.amazonaws.com" }]);
        }
        assert.equal(d.outputs.automationUrl, undefined);
    });

    it("opens the load balancer's 443 and 80 only to the configured networks, the tasks only to the load balancer, the database only to the tasks", () => {
        const sg = (g: string) => `automation-${g}-id`;
        const rule = (type: string, name: string) => {
            const { tags: _tags, ...rest } = e.one(type, `automation-${name}`).inputs;
            return rest;
        };
        const cidrIn = (port: number, cidr: string, i: number) => ({ securityGroupId: sg("alb"), ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: cidr,
            description: port === 443 ? `Operators reach the service from ${cidr}` : `Redirect to HTTPS for ${cidr}`, _i: i });
        for (const [i, cidr] of ["203.0.113.0/24", "198.51.100.7/32"].entries()) {
            for (const port of [443, 80]) {
                const { _i, ...want } = cidrIn(port, cidr, i);
                assert.deepEqual(rule(T.in, `alb-in-${port}-${_i}`), want);
            }
        }
        assert.deepEqual(rule(T.in, "tasks-in-alb"), { securityGroupId: sg("tasks"), ipProtocol: "tcp", fromPort: 8080, toPort: 8080,
            referencedSecurityGroupId: sg("alb"), description: "The service accepts traffic from its load balancer only" });
        assert.deepEqual(rule(T.in, "database-in-tasks"), { securityGroupId: sg("database"), ipProtocol: "tcp", fromPort: 5432, toPort: 5432,
            referencedSecurityGroupId: sg("tasks"), description: "Postgres from the service's tasks only" });
        // Every ingress rule of the service's groups: nothing else reaches them, and no group has inline rules.
        const mine = new Set(["alb", "tasks", "database"].map(sg));
        const ingress = e.byType(T.in).filter((r) => mine.has(String(r.inputs.securityGroupId))).map((r) => r.name).sort();
        assert.deepEqual(ingress, ["automation-alb-in-443-0", "automation-alb-in-443-1", "automation-alb-in-80-0", "automation-alb-in-80-1",
            "automation-database-in-tasks", "automation-tasks-in-alb"]);
        for (const g of ["alb", "tasks", "database"]) assert.equal(e.one(T.sg, `automation-${g}`).inputs.ingress, undefined);
        const egress = e.byType(T.out).filter((r) => mine.has(String(r.inputs.securityGroupId))).map((r) => [r.name, r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId, r.inputs.fromPort]);
        assert.deepEqual(egress.sort(), [["automation-alb-out-tasks", sg("tasks"), 8080], ["automation-tasks-out-database", sg("database"), 5432],
            ["automation-tasks-out-https", "0.0.0.0/0", 443]]);
    });

    it("serves HTTPS on a TLS 1.3 policy with the configured certificate, redirects HTTP, and checks tasks by IP on /readyz", () => {
        const https = e.one(T.listener, "automation-lb-https").inputs;
        assert.deepEqual([https.protocol, https.port, https.sslPolicy, https.certificateArn], ["HTTPS", 443, TLS_POLICY, CERT]);
        assert.deepEqual(e.one(T.listener, "automation-lb-http").inputs.defaultActions,
            [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
        const tg = e.one(T.tg, "automation-lb-app").inputs;
        assert.deepEqual([tg.targetType, tg.port, tg.protocol, tg.healthCheck], ["ip", 8080, "HTTP",
            { path: "/readyz", matcher: "200", interval: 15, healthyThreshold: 2, unhealthyThreshold: 3 }]);
        assert.equal((e.one("aws:lb/loadBalancer:LoadBalancer", "automation-lb-alb").inputs.securityGroups as string[])[0], "automation-alb-id");
    });

    it("keeps its Postgres private, encrypted and Multi-AZ in production, with a generated password kept secret", () => {
        const db = e.one(T.db, "automation-db");
        const { password: _p, tags: _t, ...inputs } = db.inputs;
        assert.deepEqual(inputs, {
            identifier: "todobackend-automation-db", engine: "postgres", engineVersion: "16", instanceClass: "db.t4g.micro",
            allocatedStorage: 20, storageType: "gp3", storageEncrypted: true, dbName: "automation", username: "automation", port: 5432,
            dbSubnetGroupName: "todobackend-automation-db-subnets", vpcSecurityGroupIds: ["automation-database-id"], publiclyAccessible: false,
            multiAz: true, backupRetentionPeriod: 7, deletionProtection: true, skipFinalSnapshot: false,
            finalSnapshotIdentifier: "todobackend-automation-db-final", copyTagsToSnapshot: true, autoMinorVersionUpgrade: true,
        });
        assert.ok(e.isSecret(db, "password"), "the database password must be a Pulumi secret");
        assert.deepEqual(e.one("aws:rds/subnetGroup:SubnetGroup", "automation-db").inputs.subnetIds, ["subnet-private-0", "subnet-private-1"]);
        // The trial settings: no standby, a day of backups, deletable.
        assert.deepEqual(["multiAz", "backupRetentionPeriod", "deletionProtection", "skipFinalSnapshot"].map((k) => t.one(T.db, "automation-db").inputs[k]), [false, 1, false, true]);
    });

    it("gives the task its database URL without a password, and the password, the passphrase and the client secret only through ECS secrets", () => {
        const env = envOf(e);
        assert.equal(env.AUTOMATION_DATABASE_URL, "postgres://automation@todobackend-automation-db.abcdefghijkl.us-east-1.rds.amazonaws.com:5432/automation?sslmode=verify-full");
        assert.doesNotMatch(JSON.stringify(env), /AUTOMATION_DATABASE_PASSWORD|PULUMI_CONFIG_PASSPHRASE|OIDC_CLIENT_SECRET/);
        assert.deepEqual(container(e).secrets, [
            { name: "AUTOMATION_DATABASE_PASSWORD", valueFrom: secretArn("db-password") },
            { name: "PULUMI_CONFIG_PASSPHRASE", valueFrom: secretArn("passphrase") },
        ]);
        assert.ok(e.isSecret(e.one("aws:secretsmanager/secretVersion:SecretVersion", "automation-db-password"), "secretString"));
        assert.deepEqual(container(t).secrets.at(-1), { name: "AUTOMATION_OIDC_CLIENT_SECRET", valueFrom: CLIENT_SECRET });
        const trialEnv = envOf(t);
        assert.deepEqual([trialEnv.AUTOMATION_OIDC_ISSUER, trialEnv.AUTOMATION_OIDC_CLIENT_ID, trialEnv.AUTOMATION_OIDC_ROLE_MAP, trialEnv.AUTOMATION_PUBLIC_URL],
            ["https://login.example.com/realms/main", "automation", "/etc/automation/roles.yaml", "https://automation.example.com"]);
        assert.equal(env.AUTOMATION_OIDC_ISSUER, undefined, "sign-in is off unless configured");
        // ECS resolves exactly these secrets with the execution role; the task role reads none.
        const exec = policyDoc(e.one(T.rolePolicy, "automation-execution").inputs.policy);
        assert.deepEqual(exec.Statement.find((s) => s.Sid === "ReadServiceSecrets")!.Resource, [secretArn("db-password"), secretArn("passphrase")]);
        assert.deepEqual(policyDoc(t.one(T.rolePolicy, "automation-execution").inputs.policy).Statement.find((s) => s.Sid === "ReadServiceSecrets")!.Resource,
            [secretArn("db-password"), secretArn("passphrase"), CLIENT_SECRET]);
    });

    it("points the service at the versioned, KMS-encrypted, public-blocked, TLS-only state bucket, and names each stack's stage roles", () => {
        const env = envOf(e);
        const bucket = e.one(T.bucket, "pulumi-state");
        const bucketName = String(bucket.inputs.bucket ?? "pulumi-state-bucket");
        assert.equal(env.PULUMI_BACKEND_URL, `s3://${bucketName}?region=us-east-1`);
        assert.equal((e.one("aws:s3/bucketVersioning:BucketVersioning", "pulumi-state").inputs.versioningConfiguration as { status: string }).status, "Enabled");
        assert.deepEqual((e.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "pulumi-state").inputs.rules as { applyServerSideEncryptionByDefault: unknown }[])[0]
            .applyServerSideEncryptionByDefault, { sseAlgorithm: "aws:kms", kmsMasterKeyId: `arn:aws:kms:us-east-1:${MOCK_ACCOUNT}:key/pulumi` });
        const block = e.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pulumi-state").inputs;
        assert.deepEqual([block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets], [true, true, true, true]);
        assert.deepEqual(policyDoc(e.one("aws:s3/bucketPolicy:BucketPolicy", "pulumi-state").inputs.policy).Statement[0].Condition, { Bool: { "aws:SecureTransport": "false" } });
        const role = (n: string) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${n}`;
        // Read back by the service's own parser, as it will at start.
        assert.deepEqual(parseStackRoles(env.AUTOMATION_STACK_ROLES), {
            dev: { deploy: role("builds-deploy-dev") },
            prod: { deploy: role("builds-deploy-prod"), preview: role("builds-preview-prod") },
        });
        assert.deepEqual([env.PORT, env.HOST, env.NODE_EXTRA_CA_CERTS], ["8080", "0.0.0.0", "/etc/ssl/certs/rds-global-bundle.pem"]);
    });

    it("lets the task role assume only the stage roles and only list, read and delete the lock objects of the state bucket, decrypting them through S3", () => {
        const state = "arn:aws:s3:::pulumi-state-bucket";
        assert.deepEqual(policyDoc(e.one(T.rolePolicy, "automation-task").inputs.policy).Statement, [
            { Sid: "AssumeStackRoles", Effect: "Allow", Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
                Resource: ["builds-deploy-dev", "builds-deploy-prod", "builds-preview-prod"].map((n) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${n}`) },
            { Sid: "StateLocksList", Effect: "Allow", Action: ["s3:ListBucket"], Resource: state, Condition: { StringLike: { "s3:prefix": [".pulumi/locks/*"] } } },
            { Sid: "StateLocks", Effect: "Allow", Action: ["s3:GetObject", "s3:DeleteObject"], Resource: `${state}/.pulumi/locks/*` },
            { Sid: "StateKeyThroughS3", Effect: "Allow", Action: ["kms:Decrypt"], Resource: `arn:aws:kms:us-east-1:${MOCK_ACCOUNT}:key/pulumi`,
                Condition: { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } } },
        ]);
        assert.equal(e.one(T.role, "automation-task").inputs.name, "todobackend-automation-service-task");
        assert.equal(e.outputs.automationTaskRoleArn, TASK_ROLE);
    });

    it("makes the three stage roles trust the task role (by its ARN), and the app build role still only CodeBuild", () => {
        for (const role of ["builds-deploy-dev", "builds-preview-prod", "builds-deploy-prod"]) {
            assert.deepEqual(policyDoc(e.one(T.role, role).inputs.assumeRolePolicy).Statement, [
                { Effect: "Allow", Principal: { Service: "codebuild.amazonaws.com" }, Action: "sts:AssumeRole" },
                { Sid: "AutomationService", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${MOCK_ACCOUNT}:root` }, Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
                    Condition: { ArnEquals: { "aws:PrincipalArn": TASK_ROLE } } },
            ]);
        }
        assert.deepEqual(policyDoc(e.one(T.role, "builds-app").inputs.assumeRolePolicy).Statement.map((s) => s.Principal), [{ Service: "codebuild.amazonaws.com" }]);
    });

    it("runs the tasks on Fargate in the private subnets without public addresses, behind the target group", () => {
        const s = e.one(T.service, "automation").inputs;
        assert.deepEqual([s.launchType, s.desiredCount, s.networkConfiguration], ["FARGATE", 2,
            { subnets: ["subnet-private-0", "subnet-private-1"], securityGroups: ["automation-tasks-id"], assignPublicIp: false }]);
        assert.deepEqual(s.loadBalancers, [{ targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:${MOCK_ACCOUNT}:targetgroup/todobackend-automation-app/0123456789abcdef`,
            containerName: "automation", containerPort: 8080 }]);
        assert.deepEqual(s.deploymentCircuitBreaker, { enable: true, rollback: true });
        const td = e.one(T.td, "automation").inputs;
        assert.deepEqual([td.requiresCompatibilities, td.networkMode, td.cpu, td.memory], [["FARGATE"], "awsvpc", "1024", "4096"]);
        assert.equal(container(e).image, `${MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/todobackend-automation:1.0.0`);
        assert.equal(container(t).image, "ghcr.io/example/automation:1.2.3");
        assert.equal(e.one("aws:ecr/repository:Repository", "automation").inputs.imageTagMutability, "IMMUTABLE");
        assert.deepEqual(t.byType("aws:ecr/repository:Repository").filter((r) => r.name === "automation"), [], "an image from elsewhere needs no repository");
        assert.deepEqual((t.one(T.service, "automation").inputs.networkConfiguration as { subnets: string[] }).subnets, ["subnet-0b1", "subnet-0b2"]);
        assert.deepEqual(t.byType("awsx:ec2:Vpc").map((r) => r.name), [], "an existing VPC is used as given");
    });

    it("keeps its logs 30 days and sends unhealthy-task, 5xx, CPU, memory and database alarms to the notifications topic, which lets them publish", () => {
        assert.equal(e.one("aws:cloudwatch/logGroup:LogGroup", "automation").inputs.retentionInDays, 30);
        assert.deepEqual(container(e).logConfiguration.options["awslogs-group"], "/ecs/todobackend-automation");
        const topic = `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:todobackend-pipeline-notifications`;
        const alarms = e.byType(T.alarm).filter((a) => a.name.startsWith("automation-"));
        assert.deepEqual(alarms.map((a) => a.inputs.metricName).sort(), ["CPUUtilization", "CPUUtilization", "FreeStorageSpace", "HTTPCode_ELB_5XX_Count",
            "HTTPCode_Target_5XX_Count", "HealthyHostCount", "MemoryUtilization", "UnHealthyHostCount"]);
        for (const a of alarms) assert.deepEqual([a.inputs.alarmActions, a.inputs.okActions], [[topic], [topic]], a.name);
        assert.deepEqual(e.one(T.alarm, "automation-unhealthy-tasks").inputs.dimensions, { LoadBalancer: "app/todobackend-automation-alb/0123456789abcdef",
            TargetGroup: "targetgroup/todobackend-automation-app/0123456789abcdef" });
        assert.deepEqual(e.one(T.alarm, "automation-memory").inputs.dimensions, { ClusterName: "todobackend-automation", ServiceName: "todobackend-automation" });
        const statement = policyDoc(e.one(T.topicPolicy, "notifications").inputs.policy).Statement.find((s) => s.Sid === "Alarms");
        assert.deepEqual(statement, { Sid: "Alarms", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["sns:Publish"], Resource: topic,
            Condition: { ArnLike: { "aws:SourceArn": [`arn:aws:cloudwatch:us-east-1:${MOCK_ACCOUNT}:alarm:todobackend-automation-*`] }, StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT } } });
    });
});

describe("the automation service's settings", () => {
    it("is off without automation:enabled, whatever else is set", () => {
        assert.equal(validateAutomationConfig({}), undefined);
        assert.equal(validateAutomationConfig({ enabled: "false", certificateArn: CERT }), undefined);
    });

    it("fails naming the key and the command when a required key is missing", () => {
        assert.throws(() => validateAutomationConfig({ enabled: "true" }), /automation:certificateArn is required with automation:enabled .*Fix: pulumi config set automation:certificateArn/);
        const base = { enabled: "true", certificateArn: CERT, ingressCidrs: "203.0.113.0/24", publicUrl: "https://a.example.com" };
        assert.throws(() => validateAutomationConfig(base), /automation:image or automation:imageTag is required/);
        assert.throws(() => validateAutomationConfig({ ...base, image: "r.example.com/a:1", imageTag: "1" }), /automation:imageTag conflicts with automation:image/);
    });

    it("fails on a key it does not know, listing the known ones", () => {
        assert.throws(() => validateAutomationConfig({ enabled: "true", certificatArn: CERT }), /automation:certificatArn is not a key .*known keys: enabled, certificateArn/);
    });

    it("fails on a single-AZ database or a single task in production, and on half an existing network", () => {
        const base = { enabled: "true", certificateArn: CERT, ingressCidrs: "203.0.113.0/24", publicUrl: "https://a.example.com", imageTag: "1" };
        assert.throws(() => validateAutomationConfig({ ...base, dbMultiAz: "false" }), /automation:dbMultiAz is false with automation:production/);
        assert.throws(() => validateAutomationConfig({ ...base, desiredCount: "1" }), /automation:desiredCount is 1 with automation:production/);
        assert.equal(validateAutomationConfig({ ...base, production: "false", dbMultiAz: "false", desiredCount: "1" })!.desiredCount, 1);
        assert.throws(() => validateAutomationConfig({ ...base, vpcId: "vpc-0abc" }), /automation:publicSubnetIds is required when an existing VPC is used/);
        assert.throws(() => validateAutomationConfig({ ...base, ingressCidrs: "everyone" }), /automation:ingressCidrs "everyone" must list IPv4 CIDRs/);
        assert.throws(() => validateAutomationConfig({ ...base, publicUrl: "http://a.example.com" }), /automation:publicUrl "http:\/\/a.example.com" is not an https URL/);
    });

    it("chooses Multi-AZ, backups, deletion protection and a final snapshot in production, and a standby when asked outside it", () => {
        assert.deepEqual(automationDatabaseSettings(true), { multiAz: true, deletionProtection: true, backupRetentionDays: 7, finalSnapshot: true });
        assert.deepEqual(automationDatabaseSettings(false), { multiAz: false, deletionProtection: false, backupRetentionDays: 1, finalSnapshot: false });
        assert.equal(automationDatabaseSettings(false, true).multiAz, true);
    });

    it("opens nothing to the internet on the load balancer unless 0.0.0.0/0 is configured", () => {
        const rules = automationSecurityRules(["198.51.100.0/24"]);
        assert.deepEqual(rules.filter((r) => r.group === "alb" && r.direction === "ingress").map((r) => "cidr" in r.peer && r.peer.cidr), ["198.51.100.0/24", "198.51.100.0/24"]);
        assert.deepEqual(rules.filter((r) => r.direction === "ingress" && "cidr" in r.peer && r.peer.cidr === "0.0.0.0/0"), []);
    });

    it("writes AUTOMATION_STACK_ROLES in both forms the service reads", () => {
        const roles = { dev: { deploy: "arn:aws:iam::123456789012:role/d" }, prod: { deploy: "arn:aws:iam::123456789012:role/p", preview: "arn:aws:iam::123456789012:role/r" } };
        assert.equal(stackRolesJson(roles), '{"dev":"arn:aws:iam::123456789012:role/d","prod":{"deploy":"arn:aws:iam::123456789012:role/p","preview":"arn:aws:iam::123456789012:role/r"}}');
        assert.deepEqual(parseStackRoles(stackRolesJson(roles)), roles);
        assert.equal(automationTaskRoleArn("123456789012", "todobackend-automation"), TASK_ROLE.replace(MOCK_ACCOUNT, "123456789012"));
    });

    it("fails on Fargate sizes AWS does not offer and on component args the service could not use", () => {
        assert.throws(() => validateFargateSize(1024, 1024), /`memoryMiB` 1024 does not go with 1024 CPU units on Fargate. Fix: pass a multiple of 1024 from 2048 to 8192/);
        assert.throws(() => validateFargateSize(300, 1024), /`cpuUnits` 300 is not a Fargate size/);
        validateFargateSize(256, 512);
        const args: AutomationServiceArgs = { namePrefix: "todobackend-automation", vpcId: "vpc-1", publicSubnetIds: [], privateSubnetIds: [], certificateArn: CERT,
            ingressCidrs: ["203.0.113.0/24"], image: "r/a:1", publicUrl: "https://a.example.com", stackRoles: {}, backendUrl: "s3://b", stateBucketArn: "b", stateKeyArn: "k" };
        validateAutomationServiceArgs(args);
        assert.throws(() => validateAutomationServiceArgs({ ...args, ingressCidrs: [] }), /`ingressCidrs` is empty/);
        assert.throws(() => validateAutomationServiceArgs({ ...args, namePrefix: "a-name-prefix-longer-than-28-chars" }), /`namePrefix` .* is longer than 28/);
        assert.throws(() => validateAutomationServiceArgs({ ...args, imageTag: "1" }), /exactly one of `image` .* and `imageTag`/);
        assert.throws(() => validateAutomationServiceArgs({ ...args, publicUrl: "http://a.example.com" }), /`publicUrl` .* must be an https URL/);
    });
});
