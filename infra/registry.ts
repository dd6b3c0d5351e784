import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { appLifecyclePolicy, codebuildPullRepositoryPolicy } from "./lib/deliveryIam";
import { NamedComponentArgs } from "./lib/componentArgs";
import { appBuildProjectName, keepLastLifecyclePolicy, PULL_THROUGH_PREFIX, repositoryNames } from "./lib/deliveryNaming";

/** `namePrefix`: the repositories' namespace, `<prefix>/todobackend`, `<prefix>/codebuild`, ... (the book's `docker-in-aws`, config `repositoryPrefix`); an ECR name, at most 200 characters. */
export interface RegistryArgs extends NamedComponentArgs {
    /** The app build project, the only one that may pull the build image. @default "todobackend-build" */
    readonly appBuildProjectName?: string;
}

/** The ECR repositories (book §2, plus the deploy image's) with scanning, lifecycle rules and the CodeBuild pull policy. */
export class Registry extends pulumi.ComponentResource {
    public readonly app: aws.ecr.Repository;
    public readonly buildImage: aws.ecr.Repository;
    public readonly xray: aws.ecr.Repository;
    /** The deploy projects' Pulumi image, copied from Docker Hub by the delivery stack. */
    public readonly deploy: aws.ecr.Repository;
    /** Docker's official images through the pull-through cache of ECR Public: `<registry>/ecr-public/docker/library`. */
    public readonly baseImageRegistry: pulumi.Output<string>;

    constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        const namePrefix = args.namePrefix;
        // ECR names: lowercase letters, digits and separators; the prefix is a namespace of them.
        if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(namePrefix) || namePrefix.length > 200) {
            throw new Error(`Registry: \`namePrefix\` "${namePrefix}" is not an ECR namespace. Fix: use lowercase letters, digits, '.', '_', '-' and '/', at most 200 characters`);
        }
        super("todobackend:infra:Registry", name, {}, opts);
        const names = repositoryNames(namePrefix);
        // App tags are commit.build ids, never rewritten: immutable, except `latest`, which the
        // app Makefile's `publish` moves on every build. The build/X-Ray images are re-pushed by
        // the program under a fixed tag and referenced by digest, so they stay mutable.
        const repo = (key: "app" | "buildImage" | "xray" | "deploy", mutability: string) => new aws.ecr.Repository(`${name}-${key}`, {
            name: names[key], imageTagMutability: mutability, forceDelete: false,
            imageTagMutabilityExclusionFilters: mutability === "IMMUTABLE_WITH_EXCLUSION" ? [{ filter: "latest", filterType: "WILDCARD" }] : undefined,
            imageScanningConfiguration: { scanOnPush: true },
            encryptionConfigurations: [{ encryptionType: "AES256" }], tags: args.tags,
        // The images every stack runs: a refactor that drops a repository must not delete it.
        }, { parent: this, protect: true });
        this.app = repo("app", "IMMUTABLE_WITH_EXCLUSION");
        this.buildImage = repo("buildImage", "MUTABLE");
        this.xray = repo("xray", "MUTABLE");
        this.deploy = repo("deploy", "MUTABLE");
        new aws.ecr.LifecyclePolicy(`${name}-app`, { repository: this.app.name, policy: appLifecyclePolicy() }, { parent: this });
        new aws.ecr.LifecyclePolicy(`${name}-buildImage`, { repository: this.buildImage.name, policy: keepLastLifecyclePolicy() }, { parent: this });
        new aws.ecr.LifecyclePolicy(`${name}-xray`, { repository: this.xray.name, policy: keepLastLifecyclePolicy() }, { parent: this });
        new aws.ecr.LifecyclePolicy(`${name}-deploy`, { repository: this.deploy.name, policy: keepLastLifecyclePolicy() }, { parent: this });
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const region = aws.getRegionOutput({}, { parent: this });
        const pullPolicy = pulumi.all([region.region, identity.accountId])
            .apply(([r, account]) => codebuildPullRepositoryPolicy({ region: r, account, projectName: args.appBuildProjectName ?? appBuildProjectName("todobackend-") }));
        new aws.ecr.RepositoryPolicy(`${name}-buildImage`, { repository: this.buildImage.name, policy: pullPolicy }, { parent: this });

        // The app build's base images (the book's alpine and mysql) come through this account's
        // cache of ECR Public, which mirrors Docker's official images and needs no credentials:
        // CodeBuild's anonymous Docker Hub pulls share their rate limit with every build on the same
        // addresses. Cached repositories are made on first pull, scanned and bounded like the others.
        const cache = new aws.ecr.PullThroughCacheRule(`${name}-ecr-public`, {
            ecrRepositoryPrefix: PULL_THROUGH_PREFIX, upstreamRegistryUrl: "public.ecr.aws" }, { parent: this });
        new aws.ecr.RepositoryCreationTemplate(`${name}-ecr-public`, {
            prefix: PULL_THROUGH_PREFIX, appliedFors: ["PULL_THROUGH_CACHE"], description: "Repositories of the ECR Public pull-through cache",
            // No resource tags: a template that tags needs a role of its own (customRoleArn) for ECR to assume.
            imageTagMutability: "MUTABLE", encryptionConfigurations: [{ encryptionType: "AES256" }], lifecyclePolicy: keepLastLifecyclePolicy(),
        }, { parent: this });
        this.baseImageRegistry = pulumi.interpolate`${identity.accountId}.dkr.ecr.${region.region}.amazonaws.com/${cache.ecrRepositoryPrefix}/docker/library`;
        this.registerOutputs({ app: this.app, buildImage: this.buildImage, xray: this.xray, deploy: this.deploy, baseImageRegistry: this.baseImageRegistry });
    }
}
