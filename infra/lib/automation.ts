// The automation service's decisions as pure functions (infra/automationService.ts builds them):
// its security rules, IAM documents, database settings, container definition and alarms, so every
// statement, port and setting is unit-tested without the provider.
import { assumeRolePolicy, PolicyDocument, Statement } from "./deliveryIam";
import { environmentRolePath } from "./naming";
import { executionBaseStatements } from "./xrayIam";

/** The port the service listens on inside its task (its PORT). */
export const AUTOMATION_PORT = 8080;
/** The container's name in the task definition and in the target group's registration. */
export const AUTOMATION_CONTAINER = "automation";
/** Postgres' port. */
export const POSTGRES_PORT = 5432;
/** The database, and its user, the service connects as. */
export const AUTOMATION_DATABASE = "automation";
/**
 * Where the image keeps the Amazon RDS CA bundle (NODE_EXTRA_CA_CERTS): the database URL asks for
 * `sslmode=verify-full`, and Node trusts no RDS certificate authority of its own.
 */
export const RDS_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem";

// ---- security groups ----

/** The three groups of the service. */
export type AutomationGroup = "alb" | "tasks" | "database";

export interface AutomationRule {
    /** Unique; the suffix of the rule resource's name. */
    key: string;
    group: AutomationGroup;
    direction: "ingress" | "egress";
    protocol: "tcp";
    fromPort: number;
    toPort: number;
    peer: { cidr: string } | { group: AutomationGroup };
    description: string;
}

/**
 * The ALB takes 443 (and 80, which only redirects) from `ingressCidrs` alone, and talks to the tasks
 * only; the tasks take traffic from the ALB only and reach Postgres and HTTPS (AWS APIs, the identity
 * provider, git); the database takes Postgres from the tasks only. No rule for DNS: the VPC resolver
 * is not behind security groups in awsvpc mode.
 */
export function automationSecurityRules(ingressCidrs: readonly string[]): AutomationRule[] {
    const tcp = (port: number) => ({ protocol: "tcp" as const, fromPort: port, toPort: port });
    return [
        ...ingressCidrs.flatMap((cidr, i): AutomationRule[] => [443, 80].map((port) => ({
            key: `alb-in-${port}-${i}`, group: "alb", direction: "ingress", ...tcp(port), peer: { cidr },
            description: port === 443 ? `Operators reach the service from ${cidr}` : `Redirect to HTTPS for ${cidr}` }))),
        { key: "alb-out-tasks", group: "alb", direction: "egress", ...tcp(AUTOMATION_PORT), peer: { group: "tasks" },
            description: "Load balancer forwards to the service's tasks" },
        { key: "tasks-in-alb", group: "tasks", direction: "ingress", ...tcp(AUTOMATION_PORT), peer: { group: "alb" },
            description: "The service accepts traffic from its load balancer only" },
        { key: "tasks-out-database", group: "tasks", direction: "egress", ...tcp(POSTGRES_PORT), peer: { group: "database" },
            description: "The service reaches its Postgres" },
        { key: "tasks-out-https", group: "tasks", direction: "egress", ...tcp(443), peer: { cidr: "0.0.0.0/0" },
            description: "AWS APIs (STS, S3, KMS, ECR, Logs, Secrets Manager), the identity provider and git over HTTPS" },
        { key: "database-in-tasks", group: "database", direction: "ingress", ...tcp(POSTGRES_PORT), peer: { group: "tasks" },
            description: "Postgres from the service's tasks only" },
    ];
}

/** A CIDR as the ALB rule takes it; `0.0.0.0/0` is allowed but must be asked for. */
export function validateIngressCidrs(cidrs: readonly string[]): void {
    if (cidrs.length === 0) {
        throw new Error("AutomationService: `ingressCidrs` is empty, so nobody could reach the service. Fix: pass the operators' networks, e.g. [\"203.0.113.0/24\"]");
    }
    for (const c of cidrs) {
        const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(c);
        if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
            throw new Error(`AutomationService: \`ingressCidrs\` holds "${c}", which is not an IPv4 CIDR. Fix: pass e.g. "203.0.113.0/24"`);
        }
    }
}

// ---- IAM ----

/** A stack's roles, as AUTOMATION_STACK_ROLES gives them (automation/pulumi/stackRoles.ts). */
export interface StackRoleArns { deploy: string; preview?: string }

/**
 * AUTOMATION_STACK_ROLES: a stack with only a deploy role is a bare ARN, one with a preview role
 * `{"deploy", "preview"}`, the two forms parseStackRoles reads.
 */
export function stackRolesJson(roles: Readonly<Record<string, StackRoleArns>>): string {
    return JSON.stringify(Object.fromEntries(Object.entries(roles).map(([stack, r]) =>
        [stack, r.preview === undefined ? r.deploy : { deploy: r.deploy, preview: r.preview }])));
}

/** Every role ARN of `roles`, once each, in order. */
export function stackRoleArns(roles: Readonly<Record<string, StackRoleArns>>): string[] {
    return [...new Set(Object.values(roles).flatMap((r) => [r.deploy, ...(r.preview ? [r.preview] : [])]))];
}

export interface AutomationTaskPolicyArgs {
    /** The stacks' roles: the only ones the service may assume. */
    stackRoleArns: string[];
    stateBucketArn: string;
    /** The state bucket's key (SSE-KMS), also the delivery stack's secrets provider. */
    stateKeyArn: string;
    /** The bucket's region: S3 there is the only service the key may be used through. */
    region: string;
}

/** Where the CLI keeps the stacks' locks in the state bucket (`.pulumi/locks/organization/<project>/<stack>/<id>.json`). */
export const STATE_LOCKS_PREFIX = ".pulumi/locks/";

/**
 * The service's own identity. It runs nothing with it: each job, and each command the service
 * runs on a stack (state export, import, refresh), assumes that stack's role, with the job as source
 * identity (hence sts:SetSourceIdentity). With its own rights it only lists, reads and deletes
 * the CLI's lock objects (lock inspection, stale-lock detection, admin unlock), so it can read no
 * checkpoint. The state key serves S3's decryption of those objects alone (kms:ViaService): used
 * directly it would open the delivery stack's secrets, whose provider it also is.
 */
export function automationTaskPolicy(a: AutomationTaskPolicyArgs): PolicyDocument {
    if (a.stackRoleArns.length === 0) {
        throw new Error("automationTaskPolicy: `stackRoleArns` is empty; the service would run no stack. Fix: pass each stack's deploy role");
    }
    const locks = `${a.stateBucketArn}/${STATE_LOCKS_PREFIX}*`;
    return { Version: "2012-10-17", Statement: [
        { Sid: "AssumeStackRoles", Effect: "Allow", Action: ["sts:AssumeRole", "sts:SetSourceIdentity"], Resource: a.stackRoleArns },
        { Sid: "StateLocksList", Effect: "Allow", Action: ["s3:ListBucket"], Resource: a.stateBucketArn,
            Condition: { StringLike: { "s3:prefix": [`${STATE_LOCKS_PREFIX}*`] } } },
        { Sid: "StateLocks", Effect: "Allow", Action: ["s3:GetObject", "s3:DeleteObject"], Resource: locks },
        // S3 decrypts a lock it serves with the caller's rights; only S3 may ask, and the role reads no other objects.
        { Sid: "StateKeyThroughS3", Effect: "Allow", Action: ["kms:Decrypt"], Resource: a.stateKeyArn,
            Condition: { StringEquals: { "kms:ViaService": `s3.${a.region}.amazonaws.com` } } },
    ] };
}

export interface AutomationExecutionPolicyArgs {
    logGroupArn: string;
    /** Exactly the secrets the container's `secrets` name (without their `:key::` suffixes). */
    secretArns: string[];
    /** The image the task runs: ECR's pull is granted on its repository alone, and not at all for another registry. */
    image: string;
}

/** The ECR repository an image reference names (`<account>.dkr.ecr.<region>.amazonaws.com/<name>:<tag>`), undefined for any other registry. */
export function ecrRepositoryArn(image: string): string | undefined {
    const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)/.exec(image);
    return m ? `arn:aws:ecr:${m[2]}:${m[1]}:repository/${m[3]}` : undefined;
}

/**
 * ECS's identity for the task: pull its image, write its log group, resolve the container's
 * secrets; the service itself never reads them. Pulling is limited to the image's repository
 * (the shared execution statements allow every repository), so the role cannot fetch another
 * image of the account, such as the deploy image with its tooling.
 */
export function automationExecutionPolicy(a: AutomationExecutionPolicyArgs): PolicyDocument {
    const repository = ecrRepositoryArn(a.image);
    const statements: Statement[] = [
        ...(repository ? [
            // GetAuthorizationToken has no resource-level permission.
            { Sid: "EcrLogin", Effect: "Allow" as const, Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
            { Sid: "PullServiceImage", Effect: "Allow" as const, Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], Resource: repository },
        ] : []),
        ...executionBaseStatements(a.logGroupArn).filter((st) => st.Sid !== "EcrPermissions"),
        { Sid: "ReadServiceSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [...new Set(a.secretArns)] },
    ];
    return { Version: "2012-10-17", Statement: statements };
}

/**
 * The statement a stack's deploy role adds to its trust policy so the service's task role may assume
 * it. The principal is the account with the task role's ARN as condition rather than the role
 * itself: IAM refuses a trust policy naming a role that does not exist yet, and the task role is
 * made after the deploy roles (its policy names them).
 */
export function trustServiceRoleStatement(account: string, taskRoleArn: string): object {
    return { Sid: "AutomationService", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: ["sts:AssumeRole", "sts:SetSourceIdentity"], Condition: { ArnEquals: { "aws:PrincipalArn": taskRoleArn } } };
}

/** A stage role's trust: CodeBuild, as ever, and the automation service's task role. */
export function stageRoleTrustPolicy(account: string, taskRoleArn: string): object {
    const codebuild = assumeRolePolicy("codebuild.amazonaws.com") as { Version: string; Statement: object[] };
    return { Version: "2012-10-17", Statement: [...codebuild.Statement, trustServiceRoleStatement(account, taskRoleArn)] };
}

/**
 * The task role's ARN, known before the role exists (taskRoles names it `<prefix>-service-task` on the
 * path `/<prefix>/`), so the stage roles can trust it while the task role's policy names them.
 */
export function automationTaskRoleArn(account: string, namePrefix: string): string {
    return `arn:aws:iam::${account}:role${environmentRolePath(namePrefix)}${namePrefix}-service-task`;
}

// ---- database ----

export interface AutomationDatabaseSettings { multiAz: boolean; deletionProtection: boolean; backupRetentionDays: number; finalSnapshot: boolean }

/** Production settings unless told otherwise: a standby in a second AZ, 7 days of backups, no deletion. */
export function automationDatabaseSettings(production: boolean, multiAz?: boolean): AutomationDatabaseSettings {
    return { multiAz: multiAz ?? production, deletionProtection: production, backupRetentionDays: production ? 7 : 1, finalSnapshot: production };
}

/** The service's database URL, without a password (ECS puts it in AUTOMATION_DATABASE_PASSWORD), over verified TLS. */
export function automationDatabaseUrl(address: string, port: number = POSTGRES_PORT): string {
    return `postgres://${AUTOMATION_DATABASE}@${address}:${port}/${AUTOMATION_DATABASE}?sslmode=verify-full`;
}

// ---- the container ----

export interface AutomationContainerArgs {
    image: string;
    region: string;
    logGroupName: string;
    databaseUrl: string;
    /** `<secret arn>` of the database password (a plain-text secret). */
    databasePasswordSecretArn: string;
    /** `<secret arn>` of the passphrase every instance shares. */
    passphraseSecretArn: string;
    backendUrl: string;
    stackRoles: string;
    publicUrl: string;
    oidc?: { issuer: string; clientId: string; clientSecretArn?: string; roleMapFile: string };
    memoryMiB: number;
}

/** The service's one container: every setting from the environment, every secret through ECS `secrets`. */
export function automationContainerDefinitions(a: AutomationContainerArgs): object[] {
    const env: Record<string, string> = {
        PORT: String(AUTOMATION_PORT), HOST: "0.0.0.0", LOG_LEVEL: "info",
        PULUMI_BACKEND_URL: a.backendUrl, AUTOMATION_DATABASE_URL: a.databaseUrl, AUTOMATION_STACK_ROLES: a.stackRoles,
        AUTOMATION_PUBLIC_URL: a.publicUrl, NODE_EXTRA_CA_CERTS: RDS_CA_BUNDLE, AWS_REGION: a.region,
        ...(a.oidc ? { AUTOMATION_OIDC_ISSUER: a.oidc.issuer, AUTOMATION_OIDC_CLIENT_ID: a.oidc.clientId, AUTOMATION_OIDC_ROLE_MAP: a.oidc.roleMapFile } : {}),
    };
    const secrets = [
        { name: "AUTOMATION_DATABASE_PASSWORD", valueFrom: a.databasePasswordSecretArn },
        { name: "PULUMI_CONFIG_PASSPHRASE", valueFrom: a.passphraseSecretArn },
        ...(a.oidc?.clientSecretArn ? [{ name: "AUTOMATION_OIDC_CLIENT_SECRET", valueFrom: a.oidc.clientSecretArn }] : []),
    ];
    return [{
        name: AUTOMATION_CONTAINER, image: a.image, essential: true, memory: a.memoryMiB,
        portMappings: [{ containerPort: AUTOMATION_PORT, protocol: "tcp" }],
        environment: Object.entries(env).sort(([x], [y]) => x.localeCompare(y)).map(([name, value]) => ({ name, value })),
        secrets,
        // Jobs running at SIGTERM get AUTOMATION_SHUTDOWN_GRACE_MS (30 s) to finish; ECS's maximum is 120.
        stopTimeout: 120,
        logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": a.logGroupName, "awslogs-region": a.region, "awslogs-stream-prefix": "automation" } },
    }];
}

/** Fargate's CPU/memory pairs (MiB) for the sizes a service this size uses. */
const FARGATE_MEMORY: Record<number, [number, number]> = { 256: [512, 2048], 512: [1024, 4096], 1024: [2048, 8192], 2048: [4096, 16384], 4096: [8192, 30720] };

/** Refuses a CPU/memory pair Fargate does not offer, naming the range that fits. */
export function validateFargateSize(cpuUnits: number, memoryMiB: number): void {
    const range = FARGATE_MEMORY[cpuUnits];
    if (!range) throw new Error(`AutomationService: \`cpuUnits\` ${cpuUnits} is not a Fargate size. Fix: pass 256, 512, 1024, 2048 or 4096`);
    if (!Number.isInteger(memoryMiB) || memoryMiB < range[0] || memoryMiB > range[1] || memoryMiB % 1024 !== 0 && memoryMiB !== 512) {
        throw new Error(`AutomationService: \`memoryMiB\` ${memoryMiB} does not go with ${cpuUnits} CPU units on Fargate. Fix: pass a multiple of 1024 from ${range[0]} to ${range[1]}`);
    }
}

// ---- alarms ----

/** What the service's alarms watch. */
export interface AutomationAlarmTargets {
    loadBalancerArnSuffix: string;
    targetGroupArnSuffix: string;
    clusterName: string;
    serviceName: string;
    dbInstanceIdentifier: string;
}

export interface AutomationAlarm {
    key: string;
    name: string;
    description: string;
    metric: { namespace: string; metricName: string; statistic: string; period: number; evaluationPeriods: number;
        comparisonOperator: string; threshold: number; treatMissingData: string; dimensions: Record<string, string> };
}

/** Unhealthy tasks, 5xx of the ALB and of the service, task CPU and memory, database CPU and free storage. */
export function automationAlarms(namePrefix: string, t: AutomationAlarmTargets, freeStorageGiB = 2): AutomationAlarm[] {
    const alb = { LoadBalancer: t.loadBalancerArnSuffix };
    const tg = { LoadBalancer: t.loadBalancerArnSuffix, TargetGroup: t.targetGroupArnSuffix };
    const svc = { ClusterName: t.clusterName, ServiceName: t.serviceName };
    const db = { DBInstanceIdentifier: t.dbInstanceIdentifier };
    const a = (key: string, description: string, metric: AutomationAlarm["metric"]): AutomationAlarm => ({ key, name: `${namePrefix}-${key}`, description, metric });
    const gt = "GreaterThanThreshold";
    return [
        a("unhealthy-tasks", "A task of the automation service failed its /readyz checks for 3 minutes", { namespace: "AWS/ApplicationELB",
            metricName: "UnHealthyHostCount", statistic: "Maximum", period: 60, evaluationPeriods: 3, comparisonOperator: gt, threshold: 0, treatMissingData: "notBreaching", dimensions: tg }),
        // No data means no healthy target reported at all: the outage itself.
        a("no-healthy-tasks", "The automation service had no healthy task for 3 minutes", { namespace: "AWS/ApplicationELB",
            metricName: "HealthyHostCount", statistic: "Minimum", period: 60, evaluationPeriods: 3, comparisonOperator: "LessThanThreshold", threshold: 1, treatMissingData: "breaching", dimensions: tg }),
        a("alb-5xx", "The automation load balancer answered 5xx more than 5 times in 5 minutes", { namespace: "AWS/ApplicationELB",
            metricName: "HTTPCode_ELB_5XX_Count", statistic: "Sum", period: 300, evaluationPeriods: 1, comparisonOperator: gt, threshold: 5, treatMissingData: "notBreaching", dimensions: alb }),
        a("service-5xx", "The automation service answered 5xx more than 10 times in 5 minutes", { namespace: "AWS/ApplicationELB",
            metricName: "HTTPCode_Target_5XX_Count", statistic: "Sum", period: 300, evaluationPeriods: 1, comparisonOperator: gt, threshold: 10, treatMissingData: "notBreaching", dimensions: alb }),
        a("cpu", "The automation tasks' CPU averaged above 80 % for 15 minutes", { namespace: "AWS/ECS",
            metricName: "CPUUtilization", statistic: "Average", period: 300, evaluationPeriods: 3, comparisonOperator: gt, threshold: 80, treatMissingData: "missing", dimensions: svc }),
        a("memory", "The automation tasks' memory averaged above 85 % for 15 minutes (a CLI running out of it kills its job)", { namespace: "AWS/ECS",
            metricName: "MemoryUtilization", statistic: "Average", period: 300, evaluationPeriods: 3, comparisonOperator: gt, threshold: 85, treatMissingData: "missing", dimensions: svc }),
        a("db-cpu", "The automation database's CPU averaged above 80 % for 15 minutes", { namespace: "AWS/RDS",
            metricName: "CPUUtilization", statistic: "Average", period: 300, evaluationPeriods: 3, comparisonOperator: gt, threshold: 80, treatMissingData: "missing", dimensions: db }),
        a("db-storage", `The automation database has less than ${freeStorageGiB} GiB of storage free`, { namespace: "AWS/RDS",
            metricName: "FreeStorageSpace", statistic: "Minimum", period: 300, evaluationPeriods: 1, comparisonOperator: "LessThanThreshold",
            threshold: freeStorageGiB * 1024 ** 3, treatMissingData: "missing", dimensions: db }),
    ];
}
