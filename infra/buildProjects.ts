import * as aws from "@pulumi/aws";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { TagsInput } from "./config/common";
import { environmentBoundaryPolicy } from "./lib/boundaryIam";
import { appBuildPolicy, assumeRolePolicy, deployPolicy } from "./lib/deliveryIam";
import { appBuildProjectName } from "./lib/deliveryNaming";

export const BUILDSPEC_DIR = path.join(__dirname, "..", "buildspecs");
export function readBuildspec(file: string): string {
    return fs.readFileSync(path.join(BUILDSPEC_DIR, file), "utf8");
}

/** Official Pulumi image (public, Docker Hub, pulled with CodeBuild's identity); deploy jobs need no Docker daemon. */
export const PULUMI_IMAGE = "pulumi/pulumi-nodejs:3.259.0";

export interface BuildProjectsArgs {
    /** Prefix of the project names (`<prefix>build`, `<prefix>deploy-dev`, ...) and of their log groups. */
    namePrefix: pulumi.Input<string>;
    /** Pipeline artifact bucket the builds read and write. */
    artifactBucketArn: pulumi.Input<string>;
    /** The app repository, the only one the app build may push to. */
    appRepositoryArn: pulumi.Input<string>;
    /** App repository URL, handed to the app build as REPOSITORY_URI so its Makefile needs no hard-coded registry. */
    appRepositoryUrl: pulumi.Input<string>;
    /** The build image's repository, which the app build may pull from. */
    buildImageRepositoryArn: pulumi.Input<string>;
    /** Full build image reference (repository URL with tag or digest). */
    buildImage: pulumi.Input<string>;
    /** Pulumi state bucket the deploy projects read and write. */
    stateBucketArn: pulumi.Input<string>;
    /** Its backend URL (`s3://...`), PULUMI_BACKEND_URL of the deploy projects. */
    stateBucketUrl: pulumi.Input<string>;
    /** KMS key of the stacks' secrets provider (and the state bucket's encryption). */
    kmsKeyArn: pulumi.Input<string>;
    /** Secrets provider URL (`awskms://alias/...`), PULUMI_SECRETS_PROVIDER of the deploy projects. */
    secretsProvider: pulumi.Input<string>;
    /** Role name prefix the environment stacks use; the deploy role may only create roles under it. @default "todobackend-" */
    envRolePrefix?: pulumi.Input<string>;
    /** ExecuteChangeSet applies with `pulumi up --plan <approved plan>` (USE_UPDATE_PLAN). @default true */
    useUpdatePlan?: pulumi.Input<boolean>;
    /** Tags for the roles and projects (the stack's base tags). @default - none */
    tags?: TagsInput;
}

/**
 * The app build project (book §4), the three Pulumi deploy projects, and the permissions
 * boundary the deploy role must put on every role it creates for the environments.
 */
export class BuildProjects extends pulumi.ComponentResource {
    public readonly app: aws.codebuild.Project;
    public readonly dev: aws.codebuild.Project;
    public readonly changeSet: aws.codebuild.Project;
    public readonly execute: aws.codebuild.Project;
    public readonly appRole: aws.iam.Role;
    public readonly deployRole: aws.iam.Role;
    /** The boundary of every environment role; the environment stacks read its ARN from the delivery stack. */
    public readonly environmentBoundary: aws.iam.Policy;

    constructor(name: string, args: BuildProjectsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("todobackend:infra:BuildProjects", name, {}, opts);
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const region = aws.getRegionOutput({}, { parent: this });
        const base = { region: region.region, account: identity.accountId, projectPrefix: args.namePrefix, artifactBucketArn: args.artifactBucketArn };

        this.appRole = new aws.iam.Role(`${name}-app`, { assumeRolePolicy: JSON.stringify(assumeRolePolicy("codebuild.amazonaws.com")), tags: args.tags }, { parent: this });
        new aws.iam.RolePolicy(`${name}-app`, { role: this.appRole.id, policy: pulumi.all([base, args.appRepositoryArn, args.buildImageRepositoryArn])
            .apply(([b, app, img]) => JSON.stringify(appBuildPolicy({ ...b, appRepositoryArn: app, buildImageRepositoryArn: img }))) }, { parent: this });
        const rolePrefix = args.envRolePrefix ?? "todobackend-";
        this.environmentBoundary = new aws.iam.Policy(`${name}-environment-boundary`, {
            name: pulumi.interpolate`${args.namePrefix}environment-boundary`,
            description: "Permissions boundary of the environment stacks' roles: the most any of them may do",
            policy: pulumi.all([identity.accountId, rolePrefix]).apply(([account, prefix]) => JSON.stringify(environmentBoundaryPolicy({ account, rolePrefix: prefix }))),
            tags: args.tags,
        }, { parent: this });
        this.deployRole = new aws.iam.Role(`${name}-deploy`, { assumeRolePolicy: JSON.stringify(assumeRolePolicy("codebuild.amazonaws.com")), tags: args.tags }, { parent: this });
        new aws.iam.RolePolicy(`${name}-deploy`, { role: this.deployRole.id, policy: pulumi.all([base, args.stateBucketArn, args.kmsKeyArn, rolePrefix, this.environmentBoundary.arn])
            .apply(([b, state, key, prefix, boundary]) => JSON.stringify(deployPolicy({ ...b, stateBucketArn: state, kmsKeyArn: key, namePrefix: prefix, boundaryArn: boundary }))) }, { parent: this });

        const pipelineSource = (buildspec: string) => ({ type: "CODEPIPELINE", buildspec });
        this.app = new aws.codebuild.Project(`${name}-app`, {
            name: pulumi.output(args.namePrefix).apply(appBuildProjectName), serviceRole: this.appRole.arn,
            source: pipelineSource(readBuildspec("app-buildspec.yml")), artifacts: { type: "CODEPIPELINE" },
            // The book's Makefile and compose file hard-code the author's account (book §11.14); these let them not.
            environment: { type: "LINUX_CONTAINER", computeType: "BUILD_GENERAL1_SMALL", image: args.buildImage,
                imagePullCredentialsType: "CODEBUILD", privilegedMode: true, environmentVariables: [
                    { name: "AWS_ACCOUNT_ID", value: identity.accountId },
                    { name: "REPOSITORY_URI", value: args.appRepositoryUrl },
                ] },
            tags: args.tags,
        }, { parent: this });
        const deploy = (key: string, file: string, extraVariables: aws.types.input.codebuild.ProjectEnvironmentEnvironmentVariable[] = []) => new aws.codebuild.Project(`${name}-${key}`, {
            name: pulumi.interpolate`${args.namePrefix}${key}`, serviceRole: this.deployRole.arn,
            source: pipelineSource(readBuildspec(file)), artifacts: { type: "CODEPIPELINE" },
            environment: { type: "LINUX_CONTAINER", computeType: "BUILD_GENERAL1_SMALL", image: PULUMI_IMAGE,
                imagePullCredentialsType: "CODEBUILD", privilegedMode: false, environmentVariables: [
                    { name: "PULUMI_BACKEND_URL", value: args.stateBucketUrl },
                    { name: "PULUMI_SECRETS_PROVIDER", value: args.secretsProvider },
                    ...extraVariables,
                ] },
            tags: args.tags,
        }, { parent: this });
        this.dev = deploy("deploy-dev", "deploy-dev.yml");
        this.changeSet = deploy("changeset", "deploy-changeset.yml");
        this.execute = deploy("execute", "deploy-execute.yml", [
            { name: "USE_UPDATE_PLAN", value: pulumi.output(args.useUpdatePlan ?? true).apply((use) => String(use)) }]);
        this.registerOutputs({ app: this.app.name, dev: this.dev.name, changeSet: this.changeSet.name, execute: this.execute.name,
            appRole: this.appRole.arn, deployRole: this.deployRole.arn, environmentBoundary: this.environmentBoundary.arn });
    }
}
