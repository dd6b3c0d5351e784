// The `delivery` stack, once per account: registries, images, state backend, builds and the pipeline.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BuildProjects, PIPELINE_ENVIRONMENTS, PipelineEnvironment, SecretsProviderRef } from "./buildProjects";
import { baseTags } from "./config/common";
import { readDeliveryConfig } from "./config/delivery";
import { DeliveryImages } from "./images";
import { PipelineNotifications } from "./notifications";
import { DeliveryPipeline } from "./pipeline";
import { appBuildProjectName } from "./lib/deliveryNaming";
import { Registry } from "./registry";
import { PrivateBucket, StateBackend } from "./stateBackend";
import { AutomationService, AutomationServiceArgs } from "./automationService";
import { AutomationConfig, readAutomationConfig } from "./config/automation";
import { automationTaskRoleArn } from "./lib/automation";
import { Network } from "./network";

export const CONNECTION_ACTIVATION =
    "The CodeStar connection is created PENDING. Activate it once: AWS console → Developer Tools → Settings → " +
    "Connections → select the connection → Update pending connection → authorise the GitHub app.";

/** The pipeline's name (the book's). */
const PIPELINE_NAME = "todobackend";

/** Prefix of the automation service's physical names (`todobackend-automation-alb`, ...). */
export const AUTOMATION_PREFIX = "todobackend-automation";

/** Prefix of the CodeBuild project names (`todobackend-build`, `todobackend-deploy-dev`, ...). */
const PROJECT_PREFIX = "todobackend-";

export function deliveryStack() {
    const cfg = readDeliveryConfig();
    const automationCfg = readAutomationConfig();
    // On each resource's own `tags`, not provider defaultTags: the policy pack reads declared inputs.
    const tags = baseTags(pulumi.getStack(), pulumi.getStack());
    const registry = new Registry("registry", { namePrefix: cfg.repositoryPrefix, appBuildProjectName: appBuildProjectName(PROJECT_PREFIX), tags });
    const images = new DeliveryImages("images", { buildImageRepositoryUrl: registry.buildImage.repositoryUrl,
        xrayRepositoryUrl: registry.xray.repositoryUrl, deployRepositoryUrl: registry.deploy.repositoryUrl });
    const artifacts = new PrivateBucket("artifacts", { expireDays: cfg.artifactExpiryDays, tags });
    const state = new StateBackend("pulumi", { namePrefix: "todobackend", environments: PIPELINE_ENVIRONMENTS, tags });
    // With the region in the URLs: the CLI (its Go SDK) reads no region from the stack, and without
    // AWS_REGION in the environment both would fail (the bootstrap's laptop, the automation service).
    const region = aws.getRegionOutput().region;
    const stateBucketUrl = pulumi.interpolate`s3://${state.bucket.bucket.bucket}?region=${region}`;
    const providerUrl = (alias: aws.kms.Alias) => pulumi.interpolate`awskms://${alias.name}?region=${region}`;
    const secretsProvider = providerUrl(state.alias);
    const environmentProviders = Object.fromEntries(PIPELINE_ENVIRONMENTS.map((env) => [env, providerUrl(state.environmentKeys[env].alias)])) as Record<PipelineEnvironment, pulumi.Output<string>>;
    const builds = new BuildProjects("builds", {
        namePrefix: PROJECT_PREFIX, artifactBucketArn: artifacts.bucket.arn, artifactPipelineName: PIPELINE_NAME, repositories: registry,
        buildImage: images.buildImage.imageUri, deployImage: images.deploy.imageUri,
        state: { bucketArn: state.bucket.bucket.arn, url: stateBucketUrl, kmsKeyArn: state.key.arn,
            environments: Object.fromEntries(PIPELINE_ENVIRONMENTS.map((env) => [env, { kmsKeyArn: state.environmentKeys[env].key.arn,
                secretsProvider: environmentProviders[env] }])) as unknown as Record<PipelineEnvironment, SecretsProviderRef> },
        useUpdatePlan: cfg.useUpdatePlan, deployTimeoutMinutes: cfg.deployTimeoutMinutes, logRetentionDays: cfg.buildLogRetentionDays, tags,
        automationTaskRoleArn: automationCfg && aws.getCallerIdentityOutput().accountId.apply((account) => automationTaskRoleArn(account, AUTOMATION_PREFIX)),
    });
    const notifications = new PipelineNotifications("notifications", { namePrefix: "todobackend-pipeline", watchedPipeline: PIPELINE_NAME,
        email: cfg.notificationEmail, alarmNamePrefixes: automationCfg ? [AUTOMATION_PREFIX] : [], tags });
    // Each stack's jobs run with the role of its pipeline stage: dev's deploy role; prod's preview role to read, its execute role to change.
    const automation = automationCfg && automationService(automationCfg, { stateBucketUrl, stateBucketArn: state.bucket.bucket.arn, stateKeyArn: state.key.arn,
        stackRoles: { dev: { deploy: builds.dev.role.arn }, prod: { deploy: builds.execute.role.arn, preview: builds.changeSet.role.arn } },
        alarmTopicArn: notifications.topic.arn, tags });
    const pipeline = new DeliveryPipeline("todobackend", {
        namePrefix: PIPELINE_NAME,
        artifactBucket: artifacts.bucket.bucket, artifactBucketArn: artifacts.bucket.arn,
        appRepository: cfg.appRepository, deploymentRepository: cfg.deploymentRepository, branch: cfg.branch,
        connectionProvider: cfg.connectionProvider, approvalTopicArn: cfg.approvalTopicArn ?? notifications.topic.arn, tags,
        projects: { app: builds.app.project, dev: builds.dev.project, changeSet: builds.changeSet.project, execute: builds.execute.project },
    });
    return {
        appRepositoryUrl: registry.app.repositoryUrl,
        buildImageRepositoryUrl: registry.buildImage.repositoryUrl,
        xrayRepositoryUrl: registry.xray.repositoryUrl,
        xrayImage: images.xray.imageUri,
        pipelineName: pipeline.pipeline.name,
        /** Approval requests and failed pipeline runs; subscribe to it (or set todobackend:notificationEmail). */
        notificationTopicArn: notifications.topic.arn,
        connectionArn: pipeline.connection.arn,
        connectionActivation: CONNECTION_ACTIVATION,
        stateBucketUrl,
        /** The delivery stack's own secrets provider (once moved into the state bucket). */
        secretsProvider,
        /** Each environment stack's secrets provider (scripts/bootstrap.sh creates dev and prod with theirs). */
        secretsProviders: environmentProviders,
        kmsKeyAlias: state.alias.name,
        artifactBucketName: artifacts.bucket.bucket,
        /** Every role of an environment stack carries its environment's boundary (read through its StackReference). */
        environmentRoleBoundaryArns: { dev: builds.environmentBoundaries.dev.arn, prod: builds.environmentBoundaries.prod.arn },
        /** With automation:enabled: the service's address, the DNS name its domain points at (CNAME/alias), and its task role. */
        ...(automation ? { automationUrl: automationCfg!.publicUrl, automationDnsName: automation.dnsName, automationTaskRoleArn: automation.taskRoleArn,
            automationRepositoryUrl: automation.repository?.repositoryUrl } : {}),
    };
}

interface AutomationWiring {
    stateBucketUrl: pulumi.Input<string>;
    stateBucketArn: pulumi.Input<string>;
    stateKeyArn: pulumi.Input<string>;
    stackRoles: Record<string, { deploy: pulumi.Input<string>; preview?: pulumi.Input<string> }>;
    alarmTopicArn: pulumi.Input<string>;
    tags: Record<string, string>;
}

/** The automation service and, unless an existing VPC is configured, a VPC of its own (the delivery stack has none). */
function automationService(c: AutomationConfig, w: AutomationWiring): AutomationService {
    const network = new Network("automation-network", c.vpcId !== undefined
        ? { vpcId: c.vpcId, publicSubnetIds: c.publicSubnetIds, privateSubnetIds: c.privateSubnetIds, tags: w.tags }
        // A NAT per AZ in production: the tasks reach STS, S3 and the identity provider through it.
        : { cidrBlock: c.vpcCidr, availabilityZones: 2, natGateways: c.production ? "perAz" : "single", tags: w.tags });
    return new AutomationService("automation", {
        namePrefix: AUTOMATION_PREFIX, vpcId: network.vpcId, publicSubnetIds: network.publicSubnetIds, privateSubnetIds: network.privateSubnetIds,
        certificateArn: c.certificateArn, ingressCidrs: c.ingressCidrs, publicUrl: c.publicUrl, image: c.image, imageTag: c.imageTag,
        stackRoles: w.stackRoles as AutomationServiceArgs["stackRoles"], backendUrl: w.stateBucketUrl, stateBucketArn: w.stateBucketArn, stateKeyArn: w.stateKeyArn,
        oidc: c.oidc, desiredCount: c.desiredCount, cpuUnits: c.cpuUnits, memoryMiB: c.memoryMiB, production: c.production, dbMultiAz: c.dbMultiAz,
        dbInstanceClass: c.dbInstanceClass, dbEngineVersion: c.dbEngineVersion, dbAllocatedStorageGiB: c.dbAllocatedStorageGiB,
        logRetentionDays: c.logRetentionDays, alarmTopicArn: w.alarmTopicArn, tags: w.tags,
    });
}
