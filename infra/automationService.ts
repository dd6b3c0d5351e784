// The automation service (automation/, images/Dockerfile.automation) on AWS, in the delivery
// stack: N Fargate tasks behind an HTTPS load balancer open to the operators' networks, their
// shared RDS PostgreSQL, the Pulumi state on the S3 backend, and a task role that may only assume
// the stacks' deploy roles and use the state, so every job runs with its own stack's rights.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AUTOMATION_CONTAINER, AUTOMATION_PORT, AutomationGroup, automationAlarms, automationContainerDefinitions, automationDatabaseSettings,
    automationDatabaseUrl, automationExecutionPolicy, automationSecurityRules, automationTaskPolicy, POSTGRES_PORT, StackRoleArns, stackRoleArns,
    stackRolesJson, validateFargateSize, validateIngressCidrs, AUTOMATION_DATABASE } from "./lib/automation";
import { keepLastLifecyclePolicy } from "./lib/deliveryNaming";
import { namedTags, withNameTag } from "./lib/tags";
import { checkLogRetention, checkWholeNumber } from "./lib/validation";
import { validateNamePrefix } from "./lib/naming";
import { NamedComponentArgs } from "./lib/componentArgs";
import { LoadBalancer } from "./loadBalancer";
import { taskRoles } from "./taskRoles";

/** Sign-in through an OpenID provider (AUTOMATION_OIDC_*). */
export interface AutomationOidcArgs {
    /** The provider's issuer URL (https). */
    readonly issuer: string;
    /** The client id registered with the provider. */
    readonly clientId: string;
    /** Secrets Manager ARN of the client secret (a plain-text secret). @default - a public client (PKCE alone) */
    readonly clientSecretArn?: string;
    /** The role map's path inside the image (AUTOMATION_OIDC_ROLE_MAP). */
    readonly roleMapFile: string;
}

/** `namePrefix` → `<prefix>-alb`, `<prefix>-db`, `<prefix>-service-task`, ...; at most 28 characters (ALB names ≤ 32). */
export interface AutomationServiceArgs extends NamedComponentArgs {
    readonly vpcId: pulumi.Input<string>;
    /** Subnets of the load balancer, in ≥ 2 AZs. */
    readonly publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Subnets of the tasks and the database, in ≥ 2 AZs, with a route out (NAT) to AWS's APIs and the identity provider. */
    readonly privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** ACM certificate of the service's domain: HTTPS on 443, 80 only redirects. */
    readonly certificateArn: pulumi.Input<string>;
    /** IPv4 networks that may reach the load balancer (443, and 80 for the redirect). */
    readonly ingressCidrs: readonly string[];
    /** The service's image reference (repository with tag or digest), from any registry. Give this or `imageTag`. */
    readonly image?: pulumi.Input<string>;
    /** Tag of the image in an ECR repository this component creates (`repositoryName`), pushed there by you or a build. Give this or `image`. */
    readonly imageTag?: string;
    /** Name of the ECR repository made with `imageTag`. @default "<namePrefix>" */
    readonly repositoryName?: string;
    /** The address people reach the service at (AUTOMATION_PUBLIC_URL), https. */
    readonly publicUrl: string;
    /** Each stack's roles (AUTOMATION_STACK_ROLES); the task role may assume these and no other. */
    readonly stackRoles: pulumi.Input<Record<string, pulumi.Input<StackRoleArns>>>;
    /** The state backend: `s3://<bucket>?region=<region>` (PULUMI_BACKEND_URL), the bucket's ARN and its KMS key. */
    readonly backendUrl: pulumi.Input<string>;
    readonly stateBucketArn: pulumi.Input<string>;
    readonly stateKeyArn: pulumi.Input<string>;
    /** Sign-in for people. @default - off: only bearer tokens work */
    readonly oidc?: AutomationOidcArgs;
    /** Tasks running. Instances share the database and take jobs from one queue. @default 2 */
    readonly desiredCount?: number;
    /** Fargate CPU units per task. @default 1024 */
    readonly cpuUnits?: number;
    /** Memory per task: a Pulumi CLI with its providers needs about 1 GiB a job. @default 4096 */
    readonly memoryMiB?: number;
    /** Production settings: Multi-AZ database, 7 days of backups, deletion protection, final snapshot, ALB deletion protection. @default true */
    readonly production?: boolean;
    /** A standby database in a second AZ. @default - `production` */
    readonly dbMultiAz?: boolean;
    /** @default "db.t4g.micro" */
    readonly dbInstanceClass?: string;
    /** PostgreSQL major version. @default "16" */
    readonly dbEngineVersion?: string;
    /** gp3 storage (RDS needs ≥ 20 GiB). @default 20 */
    readonly dbAllocatedStorageGiB?: number;
    /** Days the service's logs are kept. @default 30 */
    readonly logRetentionDays?: number;
    /** SNS topic the alarms notify (the delivery stack's notifications topic). @default - no alarm actions */
    readonly alarmTopicArn?: pulumi.Input<string>;
}

/** Refuses values AWS or the service would refuse, before anything is registered. */
export function validateAutomationServiceArgs(args: AutomationServiceArgs): void {
    validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 28, component: "AutomationService" });
    validateIngressCidrs(args.ingressCidrs);
    if ((args.image === undefined) === (args.imageTag === undefined)) {
        throw new Error("AutomationService: give exactly one of `image` (a full image reference) and `imageTag` (a tag in the ECR repository this component makes). Fix: pass one of them");
    }
    if (args.imageTag !== undefined && !/^[\w][\w.-]{0,127}$/.test(args.imageTag)) {
        throw new Error(`AutomationService: \`imageTag\` "${args.imageTag}" is not a Docker tag. Fix: pass e.g. "1.4.0"`);
    }
    validateFargateSize(args.cpuUnits ?? 1024, args.memoryMiB ?? 4096);
    checkWholeNumber("desiredCount", args.desiredCount, 1, 20, "run 2 tasks (one per AZ), or 1 for a trial.");
    checkWholeNumber("dbAllocatedStorageGiB", args.dbAllocatedStorageGiB, 20, 65536, "pass 20 GiB or more.");
    checkLogRetention("logRetentionDays", args.logRetentionDays);
    if (!/^https:\/\/[^/?#]+(\/[^?#]*)?$/.test(args.publicUrl)) {
        throw new Error(`AutomationService: \`publicUrl\` "${args.publicUrl}" must be an https URL without query (the session cookie is Secure). Fix: pass e.g. "https://automation.example.com"`);
    }
    if (!/^1[3-9](\.\d+)?$/.test(args.dbEngineVersion ?? "16")) {
        throw new Error(`AutomationService: \`dbEngineVersion\` "${args.dbEngineVersion}" is not a PostgreSQL version RDS supports. Fix: pass "16"`);
    }
    if (args.oidc && (!/^https:\/\//.test(args.oidc.issuer) || !args.oidc.clientId || !args.oidc.roleMapFile.startsWith("/"))) {
        throw new Error("AutomationService: `oidc` needs an https `issuer`, a `clientId` and an absolute `roleMapFile` (inside the image). Fix: give all three, or leave `oidc` out");
    }
}

/** The automation service: security groups, HTTPS load balancer, Fargate cluster and service, PostgreSQL, secrets, roles, logs and alarms. */
export class AutomationService extends pulumi.ComponentResource {
    readonly loadBalancer: LoadBalancer;
    readonly cluster: aws.ecs.Cluster;
    /** The ECR repository, when the image is given by `imageTag`. */
    readonly repository?: aws.ecr.Repository;
    readonly service: aws.ecs.Service;
    readonly database: aws.rds.Instance;
    readonly taskRole: aws.iam.Role;
    readonly logGroup: aws.cloudwatch.LogGroup;
    /** Secret of the database password (AUTOMATION_DATABASE_PASSWORD). */
    readonly databasePasswordSecret: aws.secretsmanager.Secret;
    /** The load balancer's DNS name: point the service's domain (the certificate's) at it. */
    readonly dnsName: pulumi.Output<string>;
    readonly taskRoleArn: pulumi.Output<string>;
    readonly securityGroupIds: Record<AutomationGroup, pulumi.Output<string>>;

    constructor(name: string, args: AutomationServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        validateAutomationServiceArgs(args);
        super("todobackend:infra:AutomationService", name, {}, opts);
        const parent = { parent: this };
        const tags = namedTags(args.tags, args.namePrefix);
        const production = args.production ?? true;
        const region = aws.getRegionOutput({}, parent).region;

        // Three groups, no inline rules (so AWS's allow-all egress is removed); the rules as data.
        const groups = Object.fromEntries((["alb", "tasks", "database"] as const).map((g) => [g, new aws.ec2.SecurityGroup(`${name}-${g}`, {
            name: `${args.namePrefix}-${g}-sg`, description: `${args.namePrefix} ${g}`, vpcId: args.vpcId, tags: tags(`${g}-sg`),
        }, parent)])) as Record<AutomationGroup, aws.ec2.SecurityGroup>;
        for (const rule of automationSecurityRules(args.ingressCidrs)) {
            const common = {
                securityGroupId: groups[rule.group].id, ipProtocol: rule.protocol, fromPort: rule.fromPort, toPort: rule.toPort,
                description: rule.description, tags: tags(rule.key),
                ...("cidr" in rule.peer ? { cidrIpv4: rule.peer.cidr } : { referencedSecurityGroupId: groups[rule.peer.group].id }),
            };
            if (rule.direction === "ingress") new aws.vpc.SecurityGroupIngressRule(`${name}-${rule.key}`, common, parent);
            else new aws.vpc.SecurityGroupEgressRule(`${name}-${rule.key}`, common, parent);
        }
        this.securityGroupIds = { alb: groups.alb.id, tasks: groups.tasks.id, database: groups.database.id };

        // The ALB the environments use, with ip targets (awsvpc) checked on /readyz; SSE streams stay open up to 5 minutes idle.
        this.loadBalancer = new LoadBalancer(`${name}-lb`, {
            namePrefix: args.namePrefix, vpcId: args.vpcId, subnetIds: args.publicSubnetIds, securityGroupId: groups.alb.id,
            certificateArn: args.certificateArn, targetPort: AUTOMATION_PORT, targetType: "ip", healthCheckPath: "/readyz",
            idleTimeoutSeconds: 300, deletionProtection: production, tags: args.tags,
        }, parent);

        // A generated password rather than RDS's managed one: RDS rotates that every 7 days, and a
        // running task keeps the value ECS gave it at start. Pulumi keeps it as a secret (KMS).
        const secret = (key: string, description: string) => {
            const value = new random.RandomPassword(`${name}-${key}`, { length: 40, special: false }, parent);
            const s = new aws.secretsmanager.Secret(`${name}-${key}`, { namePrefix: `${args.namePrefix}/${key}-`, description, tags: tags(key) }, parent);
            const version = new aws.secretsmanager.SecretVersion(`${name}-${key}`, { secretId: s.id, secretString: pulumi.secret(value.result) }, parent);
            return { secret: s, value, version };
        };
        const dbPassword = secret("db-password", `Password of ${args.namePrefix}'s database user (AUTOMATION_DATABASE_PASSWORD)`);
        // The service refuses to share a database without one passphrase for every instance (stacks on
        // the passphrase provider); the pipeline's stacks use their KMS keys instead.
        const passphrase = secret("passphrase", `PULUMI_CONFIG_PASSPHRASE shared by ${args.namePrefix}'s instances`);
        this.databasePasswordSecret = dbPassword.secret;

        const db = automationDatabaseSettings(production, args.dbMultiAz);
        const identifier = `${args.namePrefix}-db`;
        const subnetGroup = new aws.rds.SubnetGroup(`${name}-db`, {
            name: `${identifier}-subnets`, description: `${args.namePrefix} database subnets`, subnetIds: args.privateSubnetIds, tags: tags("db-subnets"),
        }, parent);
        this.database = new aws.rds.Instance(`${name}-db`, {
            identifier, engine: "postgres", engineVersion: args.dbEngineVersion ?? "16", instanceClass: args.dbInstanceClass ?? "db.t4g.micro",
            allocatedStorage: args.dbAllocatedStorageGiB ?? 20, storageType: "gp3", storageEncrypted: true,
            dbName: AUTOMATION_DATABASE, username: AUTOMATION_DATABASE, password: dbPassword.value.result, port: POSTGRES_PORT,
            dbSubnetGroupName: subnetGroup.name, vpcSecurityGroupIds: [groups.database.id], publiclyAccessible: false,
            multiAz: db.multiAz, backupRetentionPeriod: db.backupRetentionDays, deletionProtection: db.deletionProtection,
            skipFinalSnapshot: !db.finalSnapshot, finalSnapshotIdentifier: db.finalSnapshot ? `${identifier}-final` : undefined,
            copyTagsToSnapshot: true, autoMinorVersionUpgrade: true, tags: withNameTag(args.tags, identifier),
        }, parent);

        this.logGroup = new aws.cloudwatch.LogGroup(`${name}`, {
            name: `/ecs/${args.namePrefix}`, retentionInDays: args.logRetentionDays ?? 30, tags: tags("logs"),
        }, parent);

        // Immutable tags, so a tag names one build for good; scanned on push like the pipeline's repositories.
        this.repository = args.imageTag === undefined ? undefined : new aws.ecr.Repository(`${name}`, {
            name: args.repositoryName ?? args.namePrefix, imageTagMutability: "IMMUTABLE", forceDelete: false,
            imageScanningConfiguration: { scanOnPush: true }, encryptionConfigurations: [{ encryptionType: "AES256" }], tags: tags("repository"),
        }, parent);
        if (this.repository) new aws.ecr.LifecyclePolicy(`${name}`, { repository: this.repository.name, policy: keepLastLifecyclePolicy(20) }, parent);
        const image = this.repository ? pulumi.interpolate`${this.repository.repositoryUrl}:${args.imageTag}` : pulumi.output(args.image!);

        const secretArns = [dbPassword.secret.arn, passphrase.secret.arn, ...(args.oidc?.clientSecretArn ? [args.oidc.clientSecretArn] : [])];
        const roles = pulumi.output(args.stackRoles) as pulumi.Output<Record<string, StackRoleArns>>;
        const iam = taskRoles(`${name}`, {
            namePrefix: args.namePrefix, kind: "service",
            executionPolicy: pulumi.all([this.logGroup.arn, image, ...secretArns]).apply(([logGroupArn, img, ...arns]) =>
                JSON.stringify(automationExecutionPolicy({ logGroupArn, image: img, secretArns: arns }))),
            taskPolicy: pulumi.all([roles, args.stateBucketArn, args.stateKeyArn, region]).apply(([r, stateBucketArn, stateKeyArn, reg]) =>
                JSON.stringify(automationTaskPolicy({ stackRoleArns: stackRoleArns(r), stateBucketArn, stateKeyArn, region: reg }))),
            tags: args.tags,
        }, this);
        this.taskRole = iam.taskRole;

        this.cluster = new aws.ecs.Cluster(`${name}`, {
            name: args.namePrefix, settings: [{ name: "containerInsights", value: "enabled" }], tags: tags("cluster"),
        }, parent);
        const cpuUnits = args.cpuUnits ?? 1024;
        const memoryMiB = args.memoryMiB ?? 4096;
        const taskDefinition = new aws.ecs.TaskDefinition(`${name}`, {
            family: args.namePrefix, requiresCompatibilities: ["FARGATE"], networkMode: "awsvpc",
            cpu: String(cpuUnits), memory: String(memoryMiB), runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
            executionRoleArn: iam.executionRole.arn, taskRoleArn: iam.taskRole.arn,
            containerDefinitions: pulumi.all([image, region, this.logGroup.name, this.database.address, dbPassword.secret.arn, passphrase.secret.arn,
                args.backendUrl, roles]).apply(([image, r, logGroupName, address, dbSecret, passSecret, backendUrl, stackRoles]) =>
                JSON.stringify(automationContainerDefinitions({
                    image, region: r, logGroupName, databaseUrl: automationDatabaseUrl(address), databasePasswordSecretArn: dbSecret,
                    passphraseSecretArn: passSecret, backendUrl, stackRoles: stackRolesJson(stackRoles), publicUrl: args.publicUrl,
                    oidc: args.oidc, memoryMiB }))),
            tags: tags("task"),
        }, { parent: this, dependsOn: [iam.executionPolicy, dbPassword.version, passphrase.version] });

        this.service = new aws.ecs.Service(`${name}`, {
            name: args.namePrefix, cluster: this.cluster.arn, taskDefinition: taskDefinition.arn, desiredCount: args.desiredCount ?? 2,
            launchType: "FARGATE", platformVersion: "LATEST",
            networkConfiguration: { subnets: args.privateSubnetIds, securityGroups: [groups.tasks.id], assignPublicIp: false },
            loadBalancers: [{
                // Read through the listener: ECS refuses a target group no listener forwards to yet.
                targetGroupArn: pulumi.all([this.loadBalancer.targetGroupArn, this.loadBalancer.listenerArn]).apply(([tg]) => tg),
                containerName: AUTOMATION_CONTAINER, containerPort: AUTOMATION_PORT,
            }],
            // A starting instance runs migrations and checks its CLI before /readyz answers 200.
            healthCheckGracePeriodSeconds: 120,
            deploymentMinimumHealthyPercent: 100, deploymentMaximumPercent: 200,
            deploymentCircuitBreaker: { enable: true, rollback: true }, waitForSteadyState: true,
            propagateTags: "SERVICE", enableEcsManagedTags: true, tags: tags("service"),
        }, { parent: this, dependsOn: [this.logGroup, this.database] });

        if (args.alarmTopicArn !== undefined) {
            const targets = pulumi.all([this.loadBalancer.loadBalancer.arnSuffix, this.loadBalancer.targetGroup.arnSuffix, this.cluster.name,
                this.service.name, this.database.identifier]).apply(([lb, tg, clusterName, serviceName, dbId]) =>
                automationAlarms(args.namePrefix, { loadBalancerArnSuffix: lb, targetGroupArnSuffix: tg, clusterName, serviceName, dbInstanceIdentifier: dbId }));
            // Names and keys are known now; only the dimensions wait for the targets.
            const shapes = automationAlarms(args.namePrefix, { loadBalancerArnSuffix: "", targetGroupArnSuffix: "", clusterName: "", serviceName: "", dbInstanceIdentifier: "" });
            shapes.forEach((shape, i) => {
                const m = shape.metric;
                new aws.cloudwatch.MetricAlarm(`${name}-${shape.key}`, {
                    name: shape.name, alarmDescription: shape.description, namespace: m.namespace, metricName: m.metricName, statistic: m.statistic,
                    period: m.period, evaluationPeriods: m.evaluationPeriods, comparisonOperator: m.comparisonOperator, threshold: m.threshold,
                    treatMissingData: m.treatMissingData, dimensions: targets.apply((t) => t[i].metric.dimensions),
                    alarmActions: [args.alarmTopicArn!], okActions: [args.alarmTopicArn!], tags: tags(shape.key),
                }, parent);
            });
        }

        this.dnsName = this.loadBalancer.dnsName;
        this.taskRoleArn = this.taskRole.arn;
        this.registerOutputs({ loadBalancer: this.loadBalancer, cluster: this.cluster, repository: this.repository, service: this.service, database: this.database,
            taskRole: this.taskRole, logGroup: this.logGroup, databasePasswordSecret: this.databasePasswordSecret, dnsName: this.dnsName,
            taskRoleArn: this.taskRoleArn, securityGroupIds: this.securityGroupIds });
    }
}
