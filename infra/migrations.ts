// Database migrations as a deployment step (the book's `MigrateTask` custom resource, book §6.8):
// a small Lambda runs the migrate task and waits for it; `aws.lambda.Invocation` calls it whenever
// the migrate task definition changes, and the app service depends on that invocation, so a new
// image's schema is in place before its tasks start and a failed migration stops the deployment.
import * as aws from "@pulumi/aws";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { assumeRolePolicy } from "./lib/deliveryIam";
import { migrationRunnerPolicy } from "./lib/appIam";
import { withNameTag } from "./lib/tags";
import { checkLogRetention } from "./lib/validation";
import { environmentRolePath, validateNamePrefix } from "./lib/naming";
import { NamedComponentArgs } from "./lib/componentArgs";
import { EcsClusterRef } from "./cluster";

export const RUNNER_SOURCE = path.join(__dirname, "functions", "runMigrations", "index.mjs");
/** Current Node runtime; its bundled AWS SDK v3 is all the runner needs, so there is nothing to package. */
export const RUNNER_RUNTIME = "nodejs22.x";
/** Lambda's maximum: a migration may wait for the capacity provider to start an instance first. */
export const RUNNER_TIMEOUT_SECONDS = 900;

/** `namePrefix` → e.g. function `todobackend-dev-migrations`; at most 50 characters (role names allow 64). */
export interface MigrationsArgs extends NamedComponentArgs {
    /** The cluster the migrate task runs in, placed with its EC2 capacity provider. */
    readonly cluster: EcsClusterRef;
    /** ARN (with revision) of the migrate task definition; every new revision re-runs the migrations. */
    readonly taskDefinitionArn: pulumi.Input<string>;
    /** Family of that task definition; the runner may start no other. */
    readonly taskDefinitionFamily: pulumi.Input<string>;
    /** The task definition's execution and task roles, which the runner passes to ECS. */
    readonly executionRoleArn: pulumi.Input<string>;
    readonly taskRoleArn: pulumi.Input<string>;
    /** Days the runner's logs are kept. @default 7 */
    readonly logRetentionDays?: pulumi.Input<number>;
    /**
     * Permissions boundary of the roles this component creates (the delivery stack's
     * `environmentRoleBoundaryArns[<stack>]`, which its deploy role requires). @default - none
     */
    readonly permissionsBoundary?: pulumi.Input<string>;
}

/** The runner Lambda, its role and log group, and the invocation that runs the migrations. */
export class Migrations extends pulumi.ComponentResource {
    public readonly function: aws.lambda.Function;
    public readonly invocation: aws.lambda.Invocation;
    public readonly role: aws.iam.Role;
    public readonly logGroup: aws.cloudwatch.LogGroup;

    constructor(name: string, args: MigrationsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 50, component: "Migrations" });
        checkLogRetention("logRetentionDays", args.logRetentionDays);
        super("todobackend:infra:Migrations", name, {}, opts);
        const parent = { parent: this };
        const identity = aws.getCallerIdentityOutput({}, parent);
        const region = aws.getRegionOutput({}, parent).region;
        const functionName = `${args.namePrefix}-migrations`;
        const tags = withNameTag(args.tags, functionName);

        // Created here rather than by Lambda so it has a retention and goes away with the stack.
        const logGroup = this.logGroup = new aws.cloudwatch.LogGroup(`${name}`, {
            name: `/aws/lambda/${functionName}`, retentionInDays: args.logRetentionDays ?? 7, tags,
        }, parent);
        const role = this.role = new aws.iam.Role(`${name}`, {
            name: functionName, path: environmentRolePath(args.namePrefix), assumeRolePolicy: JSON.stringify(assumeRolePolicy("lambda.amazonaws.com")), permissionsBoundary: args.permissionsBoundary, tags,
        }, parent);
        const policy = new aws.iam.RolePolicy(`${name}`, {
            role: role.id,
            policy: pulumi.all([region, identity.accountId, args.cluster.clusterArn, args.cluster.clusterName, args.taskDefinitionFamily,
                args.executionRoleArn, args.taskRoleArn, logGroup.arn])
                .apply(([r, account, clusterArn, clusterName, family, exec, task, logs]) => JSON.stringify(migrationRunnerPolicy({
                    region: r, account, clusterArn, clusterName, migrateFamily: family, passRoleArns: [exec, task], logGroupArn: logs }))),
        }, parent);
        this.function = new aws.lambda.Function(`${name}`, {
            name: functionName, role: role.arn, runtime: RUNNER_RUNTIME, handler: "index.handler", architectures: ["arm64"],
            code: new pulumi.asset.AssetArchive({ "index.mjs": new pulumi.asset.FileAsset(RUNNER_SOURCE) }),
            timeout: RUNNER_TIMEOUT_SECONDS, memorySize: 128, loggingConfig: { logFormat: "Text", logGroup: logGroup.name }, tags,
        }, { parent: this, dependsOn: [logGroup, policy] });
        // The input carries the task definition ARN, so a new revision (new image, new environment)
        // changes the input and re-invokes; `triggers` says so explicitly.
        this.invocation = new aws.lambda.Invocation(`${name}`, {
            functionName: this.function.name,
            input: pulumi.all([args.cluster.clusterArn, args.taskDefinitionArn, args.cluster.capacityProviderName]).apply(([cluster, taskDefinition, cp]) =>
                JSON.stringify(migrationsInput(cluster, taskDefinition, cp))),
            triggers: { taskDefinition: args.taskDefinitionArn },
        }, parent);
        this.registerOutputs({ function: this.function, invocation: this.invocation, role: this.role, logGroup: this.logGroup });
    }
}

/** The runner's input: one task of this revision in this cluster, on the cluster's EC2 capacity. */
export function migrationsInput(cluster: string, taskDefinition: string, capacityProvider: string) {
    return { cluster, taskDefinition, capacityProviderStrategy: [{ capacityProvider, weight: 1, base: 0 }] };
}
