import * as awsx from "@pulumi/awsx";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

export interface DeliveryImagesArgs {
    /** Repository URL for the Docker-in-Docker build image. */
    buildImageRepositoryUrl: pulumi.Input<string>;
    /** Repository for the X-Ray daemon image. */
    xrayRepositoryUrl: pulumi.Input<string>;
    /** Directory holding the Dockerfiles. @default "<repo>/images" */
    contextDir?: string;
}

/** Builds and pushes the build image and the X-Ray daemon image from this repository's Dockerfiles. */
export class DeliveryImages extends pulumi.ComponentResource {
    public readonly buildImage: awsx.ecr.Image;
    public readonly xray: awsx.ecr.Image;

    constructor(name: string, args: DeliveryImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("todobackend:infra:DeliveryImages", name, {}, opts);
        const dir = args.contextDir ?? path.join(__dirname, "..", "images");
        for (const file of ["Dockerfile.codebuild", "Dockerfile.xray"]) {
            if (!fs.existsSync(path.join(dir, file))) {
                throw new Error(`contextDir "${dir}" has no ${file}. Fix: point contextDir at the directory holding both Dockerfiles (this repository's images/)`);
            }
        }
        // CodeBuild and Fargate run x86_64 here; pin it so an arm laptop does not push the wrong arch.
        const image = (key: string, repositoryUrl: pulumi.Input<string>, file: string) => new awsx.ecr.Image(`${name}-${key}`, {
            repositoryUrl, context: dir, dockerfile: path.join(dir, file), platform: "linux/amd64", imageTag: "latest",
        }, { parent: this });
        this.buildImage = image("codebuild", args.buildImageRepositoryUrl, "Dockerfile.codebuild");
        this.xray = image("xray", args.xrayRepositoryUrl, "Dockerfile.xray");
        this.registerOutputs({ buildImage: this.buildImage.imageUri, xray: this.xray.imageUri });
    }
}
