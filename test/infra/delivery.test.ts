// The delivery stack as the program declares it: each evaluation runs the real program in a fresh
// process under Pulumi's mocks (test/infra/harness.ts), so no mocks leak into other test files.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EVALUATION_WAIT_MS, Evaluated, evaluateProgram, evaluateStack, policyDoc, startEarly } from "./harness";
import { ECS_AGENT_CLUSTER_ACTIONS, ECS_AGENT_INSTANCE_ACTIONS, environmentBoundaryPolicy, SSM_AGENT_ACTIONS } from "../../infra/lib/boundaryIam";
import { appBuildPolicy, codebuildPullRepositoryPolicy, PolicyDocument } from "../../infra/lib/deliveryIam";
import { BOUNDED_ROLE_WRITES, environmentDeployPolicy, environmentPreviewPolicy, EnvironmentRoleArgs } from "../../infra/lib/environmentDeployIam";
import { appExecutionPolicy, appTaskPolicy, migrationRunnerPolicy } from "../../infra/lib/appIam";
import { xrayExecutionPolicy, xrayTaskPolicy } from "../../infra/lib/xrayIam";
import { appBuildProjectName } from "../../infra/lib/deliveryNaming";
import { pipelineStages } from "../../infra/lib/pipelineStages";
import { validateDeliveryConfig } from "../../infra/config/delivery";

const ACCOUNT = "123456789012";
const arn = (service: string, name: string) => `arn:aws:${service}:us-east-1:${ACCOUNT}:${name}`;
/** S3 ARNs carry no region or account; the mocks name a bucket `<resource name>-bucket`. */
const s3 = (name: string) => `arn:aws:s3:::${name}-bucket`;
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:approvals`;
const iamArn = (resource: string) => `arn:aws:iam::${ACCOUNT}:${resource}`;
const BOUNDARIES = { dev: iamArn("policy/todobackend-dev-boundary"), prod: iamArn("policy/todobackend-prod-boundary") };
const T = {
    repo: "aws:ecr/repository:Repository", lifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    repoPolicy: "aws:ecr/repositoryPolicy:RepositoryPolicy", project: "aws:codebuild/project:Project",
    role: "aws:iam/role:Role", rolePolicy: "aws:iam/rolePolicy:RolePolicy", pipeline: "aws:codepipeline/pipeline:Pipeline",
    bucket: "aws:s3/bucket:Bucket", pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    bucketLifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
};
const TAGS = { ManagedBy: "pulumi", Project: "todobackend", Stack: "delivery", Environment: "delivery" };

// Started as mocha loads this file (see startEarly), awaited in `before`.
const stacks = startEarly(Promise.all([
    evaluateStack("delivery", { config: { appRepository: "acme/todobackend", deploymentRepository: "acme/todobackend-aws",
        branch: "main", approvalTopicArn: TOPIC } }),
    // As committed (no topic), with update plans switched off.
    evaluateStack("delivery", { config: { useUpdatePlan: "false" } }),
    evaluateStack("dev"),
]));
const refusals = startEarly(evaluateProgram(path.join(__dirname, "programs", "deliveryRefusals.ts"), "refusals"));

describe("delivery stack", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let d: Evaluated;
    let committed: Evaluated;
    let dev: Evaluated;
    before(async () => {
        [d, committed, dev] = await stacks;
    });
    const inputs = (type: string, name: string) => d.one(type, name).inputs as Record<string, any>;

    it("exports the repository URLs, pipeline, connection with its activation step, state bucket and KMS alias", () => {
        assert.deepEqual(d.outputs, {
            appRepositoryUrl: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/todobackend`,
            buildImageRepositoryUrl: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/codebuild`,
            xrayRepositoryUrl: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/xray`,
            xrayImage: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/xray@sha256:abc`,
            pipelineName: "todobackend",
            connectionArn: `arn:aws:codestar-connections:us-east-1:${ACCOUNT}:connection/todobackend-source`,
            connectionActivation: d.outputs.connectionActivation,
            // With the region: the CLI finds none in the stack, and without AWS_REGION both would fail.
            stateBucketUrl: "s3://pulumi-state-bucket?region=us-east-1",
            secretsProvider: "awskms://alias/todobackend-pulumi?region=us-east-1",
            secretsProviders: { dev: "awskms://alias/todobackend-dev-pulumi?region=us-east-1", prod: "awskms://alias/todobackend-prod-pulumi?region=us-east-1" },
            kmsKeyAlias: "alias/todobackend-pulumi",
            artifactBucketName: "artifacts-bucket",
            environmentRoleBoundaryArns: BOUNDARIES,
            notificationTopicArn: arn("sns", "todobackend-pipeline-notifications"),
        });
        assert.match(String(d.outputs.connectionActivation), /PENDING.*Update pending connection/);
    });

    it("puts the base tags on every taggable resource it declares", () => {
        const taggable = [T.repo, T.bucket, T.role, T.project, T.pipeline, "aws:kms/key:Key", "aws:codestarconnections/connection:Connection", "aws:iam/policy:Policy"];
        const resources = d.resources.filter((r) => taggable.includes(r.type));
        assert.equal(resources.length, 22);
        for (const r of resources) assert.deepEqual(r.inputs.tags, TAGS, `${r.type} ${r.name}`);
    });

    describe("registry", () => {
        it("scans every repository on push and encrypts it", () => {
            const repos = d.byType(T.repo);
            assert.deepEqual(repos.map((r) => r.inputs.name).sort(), ["docker-in-aws/codebuild", "docker-in-aws/pulumi", "docker-in-aws/todobackend", "docker-in-aws/xray"]);
            for (const r of repos) {
                assert.deepEqual(r.inputs.imageScanningConfiguration, { scanOnPush: true });
                assert.deepEqual(r.inputs.encryptionConfigurations, [{ encryptionType: "AES256" }]);
            }
        });

        it("makes app tags immutable except the `latest` the app Makefile moves on every publish", () => {
            const app = inputs(T.repo, "registry-app");
            assert.equal(app.imageTagMutability, "IMMUTABLE_WITH_EXCLUSION");
            assert.deepEqual(app.imageTagMutabilityExclusionFilters, [{ filter: "latest", filterType: "WILDCARD" }]);
            assert.equal(inputs(T.repo, "registry-buildImage").imageTagMutability, "MUTABLE");
        });

        it("expires untagged app images after 7 days with the book's rule, and keeps the last 200 app images (every build pushes one)", () => {
            const l = inputs(T.lifecycle, "registry-app");
            assert.equal(l.repository, "docker-in-aws/todobackend");
            assert.deepEqual(JSON.parse(l.policy), { rules: [{ rulePriority: 10, description: "Untagged images",
                selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 7 }, action: { type: "expire" } },
            { rulePriority: 20, description: "Keep last 200 images",
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 200 }, action: { type: "expire" } }] });
        });

        it("protects the repositories: deleting one from Pulumi is refused", () => {
            assert.deepEqual(d.byType(T.repo).map((r) => [r.name, r.protect]).sort(), [["registry-app", true], ["registry-buildImage", true], ["registry-deploy", true], ["registry-xray", true]]);
        });

        it("bounds the build, X-Ray and deploy image repositories to their last 10 images", () => {
            for (const [name, repo] of [["registry-buildImage", "docker-in-aws/codebuild"], ["registry-xray", "docker-in-aws/xray"], ["registry-deploy", "docker-in-aws/pulumi"]]) {
                const l = inputs(T.lifecycle, name);
                assert.equal(l.repository, repo);
                assert.deepEqual(JSON.parse(l.policy).rules, [{ rulePriority: 10, description: "Keep last 10 images",
                    selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 }, action: { type: "expire" } }]);
            }
        });

        it("lets only this account's app build project pull the build image through CodeBuild's identity", () => {
            const p = inputs(T.repoPolicy, "registry-buildImage");
            assert.equal(p.repository, "docker-in-aws/codebuild");
            assert.deepEqual(policyDoc(p.policy), { Version: "2012-10-17", Statement: [{ Sid: "CodeBuildAccess", Effect: "Allow",
                Principal: { Service: "codebuild.amazonaws.com" },
                Action: ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability"],
                Condition: { ArnLike: { "aws:SourceArn": `arn:aws:codebuild:us-east-1:${ACCOUNT}:project/todobackend-build` },
                    StringEquals: { "aws:SourceAccount": ACCOUNT } } }] });
            assert.equal(d.byType(T.repoPolicy).length, 1, "no other repository has a resource policy");
        });

        it("builds the three images from this repository's Dockerfiles for x86_64, the deploy image from Pulumi's", () => {
            const images = d.byType("awsx:ecr:Image").map((r) => [r.name, r.inputs.repositoryUrl, String(r.inputs.dockerfile).replace(/.*\/images\//, "images/"), r.inputs.platform]);
            assert.deepEqual(images, [
                ["images-codebuild", `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/codebuild`, "images/Dockerfile.codebuild", "linux/amd64"],
                ["images-xray", `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/xray`, "images/Dockerfile.xray", "linux/amd64"],
                ["images-deploy", `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/pulumi`, "images/Dockerfile.deploy", "linux/amd64"],
            ]);
            assert.match(fs.readFileSync(path.join(__dirname, "..", "..", "images", "Dockerfile.deploy"), "utf8"), /^FROM pulumi\/pulumi-nodejs:3\.259\.0$/m);
        });
    });

    describe("buckets", () => {
        for (const name of ["artifacts", "pulumi-state"]) {
            it(`blocks every public path on, versions and encrypts the ${name} bucket, and refuses plain HTTP`, () => {
                const id = d.one(T.bucket, name).id;
                assert.deepEqual(inputs(T.pab, name), { bucket: id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
                assert.deepEqual(inputs(T.versioning, name), { bucket: id, versioningConfiguration: { status: "Enabled" } });
                assert.equal(inputs(T.sse, name).bucket, id);
                assert.equal(inputs(T.bucket, name).forceDestroy, false);
                const bucketArn = s3(name);
                assert.deepEqual(inputs("aws:s3/bucketPolicy:BucketPolicy", name), { bucket: id, policy: JSON.stringify({ Version: "2012-10-17",
                    Statement: [{ Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucketArn, `${bucketArn}/*`],
                        Condition: { Bool: { "aws:SecureTransport": "false" } } }] }) });
            });
        }

        it("encrypts artifacts with S3 keys and state with the stack's KMS key", () => {
            assert.deepEqual(inputs(T.sse, "artifacts").rules, [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }]);
            assert.deepEqual(inputs(T.sse, "pulumi-state").rules, [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms",
                kmsMasterKeyId: arn("kms", "key/pulumi") }, bucketKeyEnabled: true }]);
            assert.deepEqual(inputs("aws:kms/key:Key", "pulumi").enableKeyRotation, true);
        });

        it("gives each environment a secrets provider key of its own, and protects every key and the state bucket", () => {
            for (const env of ["dev", "prod"]) {
                assert.deepEqual(inputs("aws:kms/key:Key", `pulumi-${env}`), { description: `Pulumi secrets provider of the ${env} stack`, enableKeyRotation: true,
                    deletionWindowInDays: 30, tags: TAGS });
                assert.deepEqual(inputs("aws:kms/alias:Alias", `pulumi-${env}`), { name: `alias/todobackend-${env}-pulumi`, targetKeyId: "key-1" });
            }
            assert.deepEqual(d.byType("aws:kms/key:Key").map((k) => [k.name, k.protect]), [["pulumi", true], ["pulumi-dev", true], ["pulumi-prod", true]]);
            assert.equal(d.one(T.bucket, "pulumi-state").protect, true);
            assert.equal(d.one(T.bucket, "artifacts").protect, false);
        });

        it("expires old artifacts and their old versions after 30 days, and of the state only replaced versions, after 90 days", () => {
            assert.deepEqual(inputs(T.bucketLifecycle, "artifacts"), { bucket: d.one(T.bucket, "artifacts").id, rules: [{ id: "expire-old-artifacts",
                status: "Enabled", filter: {}, expiration: { days: 30 }, noncurrentVersionExpiration: { noncurrentDays: 30 } }] });
            // Every update rewrites the checkpoint: its old versions would otherwise pile up forever.
            assert.deepEqual(inputs(T.bucketLifecycle, "pulumi-state"), { bucket: d.one(T.bucket, "pulumi-state").id, rules: [{ id: "expire-old-versions",
                status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 90 } }] });
            assert.deepEqual(d.byType(T.bucketLifecycle).map((r) => r.name), ["artifacts", "pulumi-state"]);
        });
    });

    describe("build projects", () => {
        it("runs the app build privileged on the pushed build image (by digest), from and to CodePipeline", () => {
            const p = inputs(T.project, "builds-app");
            assert.equal(p.name, "todobackend-build");
            assert.deepEqual(p.environment, { type: "LINUX_CONTAINER", computeType: "BUILD_GENERAL1_SMALL", privilegedMode: true,
                image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/codebuild@sha256:abc`, imagePullCredentialsType: "CODEBUILD",
                environmentVariables: [{ name: "AWS_ACCOUNT_ID", value: ACCOUNT },
                    { name: "REPOSITORY_URI", value: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/todobackend` },
                    { name: "BASE_IMAGE_REGISTRY", value: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/ecr-public/docker/library` }] });
            assert.equal(p.buildTimeout, 60);
            assert.equal(p.source.type, "CODEPIPELINE");
            assert.match(p.source.buildspec, /make publish/);
            assert.deepEqual(p.artifacts, { type: "CODEPIPELINE" });
            assert.equal(p.serviceRole, iamArn("role/builds-app"));
        });

        it("runs each Pulumi project unprivileged as its stage's own role, on the ECR copy of Pulumi's image, with the stack's backend and secrets provider", () => {
            const expected: Record<string, [string, string, string]> = {
                "builds-deploy-dev": ["todobackend-deploy-dev", "pulumi up -s dev", "builds-deploy-dev"],
                "builds-changeset": ["todobackend-changeset", "pulumi preview -s prod", "builds-preview-prod"],
                "builds-execute": ["todobackend-execute", "pulumi up -s prod", "builds-deploy-prod"],
            };
            for (const [resource, [name, command, role]] of Object.entries(expected)) {
                const p = inputs(T.project, resource);
                assert.equal(p.name, name);
                assert.equal(p.environment.privilegedMode, false, name);
                // Pulled from this account's ECR with the project's role, not anonymously from Docker Hub.
                assert.equal(p.environment.image, `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/pulumi@sha256:abc`);
                assert.equal(p.environment.imagePullCredentialsType, "SERVICE_ROLE");
                // Each project with its environment's own secrets provider.
                assert.deepEqual(p.environment.environmentVariables.slice(0, 2), [
                    { name: "PULUMI_BACKEND_URL", value: "s3://pulumi-state-bucket?region=us-east-1" },
                    { name: "PULUMI_SECRETS_PROVIDER", value: `awskms://alias/todobackend-${name.endsWith("dev") ? "dev" : "prod"}-pulumi?region=us-east-1` }]);
                assert.ok(p.source.buildspec.includes(command), `${name} runs ${command}`);
                assert.equal(p.serviceRole, iamArn(`role/${role}`));
                const pull = policyDoc(inputs(T.rolePolicy, role).policy).Statement.find((s) => s.Sid === "PullDeployImage");
                assert.deepEqual(pull?.Resource, arn("ecr", "repository/docker-in-aws/pulumi"), `${role} pulls the deploy image`);
            }
            assert.deepEqual(d.byType(T.project).filter((r) => (r.inputs.environment as any).privilegedMode).map((r) => r.name), ["builds-app"]);
        });

        it("applies prod with the approved update plan unless useUpdatePlan is off", () => {
            const useUpdatePlan = (e: Evaluated) => (e.one(T.project, "builds-execute").inputs.environment as any).environmentVariables.at(-1);
            assert.deepEqual(useUpdatePlan(d), { name: "USE_UPDATE_PLAN", value: "true" });
            assert.deepEqual(useUpdatePlan(committed), { name: "USE_UPDATE_PLAN", value: "false" });
        });
    });

    describe("IAM", () => {
        it("lets only CodeBuild assume the build roles and only CodePipeline the pipeline role", () => {
            const trusted = (name: string) => policyDoc(inputs(T.role, name).assumeRolePolicy).Statement.map((s) => [s.Effect, s.Principal, s.Action]);
            assert.deepEqual(trusted("builds-app"), [["Allow", { Service: "codebuild.amazonaws.com" }, "sts:AssumeRole"]]);
            for (const role of ["builds-deploy-dev", "builds-preview-prod", "builds-deploy-prod"]) {
                assert.deepEqual(trusted(role), [["Allow", { Service: "codebuild.amazonaws.com" }, "sts:AssumeRole"]]);
            }
            assert.deepEqual(trusted("todobackend"), [["Allow", { Service: "codepipeline.amazonaws.com" }, "sts:AssumeRole"]]);
        });

        it("gives the app build logs, artifacts, push to the app repository only and pull of the build image", () => {
            assert.deepEqual(policyDoc(inputs(T.rolePolicy, "builds-app").policy), { Version: "2012-10-17", Statement: [
                { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    Resource: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/codebuild/todobackend-*` },
                // The app build (the app repository's Makefile) reads its source and writes version.json, nothing else of the bucket.
                { Sid: "ArtifactsRead", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: [`${s3("artifacts")}/todobackend/MyApp/*`] },
                { Sid: "ArtifactsWrite", Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${s3("artifacts")}/todobackend/Applicatio/*`] },
                { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
                { Sid: "PushApp", Effect: "Allow", Action: ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability",
                    "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"], Resource: arn("ecr", "repository/docker-in-aws/todobackend") },
                { Sid: "PullBuildImage", Effect: "Allow", Action: ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability"],
                    Resource: arn("ecr", "repository/docker-in-aws/codebuild") },
                { Sid: "PullBaseImagesThroughCache", Effect: "Allow", Action: ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"], Resource: arn("ecr", "repository/ecr-public/*") },
            ] });
        });

        it("gives every project a log group of its own with a retention, and the deploy projects 180 minutes (a first prod update takes longer than 60)", () => {
            for (const [project, group, minutes] of [["builds-app", "builds-build", 60], ["builds-deploy-dev", "builds-deploy-dev", 180],
                ["builds-changeset", "builds-changeset", 60], ["builds-execute", "builds-execute", 180]] as const) {
                const p = inputs(T.project, project);
                const g = inputs("aws:cloudwatch/logGroup:LogGroup", group);
                assert.deepEqual([g.name, g.retentionInDays], [`/aws/codebuild/${p.name}`, 30], project);
                assert.deepEqual(p.logsConfig, { cloudwatchLogs: { status: "ENABLED", groupName: g.name } }, project);
                assert.equal(p.buildTimeout, minutes, project);
            }
        });

        it("pulls the app build's base images through an ECR pull-through cache of ECR Public, not anonymously from Docker Hub", () => {
            assert.deepEqual(inputs("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "registry-ecr-public"),
                { ecrRepositoryPrefix: "ecr-public", upstreamRegistryUrl: "public.ecr.aws" });
            const template = inputs("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate", "registry-ecr-public");
            assert.deepEqual([template.prefix, template.appliedFors, template.encryptionConfigurations], ["ecr-public", ["PULL_THROUGH_CACHE"], [{ encryptionType: "AES256" }]]);
            assert.equal(JSON.parse(template.lifecyclePolicy).rules[0].selection.countNumber, 10);
        });

        it("gives each Pulumi stage its own role: dev's fenced to dev, the prod preview read-only, the prod apply fenced to prod", () => {
            const sids = (role: string) => policyDoc(inputs(T.rolePolicy, role).policy).Statement.map((s) => s.Sid);
            const writer = ["Logs", "ArtifactsRead", "PullDeployImage", "EcrAuth", "Read", "CreateEc2", "CreateEcs", "CreateElasticloadbalancing", "CreateRds",
                "CreateLogs", "CreateLambda", "CreateSecretsmanager", "CreateServicediscovery", "CreateAutoscaling", "CreateApplicationAutoscaling", "CreateEvents",
                "Ec2TagOnCreate", "TagOnCreate", "TagOnCreateById", "Unfenced", "ChangeOwnResources", "LaunchFromPublicImages", "RdsManagedSecretCreate", "RdsManagedSecretTag",
                "RdsManagedSecretRotate", "RdsDefaultGroups", "ScalingPolicyAlarms", "RdsManagedSecretKey", "CloudMapDns", "SsmRead", "OwnTopicsAndAlarms", "RoleWritesWithinBoundary", "RolesInPath", "PassRolesInPath", "KeepBoundary", "ServiceLinkedRoles",
                "StateList", "StateRead", "StateWrite", "SecretsKey", "DeliveryStackKey", "StateObjectsKey"];
            assert.deepEqual(sids("builds-deploy-dev"), writer);
            assert.deepEqual(sids("builds-deploy-prod"), writer);
            const statement = (role: string, sid: string) => policyDoc(inputs(T.rolePolicy, role).policy).Statement.find((s) => s.Sid === sid)!;
            assert.deepEqual(statement("builds-deploy-dev", "ChangeOwnResources").Condition, { StringEquals: { "aws:RequestedRegion": "us-east-1",
                "aws:ResourceTag/Environment": "dev" }, StringEqualsIfExists: { "aws:RequestTag/Environment": "dev" } });
            assert.deepEqual(statement("builds-deploy-prod", "CreateEc2").Condition, { StringEquals: { "aws:RequestedRegion": "us-east-1", "aws:RequestTag/Environment": "prod" } });
            assert.deepEqual(statement("builds-deploy-dev", "RoleWritesWithinBoundary"), { Sid: "RoleWritesWithinBoundary", Effect: "Allow",
                Action: ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
                    "iam:PutRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy"],
                Resource: `arn:aws:iam::${ACCOUNT}:role/todobackend-dev/*`, Condition: { StringEquals: { "iam:PermissionsBoundary": BOUNDARIES.dev } } });
            assert.deepEqual(statement("builds-deploy-prod", "PassRolesInPath"), { Sid: "PassRolesInPath", Effect: "Allow", Action: ["iam:PassRole"],
                Resource: `arn:aws:iam::${ACCOUNT}:role/todobackend-prod/*`,
                Condition: { StringEquals: { "iam:PassedToService": ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com", "lambda.amazonaws.com"] } } });
            const state = s3("pulumi-state");
            assert.deepEqual(statement("builds-deploy-dev", "StateWrite").Resource, [`${state}/.pulumi/stacks/todobackend/dev.json*`,
                `${state}/.pulumi/history/todobackend/dev/*`, `${state}/.pulumi/backups/todobackend/dev/*`, `${state}/.pulumi/locks/*/todobackend/dev/*`]);
            // Each stage reads only the artifacts its action consumes (CodePipeline's keys: pipeline name, artifact name cut to 10).
            assert.deepEqual(statement("builds-deploy-dev", "ArtifactsRead").Resource, [`${s3("artifacts")}/todobackend/Deployment/*`, `${s3("artifacts")}/todobackend/Applicatio/*`]);
            assert.deepEqual(statement("builds-deploy-prod", "ArtifactsRead").Resource, [`${s3("artifacts")}/todobackend/Deployment/*`, `${s3("artifacts")}/todobackend/ChangeSetP/*`]);
            // Its own environment's secrets provider; the delivery stack's key only to decrypt (the StackReference).
            assert.deepEqual(statement("builds-deploy-dev", "SecretsKey").Resource, arn("kms", "key/pulumi-dev"));
            assert.deepEqual(statement("builds-deploy-prod", "SecretsKey").Resource, arn("kms", "key/pulumi-prod"));
            assert.deepEqual(statement("builds-deploy-dev", "DeliveryStackKey"), { Sid: "DeliveryStackKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: arn("kms", "key/pulumi") });
            assert.deepEqual(statement("builds-deploy-dev", "Logs").Resource, [`arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/codebuild/todobackend-deploy-dev`,
                `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/codebuild/todobackend-deploy-dev:*`]);
        });

        it("lets the prod preview read, write its plan artifact and its stack's lock, and nothing else", () => {
            const doc = policyDoc(inputs(T.rolePolicy, "builds-preview-prod").policy);
            assert.deepEqual(doc.Statement.map((s) => s.Sid), ["Logs", "ArtifactsRead", "ArtifactsWrite", "PullDeployImage", "EcrAuth", "Read", "RolesInPathRead", "SsmRead",
                "OwnTopicsAndAlarmsRead", "StateList", "StateRead", "StateWrite", "SecretsKey", "DeliveryStackKey", "StateObjectsKey"]);
            // Its plan only: not the DeploymentRepository zip that ExecuteChangeSet runs with prod's rights after the approval.
            assert.deepEqual(doc.Statement.find((s) => s.Sid === "ArtifactsWrite")!.Resource, [`${s3("artifacts")}/todobackend/ChangeSetP/*`]);
            const state = s3("pulumi-state");
            assert.deepEqual(doc.Statement.find((s) => s.Sid === "StateWrite")!.Resource, [`${state}/.pulumi/locks/*/todobackend/prod/*`]);
            assert.deepEqual(doc.Statement.find((s) => s.Sid === "SecretsKey")!.Action, ["kms:Decrypt", "kms:DescribeKey"]);
            // Writing the lock into the SSE-KMS bucket: S3 asks KMS for a data key with the role's rights, only through S3.
            assert.deepEqual(doc.Statement.find((s) => s.Sid === "StateObjectsKey"), { Sid: "StateObjectsKey", Effect: "Allow",
                Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/pulumi`,
                Condition: { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } } });
            const writes = doc.Statement.flatMap((s) => s.Action as string[]).filter((a) => /^(ec2|ecs|rds|elasticloadbalancing|lambda|iam):(Create|Delete|Put|Update|Modify|Run|Pass|Attach|Tag)/.test(a));
            assert.deepEqual(writes, []);
        });
        it("gives the pipeline its artifacts, the connection, its four projects and the approval topic", () => {
            assert.deepEqual(policyDoc(inputs(T.rolePolicy, "todobackend").policy).Statement, [
                { Sid: "Artifacts", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:GetBucketVersioning"],
                    Resource: [s3("artifacts"), `${s3("artifacts")}/*`] },
                { Sid: "Connection", Effect: "Allow", Action: ["codestar-connections:UseConnection"], Resource: `arn:aws:codestar-connections:us-east-1:${ACCOUNT}:connection/todobackend-source` },
                { Sid: "Builds", Effect: "Allow", Action: ["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
                    Resource: ["todobackend-build", "todobackend-deploy-dev", "todobackend-changeset", "todobackend-execute"].map((n) => arn("codebuild", `project/${n}`)) },
                { Sid: "ApprovalTopic", Effect: "Allow", Action: ["sns:Publish"], Resource: TOPIC },
            ]);
            // Without a configured topic, the delivery stack's own.
            assert.deepEqual(policyDoc(committed.one(T.rolePolicy, "todobackend").inputs.policy).Statement.find((s) => s.Sid === "ApprovalTopic")?.Resource,
                arn("sns", "todobackend-pipeline-notifications"));
        });

        it("tells failed pipeline runs to its notifications topic through an EventBridge rule only that rule may publish for", () => {
            const rule = inputs("aws:cloudwatch/eventRule:EventRule", "notifications-failed");
            assert.deepEqual(JSON.parse(rule.eventPattern), { source: ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"],
                detail: { pipeline: ["todobackend"], state: ["FAILED"] } });
            const target = inputs("aws:cloudwatch/eventTarget:EventTarget", "notifications-failed");
            assert.deepEqual([target.rule, target.arn], ["todobackend-pipeline-failed", arn("sns", "todobackend-pipeline-notifications")]);
            const policy = policyDoc(inputs("aws:sns/topicPolicy:TopicPolicy", "notifications").policy);
            assert.deepEqual(policy.Statement.find((s) => s.Sid === "PipelineFailures"), { Sid: "PipelineFailures", Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" }, Action: ["sns:Publish"], Resource: arn("sns", "todobackend-pipeline-notifications"),
                Condition: { ArnEquals: { "aws:SourceArn": arn("events", "rule/todobackend-pipeline-failed") } } });
        });

        it("creates one permissions boundary per environment, capping its roles to running tasks, pulling images, logs, traces, secrets, SSM and passing its own roles", () => {
            for (const env of ["dev", "prod"] as const) {
                const b = d.one("aws:iam/policy:Policy", `builds-boundary-${env}`).inputs;
                assert.equal(b.name, `todobackend-${env}-boundary`);
                assert.deepEqual(b.tags, TAGS);
                // The same document as the pure function makes for this environment (its statements are tested below).
                assert.deepEqual(policyDoc(b.policy), environmentBoundaryPolicy({ region: "us-east-1", account: ACCOUNT, envName: `todobackend-${env}`,
                    rolePath: `/todobackend-${env}/` }));
                assert.deepEqual(policyDoc(b.policy).Statement.find((s) => s.Sid === "ReadOwnSecrets")!.Resource, `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:todobackend-${env}/*`);
            }
            assert.deepEqual(d.outputs.environmentRoleBoundaryArns, BOUNDARIES);
        });
        it("attaches no managed policy, grants no '*' action, no push or IAM on '*'", () => {
            assert.equal(d.byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").length, 0);
            for (const r of d.byType(T.role)) assert.equal(r.inputs.managedPolicyArns, undefined, r.name);
            for (const rp of d.byType(T.rolePolicy)) {
                for (const s of policyDoc(rp.inputs.policy).Statement) {
                    assert.ok(!s.Action.includes("*") && !s.Action.includes("*:*"), `${rp.name}/${s.Sid}`);
                    if (s.Action.some((a: string) => a === "ecr:PutImage" || a.startsWith("iam:"))) assert.notEqual(s.Resource, "*", `${rp.name}/${s.Sid}`);
                }
            }
            assert.doesNotMatch(JSON.stringify(d.resources), /AdministratorAccess|PowerUser|158949774536/);
        });
    });

    describe("pipeline", () => {
        const pipe = () => inputs(T.pipeline, "todobackend");
        const action = (stage: string, name: string) => pipe().stages.find((s: any) => s.name === stage).actions.find((a: any) => a.name === name);

        it("is a V2 pipeline with its own role storing artifacts in the artifact bucket", () => {
            assert.equal(pipe().pipelineType, "V2");
            assert.equal(pipe().roleArn, iamArn("role/todobackend"));
            assert.deepEqual(pipe().artifactStores, [{ location: "artifacts-bucket", type: "S3" }]);
        });

        it("runs Source, Build, Dev, Production with the book's action names", () => {
            assert.deepEqual(pipe().stages.map((s: any) => [s.name, s.actions.map((a: any) => a.name)]), [
                ["Source", ["MyApp", "DeploymentRepository"]], ["Build", ["Build"]], ["Dev", ["Deploy"]],
                ["Production", ["ChangeSet", "ApproveChangeSet", "ExecuteChangeSet"]]]);
        });

        it("sources both repositories in parallel through the program's connection on the configured branch", () => {
            assert.deepEqual(inputs("aws:codestarconnections/connection:Connection", "todobackend").providerType, "GitHub");
            for (const [name, repo] of [["MyApp", "acme/todobackend"], ["DeploymentRepository", "acme/todobackend-aws"]]) {
                assert.deepEqual(action("Source", name), { name, category: "Source", owner: "AWS", provider: "CodeStarSourceConnection", version: "1",
                    runOrder: 1, outputArtifacts: [name], configuration: { ConnectionArn: `arn:aws:codestar-connections:us-east-1:${ACCOUNT}:connection/todobackend-source`,
                        FullRepositoryId: repo, BranchName: "main", OutputArtifactFormat: "CODE_ZIP", DetectChanges: "true" } });
            }
        });

        it("builds MyApp into ApplicationVersion and deploys dev from this repository with that version", () => {
            assert.deepEqual(action("Build", "Build"), { name: "Build", category: "Build", owner: "AWS", provider: "CodeBuild", version: "1", runOrder: 1,
                inputArtifacts: ["MyApp"], outputArtifacts: ["ApplicationVersion"], configuration: { ProjectName: "todobackend-build" } });
            assert.deepEqual(action("Dev", "Deploy"), { name: "Deploy", category: "Build", owner: "AWS", provider: "CodeBuild", version: "1", runOrder: 1,
                inputArtifacts: ["DeploymentRepository", "ApplicationVersion"],
                configuration: { ProjectName: "todobackend-deploy-dev", PrimarySource: "DeploymentRepository" } });
        });

        it("saves the prod preview, asks for approval with its summary and link, then applies the approved plan", () => {
            assert.deepEqual(action("Production", "ChangeSet"), { name: "ChangeSet", category: "Build", owner: "AWS", provider: "CodeBuild", version: "1",
                runOrder: 1, namespace: "ChangeSet", inputArtifacts: ["DeploymentRepository", "ApplicationVersion"], outputArtifacts: ["ChangeSetPlan"],
                configuration: { ProjectName: "todobackend-changeset", PrimarySource: "DeploymentRepository" } });
            const approve = action("Production", "ApproveChangeSet");
            assert.deepEqual([approve.category, approve.owner, approve.provider, approve.runOrder], ["Approval", "AWS", "Manual", 2]);
            assert.equal(approve.configuration.NotificationArn, TOPIC);
            assert.equal(approve.configuration.ExternalEntityLink, "#{ChangeSet.PREVIEW_URL}");
            assert.match(approve.configuration.CustomData, /#\{ChangeSet\.APP_VERSION\}: #\{ChangeSet\.PREVIEW_SUMMARY\}/);
            assert.ok(approve.configuration.CustomData.length <= 500, "CodePipeline caps CustomData at 500 characters");
            assert.deepEqual(action("Production", "ExecuteChangeSet"), { name: "ExecuteChangeSet", category: "Build", owner: "AWS", provider: "CodeBuild",
                version: "1", runOrder: 3, inputArtifacts: ["DeploymentRepository", "ChangeSetPlan"],
                configuration: { ProjectName: "todobackend-execute", PrimarySource: "DeploymentRepository",
                    // The preview's tag and plan hash as CodePipeline keeps them, against which the artifact is checked.
                    EnvironmentVariables: JSON.stringify([{ name: "APPROVED_APP_VERSION", value: "#{ChangeSet.APP_VERSION}", type: "PLAINTEXT" },
                        { name: "APPROVED_PLAN_SHA256", value: "#{ChangeSet.PLAN_SHA256}", type: "PLAINTEXT" }]) } });
        });

        it("asks for approval on the delivery stack's own notifications topic when none is configured", () => {
            const approve = (committed.one(T.pipeline, "todobackend").inputs.stages as any[])[3].actions[1];
            assert.equal(approve.configuration.NotificationArn, arn("sns", "todobackend-pipeline-notifications"));
        });
    });
});

describe("delivery components", function () {
    this.timeout(EVALUATION_WAIT_MS);

    it("refuse bad arguments before creating any child, naming the argument and the fix", async () => {
        const e = await refusals;
        assert.match(String(e.outputs.fractionalExpiry), /^expireDays must be a whole number of days ≥ 1, got 0\.5\. Fix:/);
        assert.match(String(e.outputs.missingDockerfiles), /^contextDir ".*programs" has no Dockerfile\.codebuild\. Fix:/);
        assert.match(String(e.outputs.unknownConnectionProvider), /^connectionProvider "CodeCommit" is not a CodeStar connection provider\. Fix: use one of GitHub/);
        assert.match(String(e.outputs.threeProjects), /^projects lacks execute: the pipeline runs four projects\. Fix:/);
        assert.deepEqual(e.resources.filter((r) => r.custom).map((r) => r.type), [], "no child resource was declared");
    });
});

describe("delivery decisions", () => {
    const base = { region: "eu-west-1", account: "111", projectPrefix: "tb-", artifactReads: ["arn:aws:s3:::art/tb/MyApp/*"], artifactWrites: ["arn:aws:s3:::art/tb/Applicatio/*"] };

    it("scopes app pushes to the app repository alone", () => {
        const doc = appBuildPolicy({ ...base, appRepositoryArn: "arn:app", buildImageRepositoryArn: "arn:img" });
        assert.deepEqual(doc.Statement.filter((s) => s.Action.includes("ecr:PutImage")).map((s) => s.Resource), ["arn:app"]);
        assert.deepEqual(doc.Statement.filter((s) => s.Resource === "*").map((s) => s.Action), [["ecr:GetAuthorizationToken"]]);
    });

    const roleArgs = (environment: string): EnvironmentRoleArgs => ({ region: "eu-west-1", account: "111", environment, envName: `tb-${environment}`,
        project: "tb", buildProjects: [`tb-deploy-${environment}`], artifactReads: ["arn:aws:s3:::art/tb/Deployment/*"], artifactWrites: ["arn:aws:s3:::art/tb/ChangeSetP/*"],
        stateBucketArn: "arn:aws:s3:::st", kmsKeyArn: "arn:key", secretsKeyArn: `arn:key-${environment}`, deployImageRepositoryArn: "arn:repo", boundaryArn: `arn:b-${environment}` });

    it("fences a deploy role's IAM to its environment's path, its services to its tag and region", () => {
        const doc = environmentDeployPolicy(roleArgs("qa"));
        assert.deepEqual(doc.Statement.find((s) => s.Sid === "RolesInPath")!.Resource,
            ["arn:aws:iam::111:role/tb-qa/*", "arn:aws:iam::111:instance-profile/tb-qa/*"]);
        assert.deepEqual(doc.Statement.find((s) => s.Sid === "CreateRds")!, { Sid: "CreateRds", Effect: "Allow",
            Action: ["rds:CreateDBInstance", "rds:CreateDBSubnetGroup"], Resource: ["arn:aws:rds:eu-west-1:111:db:*", "arn:aws:rds:eu-west-1:111:subgrp:*"],
            Condition: { StringEquals: { "aws:RequestedRegion": "eu-west-1", "aws:RequestTag/Environment": "qa" } } });
        assert.ok(!JSON.stringify(doc).match(/AdministratorAccess|PowerUser|"iam:\*"|"(ec2|ecs|rds|lambda|secretsmanager):\*"/));
    });

    it("lets a deploy role create or edit a role only with its environment's boundary on it, and never remove it", () => {
        const doc = environmentDeployPolicy(roleArgs("qa"));
        const bounded = doc.Statement.find((s) => s.Sid === "RoleWritesWithinBoundary")!;
        assert.deepEqual(bounded.Condition, { StringEquals: { "iam:PermissionsBoundary": "arn:b-qa" } });
        // Every action that can add rights to a role, or change who may assume it, is under the condition, and nowhere else.
        for (const action of BOUNDED_ROLE_WRITES) {
            assert.deepEqual(doc.Statement.filter((s) => s.Effect === "Allow" && s.Action.includes(action)).map((s) => s.Sid), ["RoleWritesWithinBoundary"], action);
        }
        assert.ok(BOUNDED_ROLE_WRITES.includes("iam:UpdateAssumeRolePolicy"));
        const deny = doc.Statement.find((s) => s.Effect === "Deny")!;
        assert.ok(deny.Action.includes("iam:DeleteRolePermissionsBoundary") && deny.Action.includes("iam:CreatePolicyVersion"));
        assert.ok((deny.Resource as string[]).includes("arn:b-qa"));
    });

    it("refuses an environment name that cannot be an IAM path", () => {
        assert.throws(() => environmentDeployPolicy({ ...roleArgs("qa"), envName: "tb/qa" }), /envName "tb\/qa" cannot be an IAM path segment\. Fix:/);
    });

    it("gives the preview role no write outside its stack's lock and its plan artifact", () => {
        const doc = environmentPreviewPolicy(roleArgs("qa"));
        const puts = doc.Statement.filter((s) => s.Action.includes("s3:PutObject")).map((s) => [s.Sid, s.Resource]);
        assert.deepEqual(puts, [["ArtifactsWrite", ["arn:aws:s3:::art/tb/ChangeSetP/*"]], ["StateWrite", ["arn:aws:s3:::st/.pulumi/locks/*/tb/qa/*"]]]);
    });

    describe("the environment roles' permissions boundary", () => {
        const boundary = environmentBoundaryPolicy({ region: "eu-west-1", account: "111", envName: "todobackend-dev", rolePath: "/todobackend-dev/" });
        /** IAM action matching: `*` in a granted action matches any run of characters, case-insensitively. */
        const grants = (doc: PolicyDocument, action: string) => doc.Statement.some((s) => s.Effect === "Allow" &&
            s.Action.some((g) => new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i").test(action)));
        const environmentPolicies: Record<string, PolicyDocument> = {
            appExecution: appExecutionPolicy({ logGroupArn: "arn:lg", secretArns: ["arn:s1", "arn:s2"] }),
            appTask: appTaskPolicy(),
            migrationRunner: migrationRunnerPolicy({ region: "eu-west-1", account: "111", clusterArn: "arn:c", clusterName: "c",
                migrateFamily: "f", passRoleArns: ["arn:aws:iam::111:role/todobackend-dev/todobackend-dev-app-execution"], logGroupArn: "arn:lg" }),
            xrayExecution: xrayExecutionPolicy("arn:lg"),
            xrayTask: xrayTaskPolicy(),
        };

        it("allows every action the environment's own role policies grant, so it takes nothing they need", () => {
            for (const [name, doc] of Object.entries(environmentPolicies)) {
                for (const action of doc.Statement.flatMap((s) => s.Action)) assert.ok(grants(boundary, action), `${name}: ${action}`);
            }
        });
        it("allows what the ECS and SSM agents on the instances call (the instance role's managed policies)", () => {
            for (const action of ["ecs:RegisterContainerInstance", "ecs:Poll", "ecs:SubmitTaskStateChange", "ecs:StartTelemetrySession",
                "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "logs:PutLogEvents", "ec2:DescribeTags", "ssm:UpdateInstanceInformation",
                "ssmmessages:OpenControlChannel", "ec2messages:GetMessages"]) assert.ok(grants(boundary, action), action);
            assert.ok([...ECS_AGENT_CLUSTER_ACTIONS, ...ECS_AGENT_INSTANCE_ACTIONS, ...SSM_AGENT_ACTIONS].every((a) => grants(boundary, a)));
        });
        it("grants ECS, logs and secrets only on the environment's own cluster, tasks, log groups and secrets", () => {
            const on = (sid: string) => { const st = boundary.Statement.find((x) => x.Sid === sid)!; return [st.Resource, st.Condition]; };
            const inCluster = { ArnEquals: { "ecs:cluster": "arn:aws:ecs:eu-west-1:111:cluster/todobackend-dev-cluster" } };
            assert.deepEqual(on("EcsAgentInOwnCluster"), ["arn:aws:ecs:eu-west-1:111:cluster/todobackend-dev-cluster", undefined]);
            assert.deepEqual(on("EcsAgentOnOwnInstances"), ["arn:aws:ecs:eu-west-1:111:container-instance/todobackend-dev-cluster/*", inCluster]);
            assert.deepEqual(on("RunOwnTasks"), ["arn:aws:ecs:eu-west-1:111:task-definition/todobackend-dev*", inCluster]);
            assert.deepEqual(on("WatchOwnTasks"), ["arn:aws:ecs:eu-west-1:111:task/todobackend-dev-cluster/*", inCluster]);
            assert.deepEqual(on("ReadOwnSecrets"), ["arn:aws:secretsmanager:eu-west-1:111:secret:todobackend-dev/*", undefined]);
            assert.deepEqual(on("ReadOwnDatabaseMasterSecret"), ["arn:aws:secretsmanager:eu-west-1:111:secret:rds!db-*",
                { StringLike: { "aws:ResourceTag/aws:rds:primaryDBInstanceArn": "arn:aws:rds:eu-west-1:111:db:todobackend-dev-*" } }]);
            assert.deepEqual(on("WriteOwnLogs")[0], ["arn:aws:logs:eu-west-1:111:log-group:/todobackend-dev/*", "arn:aws:logs:eu-west-1:111:log-group:/aws/lambda/todobackend-dev-*"]);
            // `*` only where AWS takes no resource (or for reads of images and writes of traces).
            assert.deepEqual(boundary.Statement.filter((x) => x.Resource === "*").map((x) => x.Sid), ["EcsAgentDiscovery", "SsmAgent", "PullImages", "WriteTraces"]);
            assert.ok(!boundary.Statement.some((x) => x.Action.some((a) => a === "ecs:*" || a === "ecs:UpdateService" || a === "ecs:DeleteService")));
        });
        it("allows no IAM write, no S3, no STS, no KMS key use and no passing of roles outside the environment's path", () => {
            for (const action of ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreateUser", "iam:CreateAccessKey",
                "s3:GetObject", "sts:AssumeRole", "kms:Decrypt", "lambda:CreateFunction", "ec2:RunInstances", "ssm:SendCommand"]) {
                assert.ok(!grants(boundary, action), action);
            }
            assert.deepEqual(boundary.Statement.filter((s) => s.Action.some((a) => a.startsWith("iam:"))).map((s) => [s.Action, s.Resource, s.Condition]),
                [[["iam:PassRole"], "arn:aws:iam::111:role/todobackend-dev/*", { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }]]);
        });
    });

    it("pins the build-image pull to one project of one account", () => {
        const doc = JSON.parse(codebuildPullRepositoryPolicy({ region: "eu-west-1", account: "111", projectName: appBuildProjectName("tb-") }));
        assert.deepEqual(doc.Statement[0].Condition, { ArnLike: { "aws:SourceArn": "arn:aws:codebuild:eu-west-1:111:project/tb-build" },
            StringEquals: { "aws:SourceAccount": "111" } });
    });

    it("orders Production as preview, approval, update whatever the names", () => {
        const stages = pipelineStages({ connectionArn: "c", appRepository: "a/b", deploymentRepository: "a/c", branch: "b",
            appBuildProject: "p1", devProject: "p2", changeSetProject: "p3", executeProject: "p4" });
        const prod = stages.find((s) => s.name === "Production")!.actions;
        assert.deepEqual(prod.map((a) => [a.name, a.runOrder, a.configuration.ProjectName]),
            [["ChangeSet", 1, "p3"], ["ApproveChangeSet", 2, undefined], ["ExecuteChangeSet", 3, "p4"]]);
        assert.equal(prod[1].configuration.NotificationArn, undefined);
    });
});

describe("delivery config", () => {
    it("refuses a repository that is not owner/name and names the key to fix", () => {
        assert.throws(() => validateDeliveryConfig({ appRepository: "todobackend", deploymentRepository: "a/b" }), /todobackend:appRepository.*Fix/);
    });

    it("refuses a missing repository, a bad prefix, a non-positive expiry and a non-boolean useUpdatePlan", () => {
        const ok = { appRepository: "a/b", deploymentRepository: "a/c" };
        assert.throws(() => validateDeliveryConfig({ appRepository: "a/b" }), /todobackend:deploymentRepository is required\. Fix: pulumi config set/);
        assert.throws(() => validateDeliveryConfig({ ...ok, repositoryPrefix: "Docker In AWS" }), /todobackend:repositoryPrefix .* Fix:/);
        assert.throws(() => validateDeliveryConfig({ ...ok, artifactExpiryDays: 0 }), /todobackend:artifactExpiryDays must be a positive integer/);
        assert.throws(() => validateDeliveryConfig({ ...ok, useUpdatePlan: "no" }), /todobackend:useUpdatePlan must be true or false/);
        assert.throws(() => validateDeliveryConfig({ ...ok, connectionProvider: "CodeCommit" }),
            /todobackend:connectionProvider "CodeCommit" is not a CodeStar connection provider\. Fix: .*GitHub/);
    });

    it("defaults the prefix to docker-in-aws, the branch to master, 30-day artifacts and update plans on", () => {
        const c = validateDeliveryConfig({ appRepository: "a/b", deploymentRepository: "a/c" });
        assert.deepEqual([c.repositoryPrefix, c.branch, c.artifactExpiryDays, c.useUpdatePlan, c.connectionProvider, c.approvalTopicArn],
            ["docker-in-aws", "master", 30, true, "GitHub", undefined]);
    });
});
