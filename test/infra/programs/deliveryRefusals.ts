// Delivery components given arguments they must refuse; each export is one evaluation.
import { DeliveryImages } from "../../../infra/images";
import { DeliveryPipeline } from "../../../infra/pipeline";
import { PrivateBucket } from "../../../infra/stateBackend";

const pipelineArgs = {
    artifactBucket: "b", artifactBucketArn: "arn:aws:s3:::b", appRepository: "a/b", deploymentRepository: "a/c", branch: "main",
    appBuildProject: "p1", devProject: "p2", changeSetProject: "p3", executeProject: "p4", buildProjectArns: ["1", "2", "3", "4"],
};

export function fractionalExpiry() {
    new PrivateBucket("artifacts", { expireDays: 0.5 });
    return {};
}

export function missingDockerfiles() {
    new DeliveryImages("images", { buildImageRepositoryUrl: "r/codebuild", xrayRepositoryUrl: "r/xray", contextDir: __dirname });
    return {};
}

export function unknownConnectionProvider() {
    new DeliveryPipeline("todobackend", { ...pipelineArgs, connectionProvider: "CodeCommit" });
    return {};
}

export function threeProjects() {
    new DeliveryPipeline("todobackend", { ...pipelineArgs, buildProjectArns: ["1", "2", "3"] });
    return {};
}
