import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { denyInsecureTransportPolicy } from "./lib/deliveryIam";
import { validateNamePrefix } from "./lib/naming";
import { ComponentArgs, NamedComponentArgs } from "./lib/componentArgs";

export interface PrivateBucketArgs extends ComponentArgs {
    /** Days after which objects (and noncurrent versions) expire. @default - objects are kept */
    readonly expireDays?: pulumi.Input<number>;
    /**
     * Days a replaced or deleted version is kept (current objects are kept), for a bucket whose
     * objects are rewritten in place (Pulumi state: every update writes the checkpoint again).
     * Only without `expireDays`. @default - noncurrent versions are kept
     */
    readonly keepNoncurrentDays?: number;
    /** Refuse to delete the bucket from Pulumi (`protect`). @default false */
    readonly protect?: boolean;
    /** KMS key for SSE. @default - S3-managed keys (AES256) */
    readonly kmsKeyArn?: pulumi.Input<string>;
}

/** A versioned, encrypted bucket with every public access path blocked and plain-HTTP access denied. */
export class PrivateBucket extends pulumi.ComponentResource {
    public readonly bucket: aws.s3.Bucket;

    constructor(name: string, args: PrivateBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        if (typeof args.expireDays === "number" && !(Number.isInteger(args.expireDays) && args.expireDays >= 1)) {
            throw new Error(`expireDays must be a whole number of days ≥ 1, got ${args.expireDays}. Fix: pass e.g. 30, or omit it to keep objects`);
        }
        if (args.keepNoncurrentDays !== undefined && (!Number.isInteger(args.keepNoncurrentDays) || args.keepNoncurrentDays < 1 || args.expireDays !== undefined)) {
            throw new Error(`keepNoncurrentDays must be a whole number of days ≥ 1, without expireDays; got ${args.keepNoncurrentDays}. Fix: pass e.g. 90, or expireDays alone`);
        }
        super("todobackend:infra:PrivateBucket", name, {}, opts);
        this.bucket = new aws.s3.Bucket(name, { forceDestroy: false, tags: args.tags }, { parent: this, protect: args.protect ?? false });
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
        if (args.keepNoncurrentDays !== undefined) {
            // Every Pulumi update rewrites the stack's checkpoint: without this, each old version stays forever.
            new aws.s3.BucketLifecycleConfiguration(name, { bucket: this.bucket.id, rules: [{ id: "expire-old-versions", status: "Enabled",
                filter: {}, noncurrentVersionExpiration: { noncurrentDays: args.keepNoncurrentDays } }] }, { parent: this });
        }
        if (args.expireDays !== undefined) {
            new aws.s3.BucketLifecycleConfiguration(name, { bucket: this.bucket.id, rules: [{ id: "expire-old-artifacts", status: "Enabled",
                filter: {}, expiration: { days: args.expireDays }, noncurrentVersionExpiration: { noncurrentDays: args.expireDays } }] }, { parent: this });
        }
        this.registerOutputs({ bucket: this.bucket });
    }
}

/** `namePrefix` → key aliases `alias/<prefix>-pulumi`, `alias/<prefix>-<env>-pulumi` (the program's `todobackend`); at most 200 characters. */
export interface StateBackendArgs extends NamedComponentArgs {
    /** Environments (stacks) that get a secrets provider key of their own. @default - none */
    readonly environments?: readonly string[];
}

/** One environment's secrets provider: its KMS key and alias. */
export interface EnvironmentKey { key: aws.kms.Key; alias: aws.kms.Alias }

/**
 * Pulumi's S3 state bucket and the KMS keys of the stacks' secrets providers: one for the bucket
 * and the delivery stack, one per environment. Every stack's secrets (and a saved plan's) are
 * encrypted with its data key, which its key encrypts; a key per environment keeps prod's data key
 * closed to the roles of dev. All are protected: deleting the bucket or a key loses every stack.
 */
export class StateBackend extends pulumi.ComponentResource {
    /** The state bucket's key and the delivery stack's secrets provider. */
    public readonly key: aws.kms.Key;
    public readonly alias: aws.kms.Alias;
    public readonly bucket: PrivateBucket;
    /** The secrets provider key of each environment. */
    public readonly environmentKeys: Record<string, EnvironmentKey>;

    constructor(name: string, args: StateBackendArgs, opts?: pulumi.ComponentResourceOptions) {
        const namePrefix = args.namePrefix;
        validateNamePrefix("namePrefix", namePrefix, { maxLength: 200, component: "StateBackend" });
        for (const env of args.environments ?? []) validateNamePrefix("environments", env, { maxLength: 40, component: "StateBackend" });
        super("todobackend:infra:StateBackend", name, {}, opts);
        const key = (resourceName: string, description: string, alias: string): EnvironmentKey => {
            const k = new aws.kms.Key(resourceName, { description, enableKeyRotation: true, deletionWindowInDays: 30, tags: args.tags }, { parent: this, protect: true });
            return { key: k, alias: new aws.kms.Alias(resourceName, { name: alias, targetKeyId: k.keyId }, { parent: this }) };
        };
        ({ key: this.key, alias: this.alias } = key(name, "Pulumi state bucket and the delivery stack's secrets provider", `alias/${namePrefix}-pulumi`));
        this.environmentKeys = Object.fromEntries((args.environments ?? []).map((env) =>
            [env, key(`${name}-${env}`, `Pulumi secrets provider of the ${env} stack`, `alias/${namePrefix}-${env}-pulumi`)]));
        this.bucket = new PrivateBucket(`${name}-state`, { kmsKeyArn: this.key.arn, keepNoncurrentDays: 90, protect: true, tags: args.tags }, { parent: this });
        this.registerOutputs({ key: this.key, alias: this.alias, bucket: this.bucket, environmentKeys: this.environmentKeys });
    }
}
