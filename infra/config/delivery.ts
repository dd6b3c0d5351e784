// All delivery-stack config is read and validated here so a bad key fails before any resource exists.
import * as pulumi from "@pulumi/pulumi";

export interface DeliveryConfig {
    /** ECR repository name prefix. @default "docker-in-aws" */
    repositoryPrefix: string;
    /** Application repository as "owner/name" on the CodeStar connection's provider. */
    appRepository: string;
    /** This infrastructure repository as "owner/name". */
    deploymentRepository: string;
    /** Branch both source actions follow. @default "master" (the book's) */
    branch: string;
    /** Connection provider. @default "GitHub" */
    connectionProvider: string;
    /** SNS topic the approval action notifies. @default the delivery stack's own notifications topic */
    approvalTopicArn?: string;
    /** An address subscribed to the delivery stack's notifications topic (approvals, failed runs). @default - none */
    notificationEmail?: string;
    /** Minutes a deploy project (Dev, ExecuteChangeSet) may run; a first prod update (Multi-AZ RDS, NAT, instances, migrations, rollout) exceeds CodeBuild's 60. @default 180 */
    deployTimeoutMinutes: number;
    /** Days the CodeBuild projects' logs are kept (CodeBuild's own log groups never expire). @default 30 */
    buildLogRetentionDays: number;
    /** Days before pipeline artifacts expire. @default 30 */
    artifactExpiryDays: number;
    /** ExecuteChangeSet passes the approved update plan to `pulumi up --plan`. @default true */
    useUpdatePlan: boolean;
}

const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** Providers a CodeStar connection can be created for. */
/**
 * CodeStar connection providers the program can create. GitHub Enterprise Server and GitLab
 * self-managed need a host resource (`hostArn`) this program does not create, so they are left out.
 */
export const CONNECTION_PROVIDERS = ["GitHub", "Bitbucket", "GitLab"];

export function validateDeliveryConfig(raw: Partial<Record<keyof DeliveryConfig, unknown>>): DeliveryConfig {
    const str = (k: keyof DeliveryConfig, d?: string): string => {
        const v = raw[k] ?? d;
        if (typeof v !== "string" || v === "") {
            throw new Error(`todobackend:${k} is required. Fix: pulumi config set todobackend:${k} <value>`);
        }
        return v;
    };
    const bool = (k: keyof DeliveryConfig, d: boolean): boolean => {
        const v = raw[k] ?? d;
        if (typeof v !== "boolean") {
            throw new Error(`todobackend:${k} must be true or false. Fix: pulumi config set --type bool todobackend:${k} false`);
        }
        return v;
    };
    const cfg: DeliveryConfig = {
        repositoryPrefix: str("repositoryPrefix", "docker-in-aws"),
        appRepository: str("appRepository"),
        deploymentRepository: str("deploymentRepository"),
        branch: str("branch", "master"),
        connectionProvider: str("connectionProvider", "GitHub"),
        approvalTopicArn: raw.approvalTopicArn === undefined ? undefined : String(raw.approvalTopicArn),
        notificationEmail: raw.notificationEmail === undefined ? undefined : String(raw.notificationEmail),
        deployTimeoutMinutes: Number(raw.deployTimeoutMinutes ?? 180),
        buildLogRetentionDays: Number(raw.buildLogRetentionDays ?? 30),
        artifactExpiryDays: Number(raw.artifactExpiryDays ?? 30),
        useUpdatePlan: bool("useUpdatePlan", true),
    };
    for (const k of ["appRepository", "deploymentRepository"] as const) {
        if (!REPO.test(cfg[k])) {
            throw new Error(`todobackend:${k} must be "owner/name", got "${cfg[k]}". Fix: pulumi config set todobackend:${k} owner/name`);
        }
    }
    if (!CONNECTION_PROVIDERS.includes(cfg.connectionProvider)) {
        throw new Error(`todobackend:connectionProvider "${cfg.connectionProvider}" is not a CodeStar connection provider. ` +
            `Fix: pulumi config set todobackend:connectionProvider ${CONNECTION_PROVIDERS[0]} (or ${CONNECTION_PROVIDERS.slice(1).join(", ")})`);
    }
    if (!/^[a-z0-9][a-z0-9._/-]*$/.test(cfg.repositoryPrefix)) {
        throw new Error(`todobackend:repositoryPrefix "${cfg.repositoryPrefix}" is not a valid ECR name prefix. Fix: use lower case, digits, . _ / -`);
    }
    if (!Number.isInteger(cfg.deployTimeoutMinutes) || cfg.deployTimeoutMinutes < 60 || cfg.deployTimeoutMinutes > 2160) {
        throw new Error(`todobackend:deployTimeoutMinutes must be a whole number of minutes from 60 to 2160 (CodeBuild's limit), got ${raw.deployTimeoutMinutes}. Fix: pulumi config set todobackend:deployTimeoutMinutes 180`);
    }
    if (![1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365].includes(cfg.buildLogRetentionDays)) {
        throw new Error(`todobackend:buildLogRetentionDays must be one of CloudWatch's retentions (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365), got ${raw.buildLogRetentionDays}. Fix: pulumi config set todobackend:buildLogRetentionDays 30`);
    }
    if (cfg.notificationEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(cfg.notificationEmail)) {
        throw new Error(`todobackend:notificationEmail "${cfg.notificationEmail}" is not an e-mail address. Fix: pulumi config set todobackend:notificationEmail oncall@example.com`);
    }
    if (!Number.isInteger(cfg.artifactExpiryDays) || cfg.artifactExpiryDays < 1) {
        throw new Error(`todobackend:artifactExpiryDays must be a positive integer. Fix: pulumi config set todobackend:artifactExpiryDays 30`);
    }
    return cfg;
}

export function readDeliveryConfig(config: pulumi.Config = new pulumi.Config("todobackend")): DeliveryConfig {
    return validateDeliveryConfig({
        repositoryPrefix: config.get("repositoryPrefix"),
        appRepository: config.get("appRepository"),
        deploymentRepository: config.get("deploymentRepository"),
        branch: config.get("branch"),
        connectionProvider: config.get("connectionProvider"),
        approvalTopicArn: config.get("approvalTopicArn"),
        notificationEmail: config.get("notificationEmail"),
        deployTimeoutMinutes: config.getNumber("deployTimeoutMinutes"),
        buildLogRetentionDays: config.getNumber("buildLogRetentionDays"),
        artifactExpiryDays: config.getNumber("artifactExpiryDays"),
        useUpdatePlan: config.getBoolean("useUpdatePlan"),
    });
}
