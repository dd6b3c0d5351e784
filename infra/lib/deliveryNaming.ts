// Names shared by the delivery components and their tests.
export function repositoryNames(prefix: string) {
    return { app: `${prefix}/todobackend`, buildImage: `${prefix}/codebuild`, xray: `${prefix}/xray`, deploy: `${prefix}/pulumi` };
}

/** Bounds for the build/X-Ray repositories: keep the last N images of any tag status. */
export function keepLastLifecyclePolicy(count = 10): string {
    return JSON.stringify({ rules: [{ rulePriority: 10, description: `Keep last ${count} images`,
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: count }, action: { type: "expire" } }] });
}

/** The app build project's name; the build-image repository policy trusts exactly this project. */
export function appBuildProjectName(projectPrefix: string): string {
    return `${projectPrefix}build`;
}

/** ECR prefix of the pull-through cache of ECR Public (`<registry>/ecr-public/docker/library/alpine`). */
export const PULL_THROUGH_PREFIX = "ecr-public";
