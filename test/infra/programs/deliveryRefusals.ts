// Delivery components given arguments they must refuse. Each attempt is caught so that one
// evaluation reports every refusal message as an output.
import { DeliveryImages } from "../../../infra/images";
import { DeliveryPipeline } from "../../../infra/pipeline";
import { PrivateBucket } from "../../../infra/stateBackend";

const pipelineArgs = {
    artifactBucket: "b", artifactBucketArn: "arn:aws:s3:::b", appRepository: "a/b", deploymentRepository: "a/c", branch: "main",
    appBuildProject: "p1", devProject: "p2", changeSetProject: "p3", executeProject: "p4", buildProjectArns: ["1", "2", "3", "4"],
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
        missingDockerfiles: attempt(() => new DeliveryImages("images", { buildImageRepositoryUrl: "r/codebuild", xrayRepositoryUrl: "r/xray", contextDir: __dirname })),
        unknownConnectionProvider: attempt(() => new DeliveryPipeline("pipeline-a", { ...pipelineArgs, connectionProvider: "CodeCommit" })),
        threeProjects: attempt(() => new DeliveryPipeline("pipeline-b", { ...pipelineArgs, buildProjectArns: ["1", "2", "3"] })),
    };
}
