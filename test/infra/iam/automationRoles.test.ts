// The automation service's two roles (infra/automationService.ts, automation:enabled in the delivery
// stack) under a real IAM policy evaluator: what the service does with its own identity (assume a
// stack's role per job, read and delete the CLI's lock objects in the state bucket), what ECS does
// with the execution role (pull, log, resolve the container's secrets), and what neither may do,
// attacked with near-misses: a role not in AUTOMATION_STACK_ROLES, a bucket whose name starts like
// the state bucket's, the state key used directly instead of through S3.
import * as assert from "node:assert/strict";
import { EVALUATION_WAIT_MS, Evaluated, evaluateStack, policyDoc, startEarly } from "../harness";
import { MOCK_ACCOUNT } from "../../../scripts/offline/mocks";
import { parseStackRoles } from "../../../automation/pulumi/stackRoles";
import { automationExecutionPolicy } from "../../../infra/lib/automation";
import { mismatches, Policies, REGION, Request } from "./requests";

const CLIENT_SECRET = `arn:aws:secretsmanager:${REGION}:${MOCK_ACCOUNT}:secret:automation/oidc-AbCdEf`;
const CONFIG = { "automation:enabled": "true", "automation:certificateArn": `arn:aws:acm:${REGION}:${MOCK_ACCOUNT}:certificate/abc`,
    "automation:ingressCidrs": "203.0.113.0/24", "automation:publicUrl": "https://automation.example.com", "automation:imageTag": "1.0.0",
    "automation:oidcIssuer": "https://login.example.com/realms/main", "automation:oidcClientId": "automation",
    "automation:oidcClientSecretArn": CLIENT_SECRET, "automation:oidcRoleMapFile": "/etc/automation/roles.yaml" };
const T = { role: "aws:iam/role:Role", rolePolicy: "aws:iam/rolePolicy:RolePolicy", td: "aws:ecs/taskDefinition:TaskDefinition" };
/** An identity policy allowing everything: any other role of the account at its most powerful. */
const ALLOW_ALL = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
const role = (path: string) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${path}`;
const TASK_ROLE = role("todobackend-automation/todobackend-automation-service-task");
const EXECUTION_ROLE = role("todobackend-automation/todobackend-automation-service-execution");
const stateKey = (name = "pulumi") => `arn:aws:kms:${REGION}:${MOCK_ACCOUNT}:key/${name}`;
/** A lock the CLI writes: `.pulumi/locks/organization/<project>/<stack>/<uuid>.json`. */
const LOCK = ".pulumi/locks/organization/todobackend/prod/6f1c2a4e-0b7d-4c1e-9a55-2f4d8c3b1e90.json";

const delivery = startEarly(evaluateStack("delivery", { config: CONFIG, background: true }));

const at = (origin: string) => (action: string, arn: string, context: Record<string, string | string[]> = {}): Request =>
    ({ origin, step: "read", action, arn, context });

describe("the automation service's roles under a real IAM policy evaluator", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let e: Evaluated;
    let task: Policies;
    let execution: Policies;
    let env: Record<string, string>;
    let container: { image: string; secrets: Array<{ name: string; valueFrom: string }>; logConfiguration: { options: Record<string, string> } };
    /** The state bucket, as PULUMI_BACKEND_URL names it to the service. */
    let bucket: string;
    let stackRoles: string[];
    before(async () => {
        e = await delivery;
        const policyOf = (name: string) => policyDoc(e.one(T.rolePolicy, name).inputs.policy);
        task = { identity: [policyOf("automation-task")] };
        execution = { identity: [policyOf("automation-execution")] };
        // Neither role has a boundary that could hide a hole in its policy from these tests.
        assert.deepEqual(["automation-task", "automation-execution"].map((r) => e.one(T.role, r).inputs.permissionsBoundary), [undefined, undefined]);
        const td = e.one(T.td, "automation").inputs;
        assert.deepEqual([td.taskRoleArn, td.executionRoleArn], [TASK_ROLE, EXECUTION_ROLE]);
        container = JSON.parse(String(td.containerDefinitions))[0];
        env = Object.fromEntries((container as unknown as { environment: Array<{ name: string; value: string }> }).environment.map((x) => [x.name, x.value]));
        bucket = `arn:aws:s3:::${/^s3:\/\/([^/?]+)/.exec(env.PULUMI_BACKEND_URL)![1]}`;
        stackRoles = Object.values(parseStackRoles(env.AUTOMATION_STACK_ROLES)).flatMap((r) => [r.deploy, ...(r.preview ? [r.preview] : [])]);
    });

    describe("the task role (the service's own identity)", () => {
        it("assumes each role AUTOMATION_STACK_ROLES names, as the service does per job with the job as source identity", async () => {
            assert.deepEqual(stackRoles.sort(), ["builds-deploy-dev", "builds-deploy-prod", "builds-preview-prod"].map(role));
            const r = at("a job's credentials");
            assert.deepEqual(await mismatches(task, stackRoles.flatMap((arn) => [r("sts:AssumeRole", arn), r("sts:SetSourceIdentity", arn)]), "Allowed"), []);
        });

        it("assumes no role the map does not name: not the app build's, not one whose name starts like a stage role's, not its own, not another account's", async () => {
            const r = at("assume a role not in AUTOMATION_STACK_ROLES");
            const others = [role("builds-app"), role("builds-deploy-dev-admin"), role("builds-deploy-prod2"), role("builds-preview-prod/x"),
                TASK_ROLE, EXECUTION_ROLE, role("OrganizationAccountAccessRole"), role("todobackend-dev/todobackend-dev-app-task"),
                "arn:aws:iam::210987654321:role/builds-deploy-prod"];
            const denied = await mismatches(task, others.map((arn) => r("sts:AssumeRole", arn)), (d) => d !== "Allowed");
            assert.deepEqual(denied, []);
            // Nor tags a session with what a stage role's policies could key on.
            assert.deepEqual(await mismatches(task, stackRoles.map((arn) => r("sts:TagSession", arn)), (d) => d !== "Allowed"), []);
        });

        it("is the only role of the account a stage role's trust lets in besides CodeBuild: another role allowed everything is refused", async () => {
            for (const name of ["builds-deploy-dev", "builds-deploy-prod", "builds-preview-prod"]) {
                const trust = policyDoc(e.one(T.role, name).inputs.assumeRolePolicy);
                const assume = (principal: string) => at(`${principal} assumes ${name}`)("sts:AssumeRole", role(name), { "aws:PrincipalArn": principal });
                assert.deepEqual(await mismatches({ ...task, resource: trust }, [assume(TASK_ROLE)], "Allowed", TASK_ROLE), [], name);
                for (const other of [EXECUTION_ROLE, role("builds-app"), role("todobackend-automation/todobackend-automation-service-taskx")]) {
                    assert.deepEqual(await mismatches({ identity: [ALLOW_ALL], resource: trust }, [assume(other)], (d) => d !== "Allowed", other), [], `${other} → ${name}`);
                }
            }
        });

        it("lists, reads and deletes the CLI's lock objects in the state bucket, decrypting them through S3 with the state key", async () => {
            const r = at("lock inspection and admin unlock");
            const requests = [
                r("s3:ListBucket", bucket, { "s3:prefix": ".pulumi/locks/organization/todobackend/prod/" }),
                r("s3:GetObject", `${bucket}/${LOCK}`),
                r("s3:DeleteObject", `${bucket}/${LOCK}`),
                // S3 decrypts the (SSE-KMS) object it serves with the caller's rights.
                r("kms:Decrypt", stateKey(), { "kms:ViaService": `s3.${REGION}.amazonaws.com` }),
            ];
            assert.deepEqual(await mismatches(task, requests, "Allowed"), []);
        });

        it("reads no checkpoint and writes nothing but a lock's removal: no state object, no lock forged, no version purged, no bucket setting", async () => {
            const r = at("the state beyond the locks");
            const checkpoint = `${bucket}/.pulumi/stacks/todobackend/prod.json`;
            const requests = [
                r("s3:GetObject", checkpoint), r("s3:PutObject", checkpoint), r("s3:DeleteObject", checkpoint), r("s3:GetObject", `${bucket}/.pulumi/meta.yaml`),
                r("s3:GetObject", `${bucket}/.pulumi/history/todobackend/prod/prod-1733500000000000000.history.json`),
                r("s3:ListBucket", bucket), r("s3:ListBucket", bucket, { "s3:prefix": ".pulumi/stacks/" }), r("s3:ListBucket", bucket, { "s3:prefix": "" }),
                // A forged lock would stop every deployment of the stack; deleting old versions would erase the state's history.
                r("s3:PutObject", `${bucket}/${LOCK}`), r("s3:DeleteObjectVersion", `${bucket}/${LOCK}`), r("s3:GetObjectVersion", `${bucket}/${LOCK}`),
                r("s3:DeleteBucket", bucket), r("s3:PutBucketPolicy", bucket), r("s3:PutBucketVersioning", bucket), r("s3:PutLifecycleConfiguration", bucket),
            ];
            assert.deepEqual(await mismatches(task, requests, (d) => d !== "Allowed"), []);
        });

        it("reaches no other bucket, not even one whose name starts with the state bucket's", async () => {
            const r = at("another bucket");
            const lookalikes = [`${bucket}-copy`, `${bucket}2`, bucket.slice(0, -1), "arn:aws:s3:::artifacts-bucket"];
            assert.ok(lookalikes.every((b) => b !== bucket));
            const requests = lookalikes.flatMap((b) => [
                r("s3:ListBucket", b, { "s3:prefix": ".pulumi/locks/" }), r("s3:GetObject", `${b}/${LOCK}`), r("s3:DeleteObject", `${b}/${LOCK}`),
            ]);
            assert.deepEqual(await mismatches(task, requests, (d) => d !== "Allowed"), []);
        });

        it("cannot use the state key itself: not directly (the delivery stack's secrets), not through another service or region, not to encrypt", async () => {
            const r = at("the state key outside S3's reads of the state bucket");
            const s3 = `s3.${REGION}.amazonaws.com`;
            const requests = [
                r("kms:Decrypt", stateKey()),
                r("kms:Decrypt", stateKey(), { "kms:ViaService": `secretsmanager.${REGION}.amazonaws.com` }),
                r("kms:Decrypt", stateKey(), { "kms:ViaService": "s3.eu-west-1.amazonaws.com" }),
                r("kms:Decrypt", stateKey(), { "kms:ViaService": `s3-object-lambda.${REGION}.amazonaws.com` }),
                // Writing an object would need a data key: the role writes none.
                r("kms:GenerateDataKey", stateKey(), { "kms:ViaService": s3 }), r("kms:Encrypt", stateKey(), { "kms:ViaService": s3 }),
                r("kms:Encrypt", stateKey()), r("kms:ReEncryptFrom", stateKey()), r("kms:CreateGrant", stateKey()), r("kms:PutKeyPolicy", stateKey()),
                r("kms:DescribeKey", stateKey()),
            ];
            // And no environment's secrets provider, however asked.
            const envKeys = e.byType("aws:kms/key:Key").map((k) => stateKey(k.name)).filter((k) => k !== stateKey());
            assert.equal(envKeys.length, 2, "dev's and prod's secrets providers");
            for (const k of envKeys) requests.push(r("kms:Decrypt", k), r("kms:Decrypt", k, { "kms:ViaService": s3 }));
            assert.deepEqual(await mismatches(task, requests, (d) => d !== "Allowed"), []);
        });

        it("has no IAM, no ECS and no secret of its own: it cannot widen its rights, start a task anywhere or read what ECS gives it", async () => {
            const r = at("escalation");
            const ownSecrets = container.secrets.map((s) => s.valueFrom);
            assert.equal(ownSecrets.length, 3, "database password, passphrase, OIDC client secret");
            const requests = [
                r("iam:PutRolePolicy", TASK_ROLE), r("iam:AttachRolePolicy", TASK_ROLE), r("iam:UpdateAssumeRolePolicy", role("builds-deploy-prod")),
                r("iam:CreateRole", role("todobackend-automation/x")), r("iam:PassRole", role("builds-deploy-prod")), r("iam:CreateAccessKey", `arn:aws:iam::${MOCK_ACCOUNT}:user/admin`),
                r("iam:CreatePolicyVersion", `arn:aws:iam::${MOCK_ACCOUNT}:policy/todobackend-builds-boundary-prod`),
                r("ecs:RunTask", `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task-definition/todobackend-automation:1`),
                r("ecs:RunTask", `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task-definition/todobackend-prod-migrate:1`),
                r("ecs:UpdateService", `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:service/todobackend-automation/todobackend-automation`),
                r("ecs:ExecuteCommand", `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task/todobackend-automation/0123`),
                ...ownSecrets.map((arn) => r("secretsmanager:GetSecretValue", arn)),
                r("secretsmanager:GetSecretValue", `arn:aws:secretsmanager:${REGION}:${MOCK_ACCOUNT}:secret:rds!db-todobackend-prod-db-AbCdEf`),
                r("ssm:GetParameter", `arn:aws:ssm:${REGION}:${MOCK_ACCOUNT}:parameter/todobackend/prod/django-secret`),
            ];
            assert.deepEqual(await mismatches(task, requests, (d) => d !== "Allowed"), []);
        });
    });

    describe("the execution role (ECS starting the task)", () => {
        it("pulls the service's image, writes its log group and resolves exactly the container's secrets", async () => {
            const r = at("ECS starts the task");
            const repo = /^(\d+)\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)/.exec(container.image)!;
            assert.ok(repo, container.image);
            const group = container.logConfiguration.options["awslogs-group"];
            const requests = [
                r("ecr:GetAuthorizationToken", "*"),
                ...["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"].map((a) => r(a, `arn:aws:ecr:${repo[2]}:${repo[1]}:repository/${repo[3]}`)),
                ...["logs:CreateLogStream", "logs:PutLogEvents"].map((a) => r(a, `arn:aws:logs:${REGION}:${MOCK_ACCOUNT}:log-group:${group}:log-stream:automation/automation/0123`)),
                ...container.secrets.map((s) => r("secretsmanager:GetSecretValue", s.valueFrom)),
            ];
            assert.ok(container.secrets.some((s) => s.valueFrom === CLIENT_SECRET));
            assert.deepEqual(await mismatches(execution, requests, "Allowed"), []);
        });

        it("reads no other secret, not one named like its own; writes no other log group; assumes no stack role; opens no state", async () => {
            const r = at("the execution role beyond starting the task");
            const own = container.secrets.find((s) => s.name === "AUTOMATION_DATABASE_PASSWORD")!.valueFrom;
            const requests = [
                r("secretsmanager:GetSecretValue", own.replace(/-[A-Za-z0-9]{6}$/, "-ZzZzZz")),
                r("secretsmanager:GetSecretValue", `${own.replace(/-[A-Za-z0-9]{6}$/, "")}x-AbCdEf`),
                r("secretsmanager:GetSecretValue", `arn:aws:secretsmanager:${REGION}:${MOCK_ACCOUNT}:secret:rds!db-todobackend-automation-db-AbCdEf`),
                r("secretsmanager:GetSecretValue", `arn:aws:secretsmanager:${REGION}:${MOCK_ACCOUNT}:secret:todobackend-prod/django-secret-AbCdEf`),
                r("secretsmanager:PutSecretValue", own),
                ...["logs:CreateLogStream", "logs:PutLogEvents"].map((a) => r(a, `arn:aws:logs:${REGION}:${MOCK_ACCOUNT}:log-group:/ecs/todobackend-prod:log-stream:x`)),
                r("logs:PutLogEvents", `arn:aws:logs:${REGION}:${MOCK_ACCOUNT}:log-group:/ecs/todobackend-automation-x:log-stream:x`),
                ...stackRoles.map((arn) => r("sts:AssumeRole", arn)),
                r("s3:GetObject", `${bucket}/${LOCK}`), r("kms:Decrypt", stateKey(), { "kms:ViaService": `s3.${REGION}.amazonaws.com` }),
                r("iam:PassRole", TASK_ROLE), r("ecs:RunTask", `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task-definition/todobackend-automation:1`),
            ];
            assert.deepEqual(await mismatches(execution, requests, (d) => d !== "Allowed"), []);
        });

        it("pulls from the service's repository only: not the deploy image's, the app's, or a repository named like its own", async () => {
            const r = at("pull another image");
            const repo = (name: string) => `arn:aws:ecr:${REGION}:${MOCK_ACCOUNT}:repository/${name}`;
            const others = [repo("docker-in-aws/todobackend-deploy"), repo("docker-in-aws/todobackend"), repo("todobackend-automation-x"), repo("todobackend-automation/x"),
                `arn:aws:ecr:${REGION}:210987654321:repository/todobackend-automation`];
            const requests = others.flatMap((arn) => ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"].map((a) => r(a, arn)));
            assert.deepEqual(await mismatches(execution, requests, (d) => d !== "Allowed"), []);
            // An image from another registry gets no ECR rights at all.
            const elsewhere = automationExecutionPolicy({ logGroupArn: "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/x", secretArns: [CLIENT_SECRET], image: "ghcr.io/example/automation:1.2.3" });
            assert.deepEqual(elsewhere.Statement.flatMap((st) => st.Action).filter((a) => a.startsWith("ecr:")), []);
        });
    });
});
