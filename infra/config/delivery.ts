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
    /** Optional SNS topic ARN notified by the approval action. */
    approvalTopicArn?: string;
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
        artifactExpiryDays: config.getNumber("artifactExpiryDays"),
        useUpdatePlan: config.getBoolean("useUpdatePlan"),
    });
}
