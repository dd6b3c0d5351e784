// The `delivery` stack, once per account: registries, images, state backend, builds and the pipeline.
import * as pulumi from "@pulumi/pulumi";
import { BuildProjects } from "./buildProjects";
import { baseTags } from "./config/common";
import { readDeliveryConfig } from "./config/delivery";
import { DeliveryImages } from "./images";
import { PipelineNotifications } from "./notifications";
import { DeliveryPipeline } from "./pipeline";
import { appBuildProjectName } from "./lib/deliveryNaming";
import { Registry } from "./registry";
import { PrivateBucket, StateBackend } from "./stateBackend";

export const CONNECTION_ACTIVATION =
    "The CodeStar connection is created PENDING. Activate it once: AWS console → Developer Tools → Settings → " +
    "Connections → select the connection → Update pending connection → authorise the GitHub app.";

/** The pipeline's name (the book's). */
const PIPELINE_NAME = "todobackend";

/** Prefix of the CodeBuild project names (`todobackend-build`, `todobackend-deploy-dev`, ...). */
const PROJECT_PREFIX = "todobackend-";

export function deliveryStack() {
    const cfg = readDeliveryConfig();
    // On each resource's own `tags`, not provider defaultTags: the policy pack reads declared inputs.
    const tags = baseTags(pulumi.getStack(), pulumi.getStack());
    const registry = new Registry("registry", { namePrefix: cfg.repositoryPrefix, appBuildProjectName: appBuildProjectName(PROJECT_PREFIX), tags });
    const images = new DeliveryImages("images", { buildImageRepositoryUrl: registry.buildImage.repositoryUrl,
        xrayRepositoryUrl: registry.xray.repositoryUrl, deployRepositoryUrl: registry.deploy.repositoryUrl });
    const artifacts = new PrivateBucket("artifacts", { expireDays: cfg.artifactExpiryDays, tags });
    const state = new StateBackend("pulumi", { tags });
    const stateBucketUrl = pulumi.interpolate`s3://${state.bucket.bucket.bucket}`;
    const secretsProvider = pulumi.interpolate`awskms://${state.alias.name}`;
    const builds = new BuildProjects("builds", {
        namePrefix: PROJECT_PREFIX, artifactBucketArn: artifacts.bucket.arn, repositories: registry,
        buildImage: images.buildImage.imageUri, deployImage: images.deploy.imageUri,
        state: { bucketArn: state.bucket.bucket.arn, url: stateBucketUrl, kmsKeyArn: state.key.arn, secretsProvider },
        useUpdatePlan: cfg.useUpdatePlan, deployTimeoutMinutes: cfg.deployTimeoutMinutes, logRetentionDays: cfg.buildLogRetentionDays, tags,
    });
    const notifications = new PipelineNotifications("notifications", { namePrefix: "todobackend-pipeline", watchedPipeline: PIPELINE_NAME,
        email: cfg.notificationEmail, tags });
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
        secretsProvider,
        kmsKeyAlias: state.alias.name,
        artifactBucketName: artifacts.bucket.bucket,
        /** Every role of an environment stack carries its environment's boundary (read through its StackReference). */
        environmentRoleBoundaryArns: { dev: builds.environmentBoundaries.dev.arn, prod: builds.environmentBoundaries.prod.arn },
    };
}
