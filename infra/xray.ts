// The X-Ray daemon as its own Fargate service, found by the app through Cloud Map (book §7). A
// separate service rather than a sidecar so one pair of daemons serves every app task and the app's
// task definition stays the book's; Cloud Map gives it a stable DNS name without a load balancer
// (UDP cannot go through an ALB).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { xrayContainerDefinitions, xrayDaemonAddress } from "./lib/appContainers";
import { checkLogRetention, checkWholeNumber } from "./lib/validation";
import { validateNamePrefix } from "./lib/naming";
import { xrayExecutionPolicy, xrayTaskPolicy } from "./lib/xrayIam";
import { NamedComponentArgs } from "./lib/componentArgs";
import { EcsClusterRef } from "./cluster";
import { namedTags } from "./lib/tags";
import { taskRoles } from "./taskRoles";

/** `namePrefix` → e.g. service `todobackend-dev-xray`; at most 45 characters (the role `<prefix>-xray-execution` allows 64). */
export interface XrayDaemonArgs extends NamedComponentArgs {
    /** VPC the namespace's private hosted zone is attached to. */
    readonly vpcId: pulumi.Input<string>;
    /** Subnets of the daemon tasks; private, reaching AWS APIs through NAT. */
    readonly privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** ECS cluster the service runs in (the environment's cluster; Fargate needs no instances). */
    readonly cluster: Pick<EcsClusterRef, "clusterArn">;
    /**
     * Security group of the daemon tasks. The environment's SecurityGroups component owns it and its
     * rules (UDP 2000 in from the app's instances only; HTTPS and DNS out), because they reference the
     * app's group and vice versa.
     */
    readonly securityGroupId: pulumi.Input<string>;
    /** Private DNS namespace, e.g. `dev.services.dockerinaws.org`; must differ between environments sharing a VPC. */
    readonly namespaceName: pulumi.Input<string>;
    /** Daemon image: the delivery stack's build, or the official image (config `xrayImage`). */
    readonly image: pulumi.Input<string>;
    /** Running daemons. @default 2 */
    readonly desiredCount?: pulumi.Input<number>;
    /** Days the daemon's logs are kept. @default 7 */
    readonly logRetentionDays?: pulumi.Input<number>;
    /**
     * Permissions boundary of the roles this component creates (the delivery stack's
     * `environmentRoleBoundaryArns[<stack>]`, which its deploy role requires). @default - none
     */
    readonly permissionsBoundary?: pulumi.Input<string>;
}

/** Cloud Map namespace + `xray` service, Fargate task and service, roles and log group of the daemon. */
export class XrayDaemon extends pulumi.ComponentResource {
    public readonly namespace: aws.servicediscovery.PrivateDnsNamespace;
    public readonly discoveryService: aws.servicediscovery.Service;
    public readonly service: aws.ecs.Service;
    public readonly logGroup: aws.cloudwatch.LogGroup;
    /** `xray.<namespace>:2000`, the app's AWS_XRAY_DAEMON_ADDRESS. */
    public readonly address: pulumi.Output<string>;

    constructor(name: string, args: XrayDaemonArgs, opts: pulumi.ComponentResourceOptions = {}) {
        validateXrayArgs(args);
        super("todobackend:infra:XrayDaemon", name, {}, opts);
        const parent = { parent: this };
        const region = aws.getRegionOutput({}, parent).region;
        const tags = namedTags(args.tags, args.namePrefix);

        const logGroup = this.logGroup = new aws.cloudwatch.LogGroup(`${name}`, {
            name: `/${args.namePrefix}/ecs/xray`, retentionInDays: args.logRetentionDays ?? 7, tags: tags("xray"),
        }, parent);
        const { executionRole, taskRole } = taskRoles(name, { namePrefix: args.namePrefix, kind: "xray", tags: args.tags, permissionsBoundary: args.permissionsBoundary,
            executionPolicy: logGroup.arn.apply((arn) => JSON.stringify(xrayExecutionPolicy(arn))),
            taskPolicy: JSON.stringify(xrayTaskPolicy()) }, this);

        this.namespace = new aws.servicediscovery.PrivateDnsNamespace(`${name}-namespace`, {
            name: args.namespaceName, vpc: args.vpcId, description: pulumi.interpolate`${args.namespaceName} namespace`, tags: tags("services"),
        }, parent);
        // A records (awsvpc gives each task its own IP on a fixed port); a custom health check
        // because Route 53 cannot probe UDP, so ECS reports task health to Cloud Map instead.
        this.discoveryService = new aws.servicediscovery.Service(`${name}-discovery`, {
            name: "xray", description: "xray service",
            dnsConfig: { namespaceId: this.namespace.id, routingPolicy: "MULTIVALUE", dnsRecords: [{ type: "A", ttl: 60 }] },
            // failureThreshold is deprecated and always 1: the empty block is the whole setting.
            healthCheckCustomConfig: {}, tags: tags("xray"),
        }, parent);

        const taskDefinition = new aws.ecs.TaskDefinition(`${name}`, {
            family: `${args.namePrefix}-xray`,
            requiresCompatibilities: ["FARGATE"], networkMode: "awsvpc", cpu: "256", memory: "512",
            executionRoleArn: executionRole.arn, taskRoleArn: taskRole.arn,
            containerDefinitions: pulumi.all([args.image, region, logGroup.name])
                .apply(([image, r, group]) => JSON.stringify(xrayContainerDefinitions({ image, region: r, logGroupName: group }))),
            tags: tags("xray"),
        }, parent);
        this.service = new aws.ecs.Service(`${name}`, {
            name: `${args.namePrefix}-xray`, cluster: args.cluster.clusterArn, taskDefinition: taskDefinition.arn,
            desiredCount: args.desiredCount ?? 2, launchType: "FARGATE", platformVersion: "LATEST",
            deploymentMinimumHealthyPercent: 100, deploymentMaximumPercent: 200,
            networkConfiguration: { subnets: args.privateSubnetIds, securityGroups: [args.securityGroupId], assignPublicIp: false },
            serviceRegistries: { registryArn: this.discoveryService.arn },
            propagateTags: "SERVICE", enableEcsManagedTags: true, tags: tags("xray"),
        }, { parent: this, dependsOn: [logGroup] });

        this.address = pulumi.output(args.namespaceName).apply(xrayDaemonAddress);
        this.registerOutputs({ namespace: this.namespace, discoveryService: this.discoveryService, service: this.service,
            logGroup: this.logGroup, address: this.address });
    }
}

/** Fails early on values known at program time; Inputs still unknown are checked by AWS. */
export function validateXrayArgs(args: Pick<XrayDaemonArgs, "namePrefix" | "desiredCount" | "namespaceName" | "logRetentionDays">): void {
    validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 45, component: "XrayDaemon" });
    checkWholeNumber("desiredCount", args.desiredCount, 1, 10, "run at least one daemon (the book runs 2).");
    const ns = args.namespaceName;
    if (typeof ns === "string" && !/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$/.test(ns)) {
        throw new Error(`\`namespaceName\` must be a DNS domain name such as "dev.services.dockerinaws.org", got "${ns}".`);
    }
    checkLogRetention("logRetentionDays", args.logRetentionDays);
}
