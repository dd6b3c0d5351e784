// Delivery components given arguments they must refuse. Each attempt is caught so that one
// evaluation reports every refusal message as an output.
import { DeliveryImages } from "../../../infra/images";
import { DeliveryPipeline } from "../../../infra/pipeline";
import { PrivateBucket } from "../../../infra/stateBackend";

const pipelineArgs = {
    namePrefix: "todobackend",
    artifactBucket: "b", artifactBucketArn: "arn:aws:s3:::b", appRepository: "a/b", deploymentRepository: "a/c", branch: "main",
    projects: { app: { name: "p1", arn: "1" }, dev: { name: "p2", arn: "2" }, changeSet: { name: "p3", arn: "3" }, execute: { name: "p4", arn: "4" } },
};

function attempt(create: () => unknown): string {
    try {
        create();
        return "accepted";
    } catch (e) {
        return (e as Error).message;
    }
}

export function refusals() {
    return {
        fractionalExpiry: attempt(() => new PrivateBucket("artifacts", { expireDays: 0.5 })),
        missingDockerfiles: attempt(() => new DeliveryImages("images", { buildImageRepositoryUrl: "r/codebuild", xrayRepositoryUrl: "r/xray", deployRepositoryUrl: "r/pulumi", contextDir: __dirname })),
        unknownConnectionProvider: attempt(() => new DeliveryPipeline("pipeline-a", { ...pipelineArgs, connectionProvider: "CodeCommit" })),
        threeProjects: attempt(() => new DeliveryPipeline("pipeline-b", { ...pipelineArgs, projects: { ...pipelineArgs.projects, execute: undefined! } })),
    };
}
