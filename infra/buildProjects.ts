import * as aws from "@pulumi/aws";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { environmentName, PROJECT } from "./config/common";
import { environmentBoundaryPolicy } from "./lib/boundaryIam";
import { stageRoleTrustPolicy } from "./lib/automation";
import { appBuildPolicy, assumeRolePolicy } from "./lib/deliveryIam";
import { appBuildProjectName } from "./lib/deliveryNaming";
import { artifactObjects, STAGE_ARTIFACTS } from "./lib/pipelineStages";
import { EnvironmentRoleArgs, environmentDeployPolicy, environmentPreviewPolicy } from "./lib/environmentDeployIam";
import { checkLogRetention, checkWholeNumber } from "./lib/validation";
import { environmentRolePath, validateNamePrefix } from "./lib/naming";
import { NamedComponentArgs } from "./lib/componentArgs";

export const BUILDSPEC_DIR = path.join(__dirname, "..", "buildspecs");
export function readBuildspec(file: string): string {
    return fs.readFileSync(path.join(BUILDSPEC_DIR, file), "utf8");
}

/** The environments the pipeline deploys, in stage order: Dev deploys the first, Production the second. */
export const PIPELINE_ENVIRONMENTS = ["dev", "prod"] as const;
export type PipelineEnvironment = typeof PIPELINE_ENVIRONMENTS[number];

/** The ECR repositories the build projects read and write (the Registry's). */
export interface BuildRepositories {
    app: { arn: pulumi.Input<string>; repositoryUrl: pulumi.Input<string> };
    /** Where Docker's official images are pulled through this account's ECR cache (`<registry>/ecr-public/docker/library`). */
    baseImageRegistry: pulumi.Input<string>;
    buildImage: { arn: pulumi.Input<string> };
    deploy: { arn: pulumi.Input<string> };
}

/** An environment's secrets provider (the StateBackend's key of that environment). */
export interface SecretsProviderRef {
    kmsKeyArn: pulumi.Input<string>;
    /** `awskms://alias/...?region=...`, PULUMI_SECRETS_PROVIDER of the environment's deploy projects. */
    secretsProvider: pulumi.Input<string>;
}

/** Where the deploy projects keep Pulumi state and encrypt its secrets (the StateBackend's). */
export interface StateBackendRef {
    bucketArn: pulumi.Input<string>;
    /** `s3://...?region=...`, PULUMI_BACKEND_URL of the deploy projects. */
    url: pulumi.Input<string>;
    /** The state bucket's key, also the delivery stack's secrets provider (read through the StackReference). */
    kmsKeyArn: pulumi.Input<string>;
    /** Each environment's own secrets provider: no other environment's role may use it. */
    environments: Record<PipelineEnvironment, SecretsProviderRef>;
}

/** `namePrefix` → projects `<prefix>build`, `<prefix>deploy-dev`, ... and their log groups `/aws/codebuild/<project>`; at most 40 characters. */
export interface BuildProjectsArgs extends NamedComponentArgs {
    /** Pipeline artifact bucket the builds read and write (each only its action's artifacts). */
    readonly artifactBucketArn: pulumi.Input<string>;
    /** The name of the pipeline whose artifacts the builds read and write: the first part of their object keys. */
    readonly artifactPipelineName: string;
    readonly repositories: BuildRepositories;
    /** Full build image reference (repository URL with digest). */
    readonly buildImage: pulumi.Input<string>;
    /** Full deploy image reference (the ECR copy of Pulumi's image, by digest). */
    readonly deployImage: pulumi.Input<string>;
    readonly state: StateBackendRef;
    /** ExecuteChangeSet applies with `pulumi up --plan <approved plan>` (USE_UPDATE_PLAN). @default true */
    readonly useUpdatePlan?: pulumi.Input<boolean>;
    /** Minutes Dev/Deploy and ExecuteChangeSet may run; CodeBuild's 60 is less than a first prod update. @default 180 */
    readonly deployTimeoutMinutes?: number;
    /** Days the projects' logs are kept in their log groups, which this component creates. @default 30 */
    readonly logRetentionDays?: number;
    /**
     * The automation service's task role (AutomationService), which runs each stack's jobs with that
     * stack's stage role: the three stage roles also trust it. An ARN, not the role: the role is made
     * after these (its policy names them). @default - only CodeBuild assumes them
     */
    readonly automationTaskRoleArn?: pulumi.Input<string>;
}

/** One pipeline stage's CodeBuild project and the role it runs as. */
export interface StageProject { project: aws.codebuild.Project; role: aws.iam.Role }

/**
 * The app build project (book §4) and the three Pulumi projects of the pipeline, each with its own
 * role: Dev/Deploy may change only dev's resources; Production/ChangeSet (a preview of code not yet
 * approved) may only read prod; Production/ExecuteChangeSet, after the approval, may change prod.
 * Also the permissions boundary of each environment's roles, which those roles must carry.
 */
export class BuildProjects extends pulumi.ComponentResource {
    public readonly app: StageProject;
    public readonly dev: StageProject;
    public readonly changeSet: StageProject;
    public readonly execute: StageProject;
    /** The boundary every role of an environment carries; the environment stacks read its ARN from the delivery stack. */
    public readonly environmentBoundaries: Record<PipelineEnvironment, aws.iam.Policy>;

    constructor(name: string, args: BuildProjectsArgs, opts?: pulumi.ComponentResourceOptions) {
        validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 40, component: "BuildProjects" });
        checkWholeNumber("deployTimeoutMinutes", args.deployTimeoutMinutes, 60, 2160, "give a first prod update time: 180 minutes.");
        checkLogRetention("logRetentionDays", args.logRetentionDays);
        super("todobackend:infra:BuildProjects", name, {}, opts);
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const region = aws.getRegionOutput({}, { parent: this });
        const codebuildRole = (key: string, trustAutomation = false) => new aws.iam.Role(`${name}-${key}`, {
            assumeRolePolicy: trustAutomation && args.automationTaskRoleArn !== undefined
                ? pulumi.all([identity.accountId, args.automationTaskRoleArn]).apply(([account, taskRole]) =>
                    JSON.stringify(stageRoleTrustPolicy(account, taskRole)))
                : JSON.stringify(assumeRolePolicy("codebuild.amazonaws.com")), tags: args.tags }, { parent: this });
        const projectName = (key: string) => `${args.namePrefix}${key}`;

        const appRole = codebuildRole("app");
        // Each build reads and writes only the artifacts of its action (lib/pipelineStages.ts).
        const artifacts = (bucket: string, stage: keyof typeof STAGE_ARTIFACTS) => ({
            artifactReads: STAGE_ARTIFACTS[stage].inputs.map((a) => artifactObjects(bucket, args.artifactPipelineName, a)),
            artifactWrites: STAGE_ARTIFACTS[stage].outputs.map((a) => artifactObjects(bucket, args.artifactPipelineName, a)) });
        new aws.iam.RolePolicy(`${name}-app`, { role: appRole.id, policy: pulumi.all([region.region, identity.accountId, args.artifactBucketArn,
            args.repositories.app.arn, args.repositories.buildImage.arn]).apply(([r, account, bucket, app, img]) => JSON.stringify(appBuildPolicy({
            region: r, account, projectPrefix: args.namePrefix, ...artifacts(bucket, "app"), appRepositoryArn: app, buildImageRepositoryArn: img }))) }, { parent: this });

        this.environmentBoundaries = Object.fromEntries(PIPELINE_ENVIRONMENTS.map((env) => [env, new aws.iam.Policy(`${name}-boundary-${env}`, {
            name: `${environmentName(env)}-boundary`,
            description: `Permissions boundary of the ${env} stack's roles: the most any of them may do`,
            policy: pulumi.all([region.region, identity.accountId]).apply(([r, account]) => JSON.stringify(environmentBoundaryPolicy({
                region: r, account, envName: environmentName(env), rolePath: environmentRolePath(environmentName(env)) }))),
            tags: args.tags,
        }, { parent: this })])) as Record<PipelineEnvironment, aws.iam.Policy>;

        const stageRole = (key: string, env: PipelineEnvironment, stage: "dev" | "changeSet" | "execute", projects: string[], document: (a: EnvironmentRoleArgs) => object) => {
            const role = codebuildRole(key, true);
            new aws.iam.RolePolicy(`${name}-${key}`, { role: role.id, policy: pulumi.all([region.region, identity.accountId, args.artifactBucketArn,
                args.state.bucketArn, args.state.kmsKeyArn, args.state.environments[env].kmsKeyArn, args.repositories.deploy.arn, this.environmentBoundaries[env].arn])
                .apply(([r, account, bucket, state, stateKey, secretsKey, deployRepo, boundary]) => JSON.stringify(document({
                    region: r, account, environment: env, envName: environmentName(env), project: PROJECT, buildProjects: projects,
                    ...artifacts(bucket, stage), stateBucketArn: state, kmsKeyArn: stateKey, secretsKeyArn: secretsKey,
                    deployImageRepositoryArn: deployRepo, boundaryArn: boundary }))) }, { parent: this });
            return role;
        };

        const pipelineSource = (buildspec: string) => ({ type: "CODEPIPELINE", buildspec });
        // CodeBuild's own log groups never expire: each project writes to one made here, with a retention.
        const logGroup = (key: string) => new aws.cloudwatch.LogGroup(`${name}-${key}`, {
            name: `/aws/codebuild/${projectName(key)}`, retentionInDays: args.logRetentionDays ?? 30, tags: args.tags }, { parent: this });
        const logsConfig = (group: aws.cloudwatch.LogGroup) => ({ cloudwatchLogs: { status: "ENABLED", groupName: group.name } });
        const appLogs = logGroup("build");
        this.app = { role: appRole, project: new aws.codebuild.Project(`${name}-app`, {
            name: appBuildProjectName(args.namePrefix), serviceRole: appRole.arn,
            source: pipelineSource(readBuildspec("app-buildspec.yml")), artifacts: { type: "CODEPIPELINE" },
            buildTimeout: 60, logsConfig: logsConfig(appLogs),
            // The book's Makefile and compose file hard-code the author's account (book §11.14); these let them not.
            // BASE_IMAGE_REGISTRY: Docker's official images through this account's ECR pull-through
            // cache of ECR Public, not anonymously from Docker Hub (docs/delivery.md, "Base images").
            environment: { type: "LINUX_CONTAINER", computeType: "BUILD_GENERAL1_SMALL", image: args.buildImage,
                imagePullCredentialsType: "CODEBUILD", privilegedMode: true, environmentVariables: [
                    { name: "AWS_ACCOUNT_ID", value: identity.accountId },
                    { name: "REPOSITORY_URI", value: args.repositories.app.repositoryUrl },
                    { name: "BASE_IMAGE_REGISTRY", value: args.repositories.baseImageRegistry },
                ] },
            tags: args.tags,
        }, { parent: this, dependsOn: [appLogs] }) };
        const deploy = (key: string, env: PipelineEnvironment, role: aws.iam.Role, file: string, timeoutMinutes: number,
            extraVariables: aws.types.input.codebuild.ProjectEnvironmentEnvironmentVariable[] = []) => {
            const logs = logGroup(key);
            return { role, project: new aws.codebuild.Project(`${name}-${key}`, {
                name: projectName(key), serviceRole: role.arn,
                source: pipelineSource(readBuildspec(file)), artifacts: { type: "CODEPIPELINE" },
                buildTimeout: timeoutMinutes, logsConfig: logsConfig(logs),
                // SERVICE_ROLE: the image comes from this account's ECR with the project's own role,
                // not anonymously from Docker Hub, whose pull limits shared CodeBuild addresses exhaust.
                environment: { type: "LINUX_CONTAINER", computeType: "BUILD_GENERAL1_SMALL", image: args.deployImage,
                    imagePullCredentialsType: "SERVICE_ROLE", privilegedMode: false, environmentVariables: [
                        { name: "PULUMI_BACKEND_URL", value: args.state.url },
                        { name: "PULUMI_SECRETS_PROVIDER", value: args.state.environments[env].secretsProvider },
                        ...extraVariables,
                    ] },
                tags: args.tags,
            }, { parent: this, dependsOn: [logs] }) };
        };
        // An update (and the rollout check after it) may take long; a preview does not.
        const deployTimeout = args.deployTimeoutMinutes ?? 180;
        this.dev = deploy("deploy-dev", "dev", stageRole("deploy-dev", "dev", "dev", [projectName("deploy-dev")], environmentDeployPolicy), "deploy-dev.yml", deployTimeout);
        this.changeSet = deploy("changeset", "prod", stageRole("preview-prod", "prod", "changeSet", [projectName("changeset")], environmentPreviewPolicy), "deploy-changeset.yml", 60);
        this.execute = deploy("execute", "prod", stageRole("deploy-prod", "prod", "execute", [projectName("execute")], environmentDeployPolicy), "deploy-execute.yml", deployTimeout, [
            { name: "USE_UPDATE_PLAN", value: pulumi.output(args.useUpdatePlan ?? true).apply((use) => String(use)) }]);
        this.registerOutputs({ app: this.app, dev: this.dev, changeSet: this.changeSet, execute: this.execute, environmentBoundaries: this.environmentBoundaries });
    }
}
