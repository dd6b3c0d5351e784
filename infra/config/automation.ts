// The `automation:*` keys of the delivery stack: the automation service on ECS (infra/automationService.ts),
// off unless `automation:enabled` is true. Read and validated here, before any resource exists.
import * as pulumi from "@pulumi/pulumi";
import { LOG_RETENTION_DAYS } from "../lib/validation";

export interface AutomationNetworkConfig {
    /** An existing VPC and its subnets; absent: the stack makes a VPC of its own (`vpcCidr`). */
    vpcId?: string;
    publicSubnetIds?: string[];
    privateSubnetIds?: string[];
    /** CIDR of the VPC made when no vpcId is given. @default "10.20.0.0/16" */
    vpcCidr: string;
}

export interface AutomationConfig extends AutomationNetworkConfig {
    certificateArn: string;
    ingressCidrs: string[];
    publicUrl: string;
    image?: string;
    imageTag?: string;
    desiredCount: number;
    cpuUnits: number;
    memoryMiB: number;
    production: boolean;
    dbMultiAz?: boolean;
    dbInstanceClass: string;
    dbEngineVersion: string;
    dbAllocatedStorageGiB: number;
    logRetentionDays: number;
    oidc?: { issuer: string; clientId: string; clientSecretArn?: string; roleMapFile: string };
}

/** Every key, with what to type to fix it. */
export const AUTOMATION_KEYS: Record<string, string> = {
    enabled: "true", certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/<id>", ingressCidrs: "203.0.113.0/24,198.51.100.0/24",
    publicUrl: "https://automation.example.com", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/automation:1.0.0", imageTag: "1.0.0",
    vpcId: "vpc-0123abcd", publicSubnetIds: "subnet-0123abcd,subnet-4567ef01", privateSubnetIds: "subnet-89ab0123,subnet-cdef4567", vpcCidr: "10.20.0.0/16",
    desiredCount: "2", cpuUnits: "1024", memoryMiB: "4096", production: "true", dbMultiAz: "true", dbInstanceClass: "db.t4g.micro",
    dbEngineVersion: "16", dbAllocatedStorageGiB: "20", logRetentionDays: "30",
    oidcIssuer: "https://login.example.com/realms/main", oidcClientId: "automation",
    oidcClientSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:automation/oidc-AbCdEf", oidcRoleMapFile: "/etc/automation/roles.yaml",
};

const fail = (key: string, problem: string, fix = `pulumi config set automation:${key} ${AUTOMATION_KEYS[key] ?? "<value>"} -s delivery`): never => {
    throw new Error(`automation:${key} ${problem}. Fix: ${fix}`);
};

/**
 * Validates the raw `automation:*` config (keys without the namespace, values as strings) and
 * applies the defaults; `undefined` when the service is off (`enabled` unset or false).
 */
export function validateAutomationConfig(raw: Record<string, string | undefined>): AutomationConfig | undefined {
    const v = Object.fromEntries(Object.entries(raw).filter(([, x]) => x !== undefined && x !== "")) as Record<string, string>;
    for (const key of Object.keys(v)) {
        if (!(key in AUTOMATION_KEYS)) fail(key, "is not a key of the automation service", `pulumi config rm automation:${key} -s delivery (known keys: ${Object.keys(AUTOMATION_KEYS).join(", ")})`);
    }
    const bool = (key: string): boolean | undefined => {
        if (v[key] === undefined) return undefined;
        if (v[key] !== "true" && v[key] !== "false") fail(key, `must be true or false, got "${v[key]}"`);
        return v[key] === "true";
    };
    if (!bool("enabled")) return undefined;
    const required = (key: string, pattern: RegExp, what: string): string => {
        if (v[key] === undefined) fail(key, `is required with automation:enabled (${what})`);
        if (!pattern.test(v[key])) fail(key, `"${v[key]}" is not ${what}`);
        return v[key];
    };
    const optional = (key: string, pattern: RegExp, what: string): string | undefined => (v[key] === undefined ? undefined : required(key, pattern, what));
    const int = (key: string, d: number, min: number, max: number): number => {
        if (v[key] === undefined) return d;
        const n = Number(v[key]);
        if (!/^\d+$/.test(v[key]) || n < min || n > max) fail(key, `must be a whole number from ${min} to ${max}, got "${v[key]}"`);
        return n;
    };
    const list = (key: string, item: RegExp, what: string): string[] | undefined => {
        if (v[key] === undefined) return undefined;
        const items = v[key].split(",").map((s) => s.trim()).filter(Boolean);
        if (items.length === 0 || items.some((s) => !item.test(s))) fail(key, `"${v[key]}" must list ${what}, comma-separated`);
        return items;
    };
    const production = bool("production") ?? true;
    const cfg: AutomationConfig = {
        certificateArn: required("certificateArn", /^arn:aws[\w-]*:acm:[\w-]+:\d{12}:certificate\/[\w-]+$/, "an ACM certificate ARN of the service's domain, in the stack's region"),
        ingressCidrs: list("ingressCidrs", /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "IPv4 CIDRs") ?? fail("ingressCidrs", "is required with automation:enabled (the networks operators reach the service from)"),
        publicUrl: required("publicUrl", /^https:\/\/[^/?#\s]+$/, "an https URL without a path, the certificate's domain"),
        image: optional("image", /^[\w.-]+(:\d+)?(\/[\w.-]+)+([:@][\w.:-]+)$/, "an image reference with a tag or digest"),
        imageTag: optional("imageTag", /^[\w][\w.-]{0,127}$/, "a Docker tag"),
        vpcId: optional("vpcId", /^vpc-[0-9a-f]+$/, "a VPC id"),
        publicSubnetIds: list("publicSubnetIds", /^subnet-[0-9a-f]+$/, "subnet ids"),
        privateSubnetIds: list("privateSubnetIds", /^subnet-[0-9a-f]+$/, "subnet ids"),
        vpcCidr: optional("vpcCidr", /^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, "a /16 to /24 IPv4 CIDR") ?? "10.20.0.0/16",
        desiredCount: int("desiredCount", production ? 2 : 1, 1, 20),
        cpuUnits: int("cpuUnits", 1024, 256, 4096),
        memoryMiB: int("memoryMiB", 4096, 512, 30720),
        production,
        dbMultiAz: bool("dbMultiAz"),
        dbInstanceClass: optional("dbInstanceClass", /^db\.[a-z0-9]+\.[a-z0-9]+$/, "an RDS instance class like db.t4g.micro") ?? "db.t4g.micro",
        dbEngineVersion: optional("dbEngineVersion", /^1[3-9](\.\d+)?$/, "a PostgreSQL version like 16") ?? "16",
        dbAllocatedStorageGiB: int("dbAllocatedStorageGiB", 20, 20, 65536),
        logRetentionDays: int("logRetentionDays", 30, 1, 3653),
    };
    if (!LOG_RETENTION_DAYS.includes(cfg.logRetentionDays)) fail("logRetentionDays", `${cfg.logRetentionDays} is not a CloudWatch Logs retention (${LOG_RETENTION_DAYS.slice(0, 12).join(", ")}, ...)`);
    if ((cfg.image === undefined) === (cfg.imageTag === undefined)) {
        fail(cfg.image ? "imageTag" : "image", cfg.image ? "conflicts with automation:image" : "or automation:imageTag is required with automation:enabled (the image to run)",
            cfg.image ? "pulumi config rm automation:imageTag -s delivery" : `pulumi config set automation:image ${AUTOMATION_KEYS.image} -s delivery (or automation:imageTag, a tag of the stack's own repository)`);
    }
    const existing = [cfg.vpcId, cfg.publicSubnetIds, cfg.privateSubnetIds];
    if (existing.some((x) => x !== undefined) && existing.some((x) => x === undefined)) {
        fail((["vpcId", "publicSubnetIds", "privateSubnetIds"] as const).find((k) => cfg[k] === undefined)!, "is required when an existing VPC is used (vpcId, publicSubnetIds and privateSubnetIds go together)");
    }
    if (cfg.vpcId !== undefined && v.vpcCidr !== undefined) fail("vpcCidr", "only applies to a VPC this stack makes, but automation:vpcId names an existing one", "pulumi config rm automation:vpcCidr -s delivery");
    if (production && cfg.dbMultiAz === false) fail("dbMultiAz", "is false with automation:production (the default): a lost AZ would stop every deployment", "pulumi config rm automation:dbMultiAz -s delivery, or pulumi config set automation:production false -s delivery");
    if (production && cfg.desiredCount < 2) fail("desiredCount", `is ${cfg.desiredCount} with automation:production (the default), which runs at least 2 tasks`, "pulumi config rm automation:desiredCount -s delivery");
    const oidcKeys = ["oidcIssuer", "oidcClientId", "oidcRoleMapFile"];
    if (oidcKeys.some((k) => v[k] !== undefined) || v.oidcClientSecretArn !== undefined) {
        cfg.oidc = {
            issuer: required("oidcIssuer", /^https:\/\/\S+$/, "the identity provider's https issuer URL"),
            clientId: required("oidcClientId", /^\S+$/, "the client id registered with the provider"),
            clientSecretArn: optional("oidcClientSecretArn", /^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:[\w/+=.@-]+$/, "a Secrets Manager secret ARN"),
            roleMapFile: required("oidcRoleMapFile", /^\/\S+$/, "an absolute path inside the image"),
        };
    }
    return cfg;
}

/** Reads every `automation:*` key of the stack. */
export function readAutomationConfig(): AutomationConfig | undefined {
    const prefix = "automation:";
    return validateAutomationConfig(Object.fromEntries(Object.entries(pulumi.runtime.allConfig())
        .filter(([k]) => k.startsWith(prefix)).map(([k, value]) => [k.slice(prefix.length), value])));
}
