import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { appBuildPolicy, deployPolicy, PolicyDocument } from "../../infra/lib/deliveryIam";
import { validateDeliveryConfig } from "../../infra/config/delivery";

interface Recorded { type: string; name: string; inputs: any }
const resources: Recorded[] = [];
let outputs: Record<string, unknown> = {};

function unwrap(o: pulumi.Output<unknown>): Promise<unknown> {
    return new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));
}
const byType = (t: string) => resources.filter((r) => r.type === t);
const one = (t: string, name: string) => {
    const r = resources.find((x) => x.type === t && x.name === name);
    assert.ok(r, `no ${t} named ${name}; have ${resources.filter((x) => x.type === t).map((x) => x.name)}`);
    return r;
};

before(async function () {
    pulumi.runtime.setAllConfig({
        "todobackend:role": "delivery", "todobackend:appRepository": "acme/todobackend",
        "todobackend:deploymentRepository": "acme/todobackend-aws", "todobackend:branch": "main",
        "todobackend:approvalTopicArn": "arn:aws:sns:us-east-1:123456789012:approvals",
    });
    await pulumi.runtime.setMocks({
        newResource(a) {
            resources.push({ type: a.type, name: a.name, inputs: a.inputs });
            const id = `${a.name}-id`;
            const arn = `arn:aws:mock:us-east-1:123456789012:${a.name}`;
            const extra: Record<string, unknown> = { arn };
            if (a.type === "aws:ecr/repository:Repository") extra.repositoryUrl = `123456789012.dkr.ecr.us-east-1.amazonaws.com/${a.inputs.name}`;
            if (a.type === "aws:s3/bucket:Bucket") extra.bucket = `${a.name}-bucket`;
            if (a.type === "aws:kms/key:Key") extra.keyId = "key-1";
            if (a.type === "awsx:ecr:Image") extra.imageUri = `${a.inputs.repositoryUrl}@sha256:abc`;
            return { id, state: { ...a.inputs, ...extra } };
        },
        call(a) {
            if (a.token === "aws:index/getCallerIdentity:getCallerIdentity") return { accountId: "123456789012" };
            if (a.token === "aws:index/getRegion:getRegion") return { region: "us-east-1", name: "us-east-1" };
            return a.inputs;
        },
    }, "todobackend", "delivery", true);
    const stack = require("../../infra/delivery").deliveryStack() as Record<string, pulumi.Output<unknown> | string>;
    for (const [k, v] of Object.entries(stack)) outputs[k] = pulumi.Output.isInstance(v) ? await unwrap(v) : v;
    await new Promise((r) => setTimeout(r, 50));
});

describe("delivery stack", () => {
    it("exports every output the environment stacks read", () => {
        assert.deepEqual(Object.keys(outputs).sort(), ["appRepositoryUrl", "artifactBucketName", "buildImageRepositoryUrl",
            "connectionActivation", "connectionArn", "kmsKeyAlias", "pipelineName", "secretsProvider", "stateBucketUrl",
            "xrayImage", "xrayRepositoryUrl"]);
        assert.equal(outputs.appRepositoryUrl, "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/todobackend");
        assert.equal(outputs.stateBucketUrl, "s3://pulumi-state-bucket");
        assert.equal(outputs.secretsProvider, "awskms://alias/todobackend-pulumi");
        assert.match(String(outputs.xrayImage), /docker-in-aws\/xray@sha256:/);
    });

    it("scans every repository on push and keeps app tags immutable", () => {
        const repos = byType("aws:ecr/repository:Repository");
        assert.deepEqual(repos.map((r) => r.inputs.name).sort(), ["docker-in-aws/codebuild", "docker-in-aws/todobackend", "docker-in-aws/xray"]);
        for (const r of repos) assert.equal(r.inputs.imageScanningConfiguration.scanOnPush, true);
        assert.equal(one("aws:ecr/repository:Repository", "registry-app").inputs.imageTagMutability, "IMMUTABLE");
    });

    it("expires untagged app images after 7 days with the book's rule", () => {
        const policy = JSON.parse(one("aws:ecr/lifecyclePolicy:LifecyclePolicy", "registry-app").inputs.policy);
        assert.deepEqual(policy.rules, [{ rulePriority: 10, description: "Untagged images",
            selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 7 }, action: { type: "expire" } }]);
    });

    it("lets only the CodeBuild service pull the build image, with no foreign account", () => {
        const policy = JSON.parse(one("aws:ecr/repositoryPolicy:RepositoryPolicy", "registry-buildImage").inputs.policy);
        assert.deepEqual(policy.Statement.map((s: any) => s.Principal), [{ Service: "codebuild.amazonaws.com" }]);
        assert.doesNotMatch(JSON.stringify(policy), /158949774536|ecr:PutImage/);
    });

    it("encrypts, versions and blocks public access on the artifact and state buckets", () => {
        for (const name of ["artifacts", "pulumi-state"]) {
            const pab = one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name).inputs;
            assert.deepEqual([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets], [true, true, true, true]);
            assert.equal(one("aws:s3/bucketVersioning:BucketVersioning", name).inputs.versioningConfiguration.status, "Enabled");
            assert.ok(one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name).inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm);
        }
        assert.equal(one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "pulumi-state")
            .inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
        assert.equal(one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "artifacts").inputs.rules[0].expiration.days, 30);
    });

    it("runs the app build privileged on the pushed build image, from and to CodePipeline", () => {
        const p = one("aws:codebuild/project:Project", "builds-app").inputs;
        assert.equal(p.environment.privilegedMode, true);
        assert.equal(p.environment.type, "LINUX_CONTAINER");
        assert.equal(p.environment.image, "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/codebuild@sha256:abc");
        assert.equal(p.environment.imagePullCredentialsType, "CODEBUILD");
        assert.equal(p.source.type, "CODEPIPELINE");
        assert.equal(p.artifacts.type, "CODEPIPELINE");
        const deploy = one("aws:codebuild/project:Project", "builds-deploy-dev").inputs;
        assert.equal(deploy.environment.privilegedMode, false);
        assert.deepEqual(deploy.environment.environmentVariables.map((v: any) => [v.name, v.value]),
            [["PULUMI_BACKEND_URL", "s3://pulumi-state-bucket"], ["PULUMI_SECRETS_PROVIDER", "awskms://alias/todobackend-pulumi"]]);
    });

    it("never attaches managed admin policies and never allows push on '*'", () => {
        assert.equal(byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").length, 0);
        for (const rp of byType("aws:iam/rolePolicy:RolePolicy")) {
            const doc: PolicyDocument = JSON.parse(rp.inputs.policy);
            for (const s of doc.Statement) {
                assert.ok(!s.Action.includes("*"), `${rp.name}/${s.Sid} allows *`);
                if (s.Action.includes("ecr:PutImage")) assert.notEqual(s.Resource, "*");
                if (s.Action.some((a) => a.startsWith("iam:"))) assert.notEqual(s.Resource, "*", `${rp.name}/${s.Sid}`);
            }
        }
        const app = JSON.parse(one("aws:iam/rolePolicy:RolePolicy", "builds-app").inputs.policy) as PolicyDocument;
        assert.deepEqual(app.Statement.find((s) => s.Sid === "PushApp")!.Resource, "arn:aws:mock:us-east-1:123456789012:registry-app");
    });

    describe("pipeline", () => {
        const pipe = () => one("aws:codepipeline/pipeline:Pipeline", "todobackend").inputs;
        const action = (stage: string, name: string) => pipe().stages.find((s: any) => s.name === stage).actions.find((a: any) => a.name === name);

        it("is a V2 pipeline storing artifacts in the artifact bucket", () => {
            assert.equal(pipe().pipelineType, "V2");
            assert.deepEqual(pipe().artifactStores, [{ location: "artifacts-bucket", type: "S3" }]);
        });

        it("runs Source, Build, Dev, Production in the book's order", () => {
            assert.deepEqual(pipe().stages.map((s: any) => s.name), ["Source", "Build", "Dev", "Production"]);
            assert.deepEqual(pipe().stages.map((s: any) => s.actions.map((a: any) => a.name)),
                [["MyApp", "DeploymentRepository"], ["Build"], ["Deploy"], ["ChangeSet", "ApproveChangeSet", "ExecuteChangeSet"]]);
        });

        it("sources both repositories through the program's connection on the configured branch", () => {
            for (const [name, repo] of [["MyApp", "acme/todobackend"], ["DeploymentRepository", "acme/todobackend-aws"]]) {
                const a = action("Source", name);
                assert.equal(a.provider, "CodeStarSourceConnection");
                assert.deepEqual(a.outputArtifacts, [name]);
                assert.equal(a.configuration.ConnectionArn, "arn:aws:mock:us-east-1:123456789012:todobackend");
                assert.equal(a.configuration.FullRepositoryId, repo);
                assert.equal(a.configuration.BranchName, "main");
            }
        });

        it("builds MyApp into ApplicationVersion and deploys dev from it", () => {
            const b = action("Build", "Build");
            assert.deepEqual([b.provider, b.inputArtifacts, b.outputArtifacts, b.configuration.ProjectName],
                ["CodeBuild", ["MyApp"], ["ApplicationVersion"], "todobackend-build"]);
            const d = action("Dev", "Deploy");
            assert.deepEqual([d.provider, d.inputArtifacts, d.configuration], ["CodeBuild", ["DeploymentRepository", "ApplicationVersion"],
                { ProjectName: "todobackend-deploy-dev", PrimarySource: "DeploymentRepository" }]);
        });

        it("puts the manual approval between the saved preview and the update that applies it", () => {
            const [cs, ap, ex] = ["ChangeSet", "ApproveChangeSet", "ExecuteChangeSet"].map((n) => action("Production", n));
            assert.deepEqual([cs.runOrder, ap.runOrder, ex.runOrder], [1, 2, 3]);
            assert.deepEqual([cs.provider, ap.provider, ex.provider], ["CodeBuild", "Manual", "CodeBuild"]);
            assert.deepEqual(cs.outputArtifacts, ["ChangeSetPlan"]);
            assert.deepEqual(ex.inputArtifacts, ["DeploymentRepository", "ChangeSetPlan"]);
            assert.equal(ap.category, "Approval");
            assert.equal(ap.configuration.NotificationArn, "arn:aws:sns:us-east-1:123456789012:approvals");
            assert.equal(ex.configuration.ProjectName, "todobackend-execute");
        });
    });
});

describe("delivery IAM documents", () => {
    const base = { region: "eu-west-1", account: "111", projectPrefix: "tb-", artifactBucketArn: "arn:aws:s3:::art" };
    it("scopes app pushes to the app repository alone", () => {
        const doc = appBuildPolicy({ ...base, appRepositoryArn: "arn:app", buildImageRepositoryArn: "arn:img" });
        const push = doc.Statement.filter((s) => s.Action.includes("ecr:PutImage"));
        assert.deepEqual(push.map((s) => s.Resource), ["arn:app"]);
    });
    it("limits the deploy role's IAM actions to the environment name prefix and the stack's region", () => {
        const doc = deployPolicy({ ...base, stateBucketArn: "arn:aws:s3:::st", kmsKeyArn: "arn:key", namePrefix: "todobackend-" });
        assert.deepEqual(doc.Statement.find((s) => s.Sid === "IamByPrefix")!.Resource,
            ["arn:aws:iam::111:role/todobackend-*", "arn:aws:iam::111:instance-profile/todobackend-*"]);
        assert.deepEqual(doc.Statement.find((s) => s.Sid === "EnvironmentServices")!.Condition, { StringEquals: { "aws:RequestedRegion": "eu-west-1" } });
        assert.ok(!JSON.stringify(doc).match(/AdministratorAccess|PowerUser|"iam:\*"/));
    });
});

describe("delivery config", () => {
    it("refuses a repository that is not owner/name and names the key to fix", () => {
        assert.throws(() => validateDeliveryConfig({ appRepository: "todobackend", deploymentRepository: "a/b" }), /todobackend:appRepository.*Fix/);
    });
    it("defaults the prefix to docker-in-aws and the branch to master", () => {
        const c = validateDeliveryConfig({ appRepository: "a/b", deploymentRepository: "a/c" });
        assert.deepEqual([c.repositoryPrefix, c.branch, c.artifactExpiryDays], ["docker-in-aws", "master", 30]);
    });
});
