import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumeRolePolicy, pipelinePolicy } from "./lib/deliveryIam";
import { CONNECTION_PROVIDERS } from "./config/delivery";
import { pipelineStages, StageNames } from "./lib/pipelineStages";
import { validateNamePrefix } from "./lib/naming";
import { NamedComponentArgs } from "./lib/componentArgs";

/** A CodeBuild project as the pipeline needs it. */
export interface ProjectRef { name: pulumi.Input<string>; arn: pulumi.Input<string> }

/** Build: the app image; Dev/Deploy: `pulumi up -s dev`; Production: ChangeSet (`pulumi preview -s prod --save-plan`), then ExecuteChangeSet (`pulumi up -s prod --plan`). */
export interface PipelineProjects { app: ProjectRef; dev: ProjectRef; changeSet: ProjectRef; execute: ProjectRef }

/** `namePrefix`: the pipeline's name (the book's `todobackend`), also the start of its connection's, `<prefix>-source`; at most 25 characters (connection names ≤ 32). */
export interface DeliveryPipelineArgs extends NamedComponentArgs {
    /** Name of the bucket the pipeline stores artifacts in. */
    readonly artifactBucket: pulumi.Input<string>;
    /** ARN of that bucket, for the pipeline role's policy. */
    readonly artifactBucketArn: pulumi.Input<string>;
    /** The app repository as "owner/name" (source action `MyApp`). */
    readonly appRepository: pulumi.Input<string>;
    /** This infrastructure repository as "owner/name" (source action `DeploymentRepository`). */
    readonly deploymentRepository: pulumi.Input<string>;
    /** Branch both source actions follow. */
    readonly branch: pulumi.Input<string>;
    /** Provider of the CodeStar connection, one of CONNECTION_PROVIDERS. @default "GitHub" */
    readonly connectionProvider?: pulumi.Input<string>;
    /** SNS topic the approval action notifies. @default - no notification */
    readonly approvalTopicArn?: pulumi.Input<string>;
    /** The CodeBuild projects of the stages (BuildProjects'); the pipeline role may start exactly these. */
    readonly projects: PipelineProjects;
}

/** The CodeStar connection and the V2 pipeline Source → Build → Dev → Production. */
export class DeliveryPipeline extends pulumi.ComponentResource {
    public readonly connection: aws.codestarconnections.Connection;
    public readonly pipeline: aws.codepipeline.Pipeline;

    constructor(name: string, args: DeliveryPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 25, component: "DeliveryPipeline" });
        if (typeof args.connectionProvider === "string" && !CONNECTION_PROVIDERS.includes(args.connectionProvider)) {
            throw new Error(`connectionProvider "${args.connectionProvider}" is not a CodeStar connection provider. Fix: use one of ${CONNECTION_PROVIDERS.join(", ")}`);
        }
        const missing = (["app", "dev", "changeSet", "execute"] as const).filter((k) => args.projects?.[k] === undefined);
        if (missing.length > 0) {
            throw new Error(`projects lacks ${missing.join(", ")}: the pipeline runs four projects. Fix: pass BuildProjects' app, dev, changeSet and execute projects`);
        }
        super("todobackend:infra:DeliveryPipeline", name, {}, opts);
        // Created PENDING: AWS requires a person to complete the OAuth handshake once in the console.
        this.connection = new aws.codestarconnections.Connection(name, { name: `${args.namePrefix}-source`,
            providerType: args.connectionProvider ?? "GitHub", tags: args.tags }, { parent: this });
        const role = new aws.iam.Role(name, { assumeRolePolicy: JSON.stringify(assumeRolePolicy("codepipeline.amazonaws.com")), tags: args.tags }, { parent: this });
        new aws.iam.RolePolicy(name, { role: role.id, policy: pulumi.all([args.artifactBucketArn, this.connection.arn,
            pulumi.all([args.projects.app.arn, args.projects.dev.arn, args.projects.changeSet.arn, args.projects.execute.arn]), args.approvalTopicArn]).apply(([bucket, conn, projects, topic]) =>
            JSON.stringify(pipelinePolicy({ artifactBucketArn: bucket, connectionArn: conn, buildProjectArns: projects, approvalTopicArn: topic }))) }, { parent: this });
        const names = pulumi.all({ connectionArn: this.connection.arn, appRepository: args.appRepository,
            deploymentRepository: args.deploymentRepository, branch: args.branch, appBuildProject: args.projects.app.name,
            devProject: args.projects.dev.name, changeSetProject: args.projects.changeSet.name, executeProject: args.projects.execute.name });
        const stages = pulumi.all([names, args.approvalTopicArn]).apply(([n, topic]) => pipelineStages({ ...(n as Omit<StageNames, "approvalTopicArn">), approvalTopicArn: topic }));
        this.pipeline = new aws.codepipeline.Pipeline(name, { name: args.namePrefix, roleArn: role.arn, pipelineType: "V2",
            artifactStores: [{ location: args.artifactBucket, type: "S3" }], stages, tags: args.tags }, { parent: this });
        this.registerOutputs({ connection: this.connection, pipeline: this.pipeline });
    }
}
