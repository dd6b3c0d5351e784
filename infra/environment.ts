// An environment stack (`dev`, `prod`): network, security groups, load balancer, database,
// ECS cluster, the app with its migrations, and the X-Ray daemon. This file only wires the
// components together; each concern lives in its own module.
import * as pulumi from "@pulumi/pulumi";
import { baseTags } from "./config/common";
import { EnvironmentConfig, readEnvironmentConfig } from "./config/environment";
import { AppService } from "./appService";
import { Cluster } from "./cluster";
import { Database } from "./database";
import { LoadBalancer } from "./loadBalancer";
import { Monitoring } from "./monitoring";
import { Network } from "./network";
import { imageReference, XRAY_SIDECAR_ADDRESS } from "./lib/appContainers";
import { SecurityGroups } from "./securityGroups";
import { XrayDaemon } from "./xray";

/** What an environment takes from the delivery stack. */
export interface DeliveryInputs {
    appRepositoryUrl: pulumi.Output<string>;
    xrayImage: pulumi.Output<string>;
    /** The boundary the delivery stack's deploy role requires on every role it creates; none without a delivery stack. */
    roleBoundaryArn?: pulumi.Output<string>;
}

/** The images (and the role boundary) from the delivery stack's outputs, or the images from config until it exists. */
export function deliveryInputs(cfg: EnvironmentConfig): DeliveryInputs {
    if (cfg.deliveryStack === undefined) {
        return { appRepositoryUrl: pulumi.output(cfg.appImageRepository!), xrayImage: pulumi.output(cfg.xrayImage) };
    }
    const delivery = new pulumi.StackReference("delivery", { name: cfg.deliveryStack });
    return {
        appRepositoryUrl: delivery.requireOutput("appRepositoryUrl") as pulumi.Output<string>,
        xrayImage: delivery.requireOutput("xrayImage") as pulumi.Output<string>,
        roleBoundaryArn: delivery.requireOutput("environmentRoleBoundaryArns").apply((arns: Record<string, string>) => {
            const arn = arns?.[cfg.stack];
            if (!arn) {
                throw new Error(`the delivery stack ${cfg.deliveryStack} has no role boundary for the environment "${cfg.stack}" ` +
                    `(it has ${Object.keys(arns ?? {}).join(", ") || "none"}). Fix: deploy an environment the pipeline knows (PIPELINE_ENVIRONMENTS in infra/buildProjects.ts), or update the delivery stack first`);
            }
            return arn;
        }),
    };
}

/**
 * The tag to deploy: the configured one (the pipeline sets it for its run), else the one this
 * stack deployed last, read from its own output `appImageTag`. So a preview or update outside the
 * pipeline (a person, the automation service, drift remediation) keeps what runs instead of
 * shipping whatever Build last pushed as `latest`.
 */
export function deployedImageTag(cfg: EnvironmentConfig): pulumi.Output<string> {
    if (cfg.imageTag !== undefined) return pulumi.output(cfg.imageTag);
    const self = new pulumi.StackReference("deployed", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${cfg.stack}` });
    return self.getOutput("appImageTag").apply((tag: unknown) => {
        if (typeof tag !== "string" || tag === "") {
            throw new Error(`todobackend:imageTag is not set and the stack ${cfg.stack} has deployed no image yet (no output appImageTag). ` +
                `Fix: pulumi config set todobackend:imageTag <commit>.<build> -s ${cfg.stack} (the pipeline sets it from version.json)`);
        }
        if (cfg.production && tag === "latest") {
            throw new Error(`the stack ${cfg.stack} last deployed the tag latest, which a production stack refuses. ` +
                `Fix: pulumi config set todobackend:imageTag <commit>.<build> -s ${cfg.stack}`);
        }
        return tag;
    });
}

export function environmentStack() {
    const cfg = readEnvironmentConfig();
    const tags = baseTags(cfg.stack, cfg.stack);
    const delivery = deliveryInputs(cfg);
    const imageTag = deployedImageTag(cfg);
    const permissionsBoundary = delivery.roleBoundaryArn;

    const network = new Network("network", {
        ...(cfg.vpcId === undefined
            ? { cidrBlock: cfg.vpcCidr, availabilityZones: cfg.availabilityZones, natGateways: cfg.natGateways }
            : { vpcId: cfg.vpcId, publicSubnetIds: cfg.publicSubnetIds, privateSubnetIds: cfg.privateSubnetIds }),
        tags,
    });
    const xrayService = cfg.xrayMode === "service";
    const security = new SecurityGroups("security", {
        vpcId: network.vpcId, namePrefix: cfg.envName, listenerPorts: cfg.certificateArn ? [80, 443] : [80], xrayDaemonService: xrayService, tags,
    });

    const loadBalancer = new LoadBalancer("web", {
        vpcId: network.vpcId, subnetIds: network.publicSubnetIds, securityGroupId: security.albSecurityGroupId,
        namePrefix: cfg.envName, certificateArn: cfg.certificateArn, deletionProtection: cfg.production, tags,
    });
    const database = new Database("db", {
        subnetIds: network.privateSubnetIds, securityGroupId: security.databaseSecurityGroupId, namePrefix: cfg.envName,
        instanceClass: cfg.dbInstanceClass, engineVersion: cfg.dbEngineVersion, allocatedStorageGiB: cfg.dbAllocatedStorage,
        multiAz: cfg.dbMultiAz, backupRetentionDays: cfg.dbBackupRetentionDays, deletionProtection: cfg.dbDeletionProtection,
        finalSnapshot: cfg.production, tags,
    });
    const cluster = new Cluster("ecs", {
        subnetIds: network.privateSubnetIds, securityGroupId: security.instanceSecurityGroupId, namePrefix: cfg.envName,
        instanceType: cfg.instanceType, minSize: cfg.clusterMinSize, maxSize: cfg.clusterMaxSize, amiId: cfg.amiId, permissionsBoundary, tags,
    });
    // The book's daemon service behind Cloud Map, or (config xrayMode sidecar) a daemon in each app task.
    const xray = xrayService ? new XrayDaemon("xray", {
        namePrefix: cfg.envName, vpcId: network.vpcId, privateSubnetIds: network.privateSubnetIds, cluster,
        securityGroupId: security.xraySecurityGroupId!, namespaceName: cfg.xrayNamespace, image: delivery.xrayImage,
        logRetentionDays: cfg.logRetentionDays, permissionsBoundary, tags,
    }) : undefined;
    const app = new AppService("app", {
        namePrefix: cfg.envName, cluster, loadBalancer, database,
        appRepository: delivery.appRepositoryUrl, imageTag,
        ...(xray ? { xrayDaemonAddress: xray.address } : { xraySidecarImage: delivery.xrayImage }),
        desiredCount: cfg.desiredCount, minCapacity: cfg.appMinCount, maxCapacity: cfg.appMaxCount,
        logRetentionDays: cfg.logRetentionDays, permissionsBoundary, tags,
    });

    const monitoring = new Monitoring("monitoring", {
        namePrefix: cfg.envName, email: cfg.alarmEmail, tags,
        targets: pulumi.all([loadBalancer.loadBalancer.arnSuffix, loadBalancer.targetGroup.arnSuffix, cluster.clusterName, app.service.name,
            database.instance.identifier]).apply(([lb, tg, clusterName, serviceName, db]) => ({
            loadBalancerArnSuffix: lb, targetGroupArnSuffix: tg, clusterName, serviceName, dbInstanceIdentifier: db })),
    });

    return {
        publicUrl: loadBalancer.publicUrl,
        /** Where this environment's alarms go; subscribe to it (or set todobackend:alarmEmail). */
        alarmTopicArn: monitoring.topic.arn,
        serviceName: app.service.name,
        // What the deploy buildspecs' rollout check expects the primary deployment to run.
        appTaskDefinitionArn: app.taskDefinition.arn,
        xrayAddress: xray ? xray.address : pulumi.output(XRAY_SIDECAR_ADDRESS),
        clusterName: cluster.clusterName,
        dbEndpoint: database.endpoint,
        vpcId: network.vpcId,
        appImage: pulumi.all([delivery.appRepositoryUrl, imageTag]).apply(([repository, tag]) => imageReference(repository, tag)),
        /** What the next update deploys when no tag is configured (deployedImageTag). */
        appImageTag: imageTag,
        xrayImage: delivery.xrayImage,
    };
}
