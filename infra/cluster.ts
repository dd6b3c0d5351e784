// The ECS cluster on EC2 (book §6.2, modernised per §10 #14, #15): a launch template (IMDSv2, the
// ECS-optimised AL2023 AMI, user data joining the cluster), an Auto Scaling group in the private
// subnets and a capacity provider whose managed scaling and termination protection replace the
// book's capacity and lifecycle-hook Lambdas. No key pair and no SSH: SSM Session Manager instead.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NamedComponentArgs } from "./lib/componentArgs";
import { clusterUserData, ECS_AMI_PARAMETER, instanceAgentPolicy, instanceAssumeRolePolicy, instanceManagedPolicyArns } from "./lib/cluster";
import { plainTags, withNameTag } from "./lib/tags";
import { environmentRolePath, validateNamePrefix } from "./lib/naming";

/** What the services and tasks placed on a cluster need of it (a Cluster is one). */
export interface EcsClusterRef {
    clusterArn: pulumi.Input<string>;
    /** Read through the capacity-provider association, so whoever uses it waits until tasks can be placed. */
    clusterName: pulumi.Input<string>;
    capacityProviderName: pulumi.Input<string>;
}

/**
 * `namePrefix` → e.g. cluster `todobackend-dev-cluster`; at most 50 characters (the role
 * `<prefix>-ecs-instance` allows 64). The tags also propagate to the instances and their volumes.
 */
export interface ClusterArgs extends NamedComponentArgs {
    /** Private subnets of the Auto Scaling group. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The instances' security group (SecurityGroups.instanceSecurityGroupId). */
    readonly securityGroupId: pulumi.Input<string>;
    /** @default "t3.micro" */
    readonly instanceType?: pulumi.Input<string>;
    /** Auto Scaling group minimum. @default 1 */
    readonly minSize?: number;
    /** Auto Scaling group maximum. @default 4 (the book's) */
    readonly maxSize?: number;
    /** AMI of the instances. @default the ECS-optimised AL2023 AMI read from SSM at each deploy */
    readonly amiId?: pulumi.Input<string>;
    /** Percent of cluster capacity managed scaling aims to use. @default 100 */
    readonly targetCapacity?: number;
    /**
     * Permissions boundary of the roles this component creates (the delivery stack's
     * `environmentRoleBoundaryArns[<stack>]`, which its deploy role requires). @default - none
     */
    readonly permissionsBoundary?: pulumi.Input<string>;
}

export function validateClusterArgs(args: ClusterArgs): void {
    validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 50, component: "Cluster" });
    const min = args.minSize ?? 1;
    const max = args.maxSize ?? 4;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < 1 || min > max) {
        throw new Error(`Cluster: \`minSize\` (${min}) and \`maxSize\` (${max}) must be integers with 0 ≤ minSize ≤ maxSize and maxSize ≥ 1. Fix: e.g. minSize 1, maxSize 4`);
    }
    const target = args.targetCapacity ?? 100;
    if (!Number.isInteger(target) || target < 1 || target > 100) {
        throw new Error(`Cluster: \`targetCapacity\` must be an integer percentage 1–100, got ${target}. Fix: pass 100 to pack instances fully`);
    }
}

/**
 * An ECS cluster on EC2 instances: the instance role and profile, a launch template, an Auto
 * Scaling group refreshed on every template change, and the capacity provider that scales it.
 */
export class Cluster extends pulumi.ComponentResource implements EcsClusterRef {
    readonly cluster: aws.ecs.Cluster;
    readonly clusterName: pulumi.Output<string>;
    readonly clusterArn: pulumi.Output<string>;
    readonly capacityProviderName: pulumi.Output<string>;
    readonly instanceRole: aws.iam.Role;
    readonly autoScalingGroup: aws.autoscaling.Group;
    /** The cluster with its capacity provider attached: run tasks and services after this. */
    readonly capacityProviders: aws.ecs.ClusterCapacityProviders;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        validateClusterArgs(args);
        super("todobackend:infra:Cluster", name, {}, opts);
        const clusterName = `${args.namePrefix}-cluster`;
        const instanceName = `${args.namePrefix}-instance`;

        // Container Insights reports each service's running and desired task counts, which the
        // environment's "tasks below desired" alarm compares.
        this.cluster = new aws.ecs.Cluster(name, { name: clusterName, settings: [{ name: "containerInsights", value: "enabled" }],
            tags: withNameTag(args.tags, clusterName) }, { parent: this });

        this.instanceRole = new aws.iam.Role(`${name}-instance`, {
            name: `${args.namePrefix}-ecs-instance`, path: environmentRolePath(args.namePrefix), assumeRolePolicy: instanceAssumeRolePolicy(), permissionsBoundary: args.permissionsBoundary,
            description: `ECS container instances of ${clusterName}`, tags: plainTags(args.tags),
        }, { parent: this });
        // The ECS agent's rights on this cluster only (a host of dev must not join prod's cluster).
        const agentPolicy = new aws.iam.RolePolicy(`${name}-instance`, { role: this.instanceRole.id,
            policy: this.cluster.arn.apply((clusterArn) => JSON.stringify(instanceAgentPolicy({ clusterArn, namePrefix: args.namePrefix }))) }, { parent: this });
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        const ssmPolicy = new aws.iam.RolePolicyAttachment(`${name}-instance-ssm`, {
            role: this.instanceRole.name, policyArn: partition.apply((p) => instanceManagedPolicyArns(p).ssm),
        }, { parent: this });
        const profile = new aws.iam.InstanceProfile(`${name}-instance`, {
            name: `${args.namePrefix}-ecs-instance`, path: environmentRolePath(args.namePrefix), role: this.instanceRole.name, tags: plainTags(args.tags),
        }, { parent: this });

        const imageId = args.amiId ?? aws.ssm.getParameterOutput({ name: ECS_AMI_PARAMETER }, { parent: this }).value;
        const instanceTags = withNameTag(args.tags, instanceName);
        const launchTemplate = new aws.ec2.LaunchTemplate(`${name}-instances`, {
            name: `${args.namePrefix}-instances`, imageId, instanceType: args.instanceType ?? "t3.micro",
            iamInstanceProfile: { arn: profile.arn },
            vpcSecurityGroupIds: [args.securityGroupId],
            userData: Buffer.from(clusterUserData(clusterName)).toString("base64"),
            // IMDSv2 only; hop limit 1 keeps bridge-mode containers away from the instance role's
            // credentials (they use their task role).
            metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
            blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 30, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
            tagSpecifications: [
                { resourceType: "instance", tags: instanceTags },
                { resourceType: "volume", tags: instanceTags },
                // The deploy role may launch only what carries its environment's tag, the interface included.
                { resourceType: "network-interface", tags: instanceTags },
            ],
            updateDefaultVersion: true,
            tags: plainTags(args.tags),
        }, { parent: this });

        this.autoScalingGroup = new aws.autoscaling.Group(`${name}-instances`, {
            name: `${args.namePrefix}-instances`, vpcZoneIdentifiers: args.subnetIds,
            minSize: args.minSize ?? 1, maxSize: args.maxSize ?? 4,
            // The template's version number, not "$Latest": a new version (a new AMI, a changed
            // instance type) is then a change of the group, which starts the instance refresh.
            launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
            // Managed termination protection needs scale-in protection on the group's instances.
            protectFromScaleIn: true,
            // Without a refresh, scale-in protection keeps the old instances (and their old AMI)
            // forever. Rolling, launch before terminate (capacity never below 100 %), protected
            // instances included, rolled back if the new ones do not become healthy.
            instanceRefresh: {
                strategy: "Rolling",
                preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200, scaleInProtectedInstances: "Refresh", skipMatching: true, autoRollback: true, instanceWarmup: "300" },
            },
            healthCheckType: "EC2",
            tags: instanceTags.apply((t) => [
                ...Object.entries(t).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
                // ECS adds this tag to groups behind a capacity provider; declaring it avoids a diff.
                { key: "AmazonECSManaged", value: "true", propagateAtLaunch: true },
            ]),
        }, { parent: this, ignoreChanges: ["desiredCapacity"], dependsOn: [agentPolicy, ssmPolicy] });

        const capacityProvider = new aws.ecs.CapacityProvider(`${name}-ec2`, {
            name: `${args.namePrefix}-ec2`,
            autoScalingGroupProvider: {
                autoScalingGroupArn: this.autoScalingGroup.arn,
                managedTerminationProtection: "ENABLED",
                managedDraining: "ENABLED",
                managedScaling: { status: "ENABLED", targetCapacity: args.targetCapacity ?? 100, minimumScalingStepSize: 1, maximumScalingStepSize: 2 },
            },
            tags: plainTags(args.tags),
        }, { parent: this });

        this.capacityProviders = new aws.ecs.ClusterCapacityProviders(name, {
            clusterName: this.cluster.name,
            capacityProviders: [capacityProvider.name],
            defaultCapacityProviderStrategies: [{ capacityProvider: capacityProvider.name, weight: 1, base: 0 }],
        }, { parent: this });

        this.clusterName = this.capacityProviders.clusterName;
        this.clusterArn = this.cluster.arn;
        this.capacityProviderName = capacityProvider.name;
        this.registerOutputs({ cluster: this.cluster, clusterName: this.clusterName, clusterArn: this.clusterArn, capacityProviderName: this.capacityProviderName,
            instanceRole: this.instanceRole, autoScalingGroup: this.autoScalingGroup, capacityProviders: this.capacityProviders });
    }
}
