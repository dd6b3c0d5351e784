import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { TagsInput } from "./config/common";
import { denyInsecureTransportPolicy } from "./lib/deliveryIam";
import { validateNamePrefix } from "./lib/validation";

export interface PrivateBucketArgs {
    /** Days after which objects (and noncurrent versions) expire. @default - objects are kept */
    expireDays?: pulumi.Input<number>;
    /** KMS key for SSE. @default - S3-managed keys (AES256) */
    kmsKeyArn?: pulumi.Input<string>;
    /** Tags for the bucket (the stack's base tags). @default - none */
    tags?: TagsInput;
}

/** A versioned, encrypted bucket with every public access path blocked and plain-HTTP access denied. */
export class PrivateBucket extends pulumi.ComponentResource {
    public readonly bucket: aws.s3.Bucket;

    constructor(name: string, args: PrivateBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        if (typeof args.expireDays === "number" && !(Number.isInteger(args.expireDays) && args.expireDays >= 1)) {
            throw new Error(`expireDays must be a whole number of days ≥ 1, got ${args.expireDays}. Fix: pass e.g. 30, or omit it to keep objects`);
        }
        super("todobackend:infra:PrivateBucket", name, {}, opts);
        this.bucket = new aws.s3.Bucket(name, { forceDestroy: false, tags: args.tags }, { parent: this });
        new aws.s3.BucketVersioning(name, { bucket: this.bucket.id, versioningConfiguration: { status: "Enabled" } }, { parent: this });
        new aws.s3.BucketServerSideEncryptionConfiguration(name, { bucket: this.bucket.id, rules: [{
            applyServerSideEncryptionByDefault: args.kmsKeyArn
                ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn } : { sseAlgorithm: "AES256" },
            bucketKeyEnabled: true }] }, { parent: this });
        const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(name, { bucket: this.bucket.id, blockPublicAcls: true, blockPublicPolicy: true,
            ignorePublicAcls: true, restrictPublicBuckets: true }, { parent: this });
        // After the block, so the bucket is never without it; the policy only denies (plain-HTTP requests).
        new aws.s3.BucketPolicy(name, { bucket: this.bucket.id, policy: this.bucket.arn.apply((arn) => JSON.stringify(denyInsecureTransportPolicy(arn))) },
            { parent: this, dependsOn: [publicAccessBlock] });
        if (args.expireDays !== undefined) {
            new aws.s3.BucketLifecycleConfiguration(name, { bucket: this.bucket.id, rules: [{ id: "expire-old-artifacts", status: "Enabled",
                filter: {}, expiration: { days: args.expireDays }, noncurrentVersionExpiration: { noncurrentDays: args.expireDays } }] }, { parent: this });
        }
        this.registerOutputs({ bucket: this.bucket });
    }
}

export interface StateBackendArgs {
    /** Prefix of the key's alias: `alias/<namePrefix>-pulumi`. @default "todobackend" */
    namePrefix?: string;
    /** Tags for the key and the state bucket (the stack's base tags). @default - none */
    tags?: TagsInput;
}

/** Pulumi's S3 state bucket and the KMS key used as the stacks' secrets provider. */
export class StateBackend extends pulumi.ComponentResource {
    public readonly key: aws.kms.Key;
    public readonly alias: aws.kms.Alias;
    public readonly bucket: PrivateBucket;

    constructor(name: string, args: StateBackendArgs, opts?: pulumi.ComponentResourceOptions) {
        const namePrefix = args.namePrefix ?? "todobackend";
        validateNamePrefix("namePrefix", namePrefix, { maxLength: 200, component: "StateBackend" });
        super("todobackend:infra:StateBackend", name, {}, opts);
        this.key = new aws.kms.Key(name, { description: "Pulumi secrets provider for todobackend stacks", enableKeyRotation: true,
            deletionWindowInDays: 30, tags: args.tags }, { parent: this });
        this.alias = new aws.kms.Alias(name, { name: `alias/${namePrefix}-pulumi`, targetKeyId: this.key.keyId }, { parent: this });
        this.bucket = new PrivateBucket(`${name}-state`, { kmsKeyArn: this.key.arn, tags: args.tags }, { parent: this });
        this.registerOutputs({ key: this.key, alias: this.alias, bucket: this.bucket });
    }
}
