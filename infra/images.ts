import * as awsx from "@pulumi/awsx";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ComponentArgs } from "./lib/componentArgs";

/** `tags` reach no resource: an awsx image pushes to a repository (the Registry's, tagged there) and makes nothing taggable of its own. */
export interface DeliveryImagesArgs extends ComponentArgs {
    /** Repository URL for the Docker-in-Docker build image. */
    readonly buildImageRepositoryUrl: pulumi.Input<string>;
    /** Repository for the X-Ray daemon image. */
    readonly xrayRepositoryUrl: pulumi.Input<string>;
    /** Repository for the deploy projects' Pulumi image. */
    readonly deployRepositoryUrl: pulumi.Input<string>;
    /** Directory holding the Dockerfiles. @default "<repo>/images" */
    readonly contextDir?: string;
}

/**
 * Builds and pushes the build image, the X-Ray daemon image and the deploy projects' Pulumi image
 * from this repository's Dockerfiles (images/), each referenced by digest.
 */
export class DeliveryImages extends pulumi.ComponentResource {
    public readonly buildImage: awsx.ecr.Image;
    public readonly xray: awsx.ecr.Image;
    public readonly deploy: awsx.ecr.Image;

    constructor(name: string, args: DeliveryImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("todobackend:infra:DeliveryImages", name, {}, opts);
        const dir = args.contextDir ?? path.join(__dirname, "..", "images");
        for (const file of ["Dockerfile.codebuild", "Dockerfile.xray", "Dockerfile.deploy"]) {
            if (!fs.existsSync(path.join(dir, file))) {
                throw new Error(`contextDir "${dir}" has no ${file}. Fix: point contextDir at the directory holding the Dockerfiles (this repository's images/)`);
            }
        }
        // CodeBuild and Fargate run x86_64 here; pin it so an arm laptop does not push the wrong arch.
        const image = (key: string, repositoryUrl: pulumi.Input<string>, file: string) => new awsx.ecr.Image(`${name}-${key}`, {
            repositoryUrl, context: dir, dockerfile: path.join(dir, file), platform: "linux/amd64", imageTag: "latest",
        }, { parent: this });
        this.buildImage = image("codebuild", args.buildImageRepositoryUrl, "Dockerfile.codebuild");
        this.xray = image("xray", args.xrayRepositoryUrl, "Dockerfile.xray");
        this.deploy = image("deploy", args.deployRepositoryUrl, "Dockerfile.deploy");
        this.registerOutputs({ buildImage: this.buildImage, xray: this.xray, deploy: this.deploy });
    }
}
