// Every `dev`/`prod` stack key is read and validated here, before any resource exists; an invalid
// or missing value fails the program with the key and the command that fixes it. Unknown keys in
// the `todobackend:` namespace are refused too: a typo would otherwise silently keep a default.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { environmentName } from "./common";
import { ECS_AMI_PARAMETER } from "../lib/cluster";

export type NatGateways = "single" | "perAz";

/** The validated config of an environment stack, defaults applied. Keys are the config keys. */
export interface EnvironmentConfig {
    /** The stack (`dev`, `prod`); the Environment tag. */
    stack: string;
    /** `todobackend-<stack>`: prefix of every physical name, the book's stack name. */
    envName: string;
    /** Production safeguards (deletion protection, 7-day backups, final snapshot, NAT per AZ). @default stack === "prod" */
    production: boolean;

    /** CIDR of the VPC the program creates. @default "10.0.0.0/16" */
    vpcCidr: string;
    /** Availability zones the created VPC spans (2–3). @default 2 */
    availabilityZones: number;
    /** NAT gateways of the created VPC. @default "perAz" when production, else "single" */
    natGateways: NatGateways;
    /** An existing VPC (the book's default-VPC mode); needs publicSubnetIds and privateSubnetIds. */
    vpcId?: string;
    /** Existing public subnets (ALB), ≥ 2 AZs. Only with vpcId. */
    publicSubnetIds?: string[];
    /** Existing private subnets (instances, RDS, X-Ray), ≥ 2 AZs. Only with vpcId. */
    privateSubnetIds?: string[];

    /** ECS container instance type. @default "t3.micro" */
    instanceType: string;
    /** Auto Scaling group minimum; a production stack keeps ≥ 2 (one instance per AZ of its Multi-AZ database). @default 2 when production, else 1 */
    clusterMinSize: number;
    /** Auto Scaling group maximum. @default 4 (the book's) */
    clusterMaxSize: number;
    /**
     * Container-instance AMI. Required in a production stack, bumped by a reviewed change: an AMI
     * read from SSM at every run changes whenever AWS publishes one, voiding approved previews.
     * Unset elsewhere: the ECS-optimised AL2023 AMI from SSM at every deploy.
     */
    amiId?: string;

    /** @default "db.t4g.micro" */
    dbInstanceClass: string;
    /** MySQL 8.4 or 8.0 (a minor version may be given; 8.0 is past standard support). @default "8.4" */
    dbEngineVersion: string;
    /** GiB of gp3 storage, ≥ 20. @default 20 */
    dbAllocatedStorage: number;
    /** @default production */
    dbMultiAz: boolean;
    /** Days of automated backups. @default 7 when production, else 1 */
    dbBackupRetentionDays: number;
    /** @default production */
    dbDeletionProtection: boolean;

    /**
     * ACM certificate for HTTPS on 443 with an 80→443 redirect. Required in a production stack;
     * unset elsewhere serves HTTP on 80 only.
     */
    certificateArn?: string;

    /** ECS service desired task count (the book's ApplicationDesiredCount). @default 2 when production, else 1 */
    desiredCount: number;
    /** Service autoscaling minimum tasks; a production stack keeps ≥ 2. @default 2 when production, else 1 */
    appMinCount: number;
    /** Service autoscaling maximum tasks. @default 4 */
    appMaxCount: number;
    /**
     * App image tag. The pipeline sets it for its run; unset, the stack keeps the tag it last
     * deployed (its own output `appImageTag`), so an update from elsewhere never ships whatever
     * Build last pushed. A production stack refuses `latest`. @default the deployed tag
     */
    imageTag?: string;
    /** Delivery stack to read `appRepositoryUrl` and `xrayImage` from, e.g. `organization/todobackend/delivery`. */
    deliveryStack?: string;
    /** App image repository when there is no delivery stack. */
    appImageRepository?: string;
    /** X-Ray daemon image when there is no delivery stack. @default "amazon/aws-xray-daemon:3.x" */
    xrayImage: string;
    /** Cloud Map private DNS namespace. @default "<stack>.services.dockerinaws.org" */
    xrayNamespace: string;
    /** CloudWatch log retention. @default 30 when production, else 7 (the book's) */
    logRetentionDays: number;
    /** An address subscribed to the environment's alarm topic (it must confirm). @default - none */
    alarmEmail?: string;
    /**
     * Where the X-Ray daemon runs: `service`, the book's Fargate service found through Cloud Map (two
     * tasks, ≈ $18/month), or `sidecar`, a container in each app task on the EC2 hosts (no Fargate,
     * namespace or security group of its own). @default "service"
     */
    xrayMode: XrayMode;
}

export type XrayMode = "service" | "sidecar";

const ID = (prefix: string) => new RegExp(`^${prefix}-[0-9a-f]{8,17}$`);
const list = (item: z.ZodString) => z.preprocess((v) => {
    if (typeof v !== "string") return v;
    const text = v.trim();
    return text.startsWith("[") ? JSON.parse(text) : text.split(",").map((s) => s.trim()).filter(Boolean);
}, z.array(item).min(2, "needs at least two subnets in different AZs"));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.union([z.boolean(), z.stringbool()], { error: "must be true or false" });
/** The retention periods CloudWatch Logs accepts (up to a year; longer ones are not useful here). */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365];
const DNS_NAME = /^(?=.{1,253}\.?$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$/;

const schema = z.strictObject({
    role: z.literal("environment").optional(),
    production: bool.optional(),
    vpcCidr: z.cidrv4().optional(),
    availabilityZones: int(2, 3).optional(),
    natGateways: z.enum(["single", "perAz"]).optional(),
    vpcId: z.string().regex(ID("vpc"), "must look like vpc-0123abcd").optional(),
    publicSubnetIds: list(z.string().regex(ID("subnet"), "must look like subnet-0123abcd")).optional(),
    privateSubnetIds: list(z.string().regex(ID("subnet"), "must look like subnet-0123abcd")).optional(),
    instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, "must be an EC2 instance type like t3.micro").optional(),
    clusterMinSize: int(0, 100).optional(),
    clusterMaxSize: int(1, 100).optional(),
    amiId: z.string().regex(ID("ami"), "must look like ami-0123456789abcdef0").optional(),
    dbInstanceClass: z.string().regex(/^db\.(t3|t4g)\.[a-z0-9]+$/, "must be a burstable db.t3 or db.t4g class").optional(),
    dbEngineVersion: z.string().regex(/^8\.(0|4)(\.\d+)?$/, "must be MySQL 8.0 or 8.4").optional(),
    dbAllocatedStorage: int(20, 65536).optional(),
    dbMultiAz: bool.optional(),
    dbBackupRetentionDays: int(0, 35).optional(),
    dbDeletionProtection: bool.optional(),
    certificateArn: z.string().regex(/^arn:aws[\w-]*:acm:[\w-]+:\d{12}:certificate\/[\w-]+$/, "must be an ACM certificate ARN").optional(),
    desiredCount: int(0, 100).optional(),
    appMinCount: int(0, 100).optional(),
    appMaxCount: int(1, 100).optional(),
    imageTag: z.string().regex(/^[\w][\w.-]{0,127}$/, "must be a Docker tag").optional(),
    deliveryStack: z.string().regex(/^[\w.-]+(\/[\w.-]+){0,2}$/, "must be a stack name like organization/todobackend/delivery").optional(),
    appImageRepository: z.string().regex(/^[\w.-]+(:\d+)?(\/[\w.-]+)+$|^[\w.-]+$/, "must be an image repository without a tag").optional(),
    xrayImage: z.string().regex(/^[\w.-]+(:\d+)?(\/[\w.-]+)*([:@][\w.:-]+)?$/, "must be an image reference").optional(),
    xrayNamespace: z.string().regex(DNS_NAME, "must be a DNS name like dev.services.dockerinaws.org").optional(),
    logRetentionDays: z.coerce.number().refine((d) => RETENTION_DAYS.includes(d), `must be one of CloudWatch's retentions (${RETENTION_DAYS.join(", ")})`).optional(),
    alarmEmail: z.email("must be an e-mail address").optional(),
    xrayMode: z.enum(["service", "sidecar"]).optional(),
});

/** What to type to fix each key. */
const EXAMPLES: Record<string, string> = {
    production: "true", vpcCidr: "10.0.0.0/16", availabilityZones: "2", natGateways: "single", vpcId: "vpc-0123abcd",
    publicSubnetIds: "subnet-0123abcd,subnet-4567ef01", privateSubnetIds: "subnet-89ab0123,subnet-cdef4567",
    instanceType: "t3.micro", clusterMinSize: "1", clusterMaxSize: "4", amiId: "ami-0123456789abcdef0",
    dbInstanceClass: "db.t4g.micro", dbEngineVersion: "8.4", dbAllocatedStorage: "20", dbMultiAz: "false",
    dbBackupRetentionDays: "7", dbDeletionProtection: "true", certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/<id>",
    desiredCount: "1", appMinCount: "1", appMaxCount: "4", imageTag: "<commit>.<build>", deliveryStack: "organization/todobackend/delivery",
    appImageRepository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/todobackend",
    xrayImage: "amazon/aws-xray-daemon:3.x", xrayNamespace: "dev.services.dockerinaws.org", logRetentionDays: "7", role: "environment",
    alarmEmail: "oncall@example.com", xrayMode: "sidecar",
};

const fail = (key: string, problem: string, fix = `pulumi config set todobackend:${key} ${EXAMPLES[key] ?? "<value>"}`): never => {
    throw new Error(`todobackend:${key} ${problem}. Fix: ${fix}`);
};

/**
 * Validates the raw `todobackend:*` config of stack `stack` (keys without the namespace; values
 * as Pulumi gives them: strings, or JSON-decoded objects) and applies the defaults.
 */
export function validateEnvironmentConfig(raw: Record<string, unknown>, stack: string): EnvironmentConfig {
    if (!/^[a-z][a-z0-9-]{0,19}$/.test(stack)) {
        throw new Error(`stack name "${stack}" cannot prefix AWS names. Fix: use lower case letters, digits and -, at most 20 characters (dev, prod)`);
    }
    // An empty value means "not set", so `pulumi config set todobackend:deliveryStack ""` (or an
    // offline `--config deliveryStack=`) switches a key back to its default.
    const parsed = schema.safeParse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== "")));
    if (!parsed.success) {
        const issue = parsed.error.issues[0];
        if (issue.code === "unrecognized_keys") {
            const key = issue.keys[0];
            const near = Object.keys(EXAMPLES).find((k) => k.toLowerCase() === key.toLowerCase());
            fail(key, `is not a key of an environment stack${near ? ` (did you mean ${near}?)` : ""}`, `pulumi config rm todobackend:${key} -s ${stack} (known keys: ${Object.keys(EXAMPLES).sort().join(", ")})`);
        }
        const key = String(issue.path[0]);
        fail(key, `is invalid (${JSON.stringify(raw[key])}): ${issue.message}`);
    }
    const c = parsed.data!;
    const production = c.production ?? stack === "prod";

    const existing = [c.vpcId, c.publicSubnetIds, c.privateSubnetIds];
    if (existing.some((v) => v !== undefined) && existing.some((v) => v === undefined)) {
        const missing = (["vpcId", "publicSubnetIds", "privateSubnetIds"] as const).find((k) => c[k] === undefined)!;
        fail(missing, "is required when an existing VPC is used (vpcId, publicSubnetIds and privateSubnetIds go together)");
    }
    if (c.vpcId !== undefined) {
        for (const k of ["vpcCidr", "availabilityZones", "natGateways"] as const) {
            if (c[k] !== undefined) fail(k, "only applies to a VPC this program creates, but vpcId names an existing one", `pulumi config rm todobackend:${k}`);
        }
    }
    if (c.deliveryStack !== undefined) {
        for (const k of ["appImageRepository", "xrayImage"] as const) {
            if (c[k] !== undefined) fail(k, "conflicts with deliveryStack, whose outputs name the images", `pulumi config rm todobackend:${k} (or rm todobackend:deliveryStack)`);
        }
    } else if (c.appImageRepository === undefined) {
        fail("appImageRepository", "is required when no deliveryStack is configured",
            `pulumi config set todobackend:deliveryStack organization/todobackend/delivery, or pulumi config set todobackend:appImageRepository ${EXAMPLES.appImageRepository}`);
    }

    const cfg: EnvironmentConfig = {
        stack, envName: environmentName(stack), production,
        vpcCidr: c.vpcCidr ?? "10.0.0.0/16",
        availabilityZones: c.availabilityZones ?? 2,
        natGateways: c.natGateways ?? (production ? "perAz" : "single"),
        vpcId: c.vpcId, publicSubnetIds: c.publicSubnetIds, privateSubnetIds: c.privateSubnetIds,
        instanceType: c.instanceType ?? "t3.micro",
        clusterMinSize: c.clusterMinSize ?? (production ? 2 : 1),
        clusterMaxSize: c.clusterMaxSize ?? 4,
        amiId: c.amiId,
        dbInstanceClass: c.dbInstanceClass ?? "db.t4g.micro",
        dbEngineVersion: c.dbEngineVersion ?? "8.4",
        dbAllocatedStorage: c.dbAllocatedStorage ?? 20,
        dbMultiAz: c.dbMultiAz ?? production,
        dbBackupRetentionDays: c.dbBackupRetentionDays ?? (production ? 7 : 1),
        dbDeletionProtection: c.dbDeletionProtection ?? production,
        certificateArn: c.certificateArn,
        desiredCount: c.desiredCount ?? (production ? 2 : 1),
        appMinCount: c.appMinCount ?? (production ? 2 : 1),
        appMaxCount: c.appMaxCount ?? 4,
        imageTag: c.imageTag,
        deliveryStack: c.deliveryStack,
        appImageRepository: c.appImageRepository,
        xrayImage: c.xrayImage ?? "amazon/aws-xray-daemon:3.x",
        xrayNamespace: c.xrayNamespace ?? `${stack}.services.dockerinaws.org`,
        logRetentionDays: c.logRetentionDays ?? (production ? 30 : 7),
        alarmEmail: c.alarmEmail,
        xrayMode: c.xrayMode ?? "service",
    };
    if (cfg.xrayMode === "sidecar" && raw.xrayNamespace !== undefined && raw.xrayNamespace !== "") {
        fail("xrayNamespace", "names the Cloud Map namespace of the daemon service, but xrayMode is sidecar", `pulumi config rm todobackend:xrayNamespace -s ${stack}`);
    }
    if (cfg.clusterMinSize > cfg.clusterMaxSize) fail("clusterMinSize", `(${cfg.clusterMinSize}) exceeds clusterMaxSize (${cfg.clusterMaxSize})`);
    if (cfg.appMinCount > cfg.appMaxCount) fail("appMinCount", `(${cfg.appMinCount}) exceeds appMaxCount (${cfg.appMaxCount})`);
    if (cfg.desiredCount < cfg.appMinCount || cfg.desiredCount > cfg.appMaxCount) {
        fail("desiredCount", `(${cfg.desiredCount}) lies outside appMinCount..appMaxCount (${cfg.appMinCount}..${cfg.appMaxCount})`,
            `pulumi config set todobackend:desiredCount ${cfg.appMinCount} -s ${stack}`);
    }
    if (production && cfg.dbBackupRetentionDays < 7) fail("dbBackupRetentionDays", `is ${cfg.dbBackupRetentionDays} in a production stack, which keeps at least 7 days`);
    if (production && !cfg.dbDeletionProtection) fail("dbDeletionProtection", "is false in a production stack", "pulumi config rm todobackend:dbDeletionProtection");
    // Two tasks on two instances, so losing one (or an AZ of the Multi-AZ database) keeps the app up.
    if (production && cfg.appMinCount < 2) fail("appMinCount", `is ${cfg.appMinCount} in a production stack, which keeps at least 2 tasks`, `pulumi config rm todobackend:appMinCount -s ${stack}`);
    if (production && cfg.clusterMinSize < 2) fail("clusterMinSize", `is ${cfg.clusterMinSize} in a production stack, which keeps at least 2 instances`, `pulumi config rm todobackend:clusterMinSize -s ${stack}`);
    if (production && cfg.imageTag === "latest") {
        fail("imageTag", "is latest in a production stack, which deploys only a tag the pipeline built (latest moves with every build)",
            `pulumi config rm todobackend:imageTag -s ${stack} (the stack keeps the tag it deployed), or pulumi config set todobackend:imageTag <commit>.<build> -s ${stack}`);
    }
    // The app's sessions and logins would cross the internet in clear text.
    if (production && cfg.certificateArn === undefined) {
        fail("certificateArn", "is required in a production stack: without it the load balancer serves the app over plain HTTP (logins, sessions)",
            `pulumi config set todobackend:certificateArn arn:aws:acm:<region>:<account>:certificate/<id> -s ${stack} (an ACM certificate for the app's domain, in the stack's region), and commit Pulumi.${stack}.yaml`);
    }
    if (production && cfg.amiId === undefined) {
        fail("amiId", "is required in a production stack: an AMI read from SSM at every run changes whenever AWS publishes one, which voids approved previews",
            `pulumi config set todobackend:amiId "$(aws ssm get-parameter --name ${ECS_AMI_PARAMETER} --query Parameter.Value --output text)" -s ${stack}, and commit Pulumi.${stack}.yaml`);
    }
    return cfg;
}

/** Reads every `todobackend:*` key of the current stack and validates it. */
export function readEnvironmentConfig(): EnvironmentConfig {
    const prefix = "todobackend:";
    const raw = Object.fromEntries(Object.entries(pulumi.runtime.allConfig())
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, v]) => [k.slice(prefix.length), v]));
    return validateEnvironmentConfig(raw, pulumi.getStack());
}
