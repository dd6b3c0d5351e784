import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumeRolePolicy, pipelinePolicy } from "./lib/deliveryIam";
import { pipelineStages, StageNames } from "./lib/pipelineStages";

export interface DeliveryPipelineArgs {
    /** Pipeline name. @default "todobackend" */
    pipelineName?: pulumi.Input<string>;
    artifactBucket: pulumi.Input<string>;
    artifactBucketArn: pulumi.Input<string>;
    appRepository: pulumi.Input<string>;
    deploymentRepository: pulumi.Input<string>;
    branch: pulumi.Input<string>;
    /** @default "GitHub" */
    connectionProvider?: pulumi.Input<string>;
    approvalTopicArn?: pulumi.Input<string>;
    /** Tags for the connection, role and pipeline (the stack's base tags). @default - none */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    projects: { app: aws.codebuild.Project; dev: aws.codebuild.Project; changeSet: aws.codebuild.Project; execute: aws.codebuild.Project };
}

/** The CodeStar connection and the V2 pipeline Source → Build → Dev → Production. */
export class DeliveryPipeline extends pulumi.ComponentResource {
    public readonly connection: aws.codestarconnections.Connection;
    public readonly pipeline: aws.codepipeline.Pipeline;

    constructor(name: string, args: DeliveryPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("todobackend:infra:DeliveryPipeline", name, {}, opts);
        // Created PENDING: AWS requires a person to complete the OAuth handshake once in the console.
        this.connection = new aws.codestarconnections.Connection(name, { name: `${name}-source`.slice(0, 32),
            providerType: args.connectionProvider ?? "GitHub", tags: args.tags }, { parent: this });
        const p = args.projects;
        const role = new aws.iam.Role(name, { assumeRolePolicy: JSON.stringify(assumeRolePolicy("codepipeline.amazonaws.com")), tags: args.tags }, { parent: this });
        new aws.iam.RolePolicy(name, { role: role.id, policy: pulumi.all([args.artifactBucketArn, this.connection.arn,
            p.app.arn, p.dev.arn, p.changeSet.arn, p.execute.arn, args.approvalTopicArn]).apply(([bucket, conn, a, d, c, e, topic]) =>
            JSON.stringify(pipelinePolicy({ artifactBucketArn: bucket, connectionArn: conn, buildProjectArns: [a, d, c, e], approvalTopicArn: topic }))) }, { parent: this });
        const names = pulumi.all({ connectionArn: this.connection.arn, appRepository: args.appRepository,
            deploymentRepository: args.deploymentRepository, branch: args.branch, appBuildProject: p.app.name,
            devProject: p.dev.name, changeSetProject: p.changeSet.name, executeProject: p.execute.name });
        const stages = pulumi.all([names, args.approvalTopicArn])
            .apply(([n, topic]) => pipelineStages({ ...(n as Omit<StageNames, "approvalTopicArn">), approvalTopicArn: topic }));
        this.pipeline = new aws.codepipeline.Pipeline(name, { name: args.pipelineName ?? "todobackend", roleArn: role.arn, pipelineType: "V2",
            artifactStores: [{ location: args.artifactBucket, type: "S3" }], stages, tags: args.tags }, { parent: this });
        this.registerOutputs({ pipelineName: this.pipeline.name, connectionArn: this.connection.arn });
    }
}
