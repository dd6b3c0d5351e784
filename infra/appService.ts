// The todobackend app on the environment's ECS cluster (book §6.4, §6.5, §6.7): log group, the app
// and migrate task definitions, the Django secret, task roles, migrations before every rollout,
// the ECS service behind the ALB target group, and CPU-based service autoscaling.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { APP_CONTAINER, APP_PORT, AppContainerArgs, PUBLIC_VOLUME, XRAY_SIDECAR_ADDRESS, appContainerDefinitions, imageReference,
    migrateContainerDefinitions } from "./lib/appContainers";
import { appExecutionPolicy, appTaskPolicy } from "./lib/appIam";
import { checkLogRetention, checkWholeNumber } from "./lib/validation";
import { validateNamePrefix } from "./lib/naming";
import { namedTags } from "./lib/tags";
import { Migrations } from "./migrations";
import { NamedComponentArgs } from "./lib/componentArgs";
import { EcsClusterRef } from "./cluster";
import { DatabaseRef } from "./database";
import { LoadBalancerTarget } from "./loadBalancer";
import { taskRoles } from "./taskRoles";

/** `namePrefix` → e.g. `todobackend-dev` (book: the stack name); at most 45 characters (the role `<prefix>-migrate-execution` allows 64). */
export interface AppServiceArgs extends NamedComponentArgs {
    /** The cluster the service and the migrate task run on, placed with its EC2 capacity provider. */
    readonly cluster: EcsClusterRef;
    /** The ALB target group (HTTP 8000, instance targets) the service registers `todobackend:8000` in, and its listener. */
    readonly loadBalancer: LoadBalancerTarget;
    /** App image repository without tag, e.g. `<account>.dkr.ecr.<region>.amazonaws.com/docker-in-aws/todobackend`. */
    readonly appRepository: pulumi.Input<string>;
    /** Image tag; the pipeline sets it from version.json. @default "latest" */
    readonly imageTag?: pulumi.Input<string>;
    /** The database: its host, schema, and master user with its RDS-managed (and rotated) secret, which only the migrate task uses. */
    readonly database: DatabaseRef;
    /** JSON key of the password in the master secret. @default "password" (RDS-managed secrets) */
    readonly databasePasswordKey?: pulumi.Input<string>;
    /** The app's own database user (data access only), created and kept in step by the migrate task. @default "todobackend_app" */
    readonly appDatabaseUser?: string;
    /** `<host>:<port>` of the X-Ray daemon service, e.g. `xray.dev.services.dockerinaws.org:2000`. Give this or `xraySidecarImage`. */
    readonly xrayDaemonAddress?: pulumi.Input<string>;
    /** The X-Ray daemon's image, run as a sidecar in each app task instead of a service of its own. Give this or `xrayDaemonAddress`. */
    readonly xraySidecarImage?: pulumi.Input<string>;
    /** Tasks at creation; autoscaling owns the count afterwards. @default 1 */
    readonly desiredCount?: pulumi.Input<number>;
    /** Autoscaling bounds. @default 1 and 4 (book) */
    readonly minCapacity?: pulumi.Input<number>;
    readonly maxCapacity?: pulumi.Input<number>;
    /** Average service CPU the target-tracking policy holds. @default 40 (the book's scale-out threshold) */
    readonly targetCpuPercent?: pulumi.Input<number>;
    /** Days the app's logs are kept. @default 7 */
    readonly logRetentionDays?: pulumi.Input<number>;
    /**
     * Permissions boundary of the roles this component creates (the delivery stack's
     * `environmentRoleBoundaryArns[<stack>]`, which its deploy role requires). @default - none
     */
    readonly permissionsBoundary?: pulumi.Input<string>;
}

/**
 * The app: log group, task definitions, the Django key and the app's database password, roles,
 * migrations before every rollout (which also provision the app's own database user), the ECS
 * service and its autoscaling.
 */
export class AppService extends pulumi.ComponentResource {
    public readonly logGroup: aws.cloudwatch.LogGroup;
    public readonly taskDefinition: aws.ecs.TaskDefinition;
    public readonly migrateTaskDefinition: aws.ecs.TaskDefinition;
    public readonly djangoSecret: aws.secretsmanager.Secret;
    /** The app user's password; RDS's rotation of the master password never touches it. */
    public readonly appDatabaseSecret: aws.secretsmanager.Secret;
    public readonly migrations: Migrations;
    public readonly service: aws.ecs.Service;

    constructor(name: string, args: AppServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        validateAppServiceArgs(args);
        super("todobackend:infra:AppService", name, {}, opts);
        const parent = { parent: this };
        const region = aws.getRegionOutput({}, parent).region;
        const tags = namedTags(args.tags, args.namePrefix);

        this.logGroup = new aws.cloudwatch.LogGroup(`${name}`, {
            name: `/${args.namePrefix}/ecs/todobackend`, retentionInDays: args.logRetentionDays ?? 7, tags: tags("todobackend"),
        }, parent);

        // Django's SECRET_KEY and the app user's password are @pulumi/random passwords: the value is
        // made once, when the resource is created, and kept in state (encrypted). A value the program
        // drew itself on every run would differ between `preview --save-plan` and `up --plan` (the
        // update would violate its plan and print both values). Rotate with `pulumi up --replace
        // <urn of the password>`. Letters and digits only: no quoting trouble in Django or MySQL.
        // A name prefix, not a fixed name, because a deleted secret's name stays reserved for its
        // recovery window.
        const djangoKey = new random.RandomPassword(`${name}-django-key`, { length: DJANGO_KEY_LENGTH, special: false }, parent);
        this.djangoSecret = new aws.secretsmanager.Secret(`${name}-django`, {
            namePrefix: `${args.namePrefix}/django-secret-key-`,
            description: `Django SECRET_KEY of ${args.namePrefix}`, tags: tags("django-secret-key"),
        }, parent);
        const djangoSecretVersion = new aws.secretsmanager.SecretVersion(`${name}-django`, {
            secretId: this.djangoSecret.id, secretString: pulumi.secret(djangoKey.result),
        }, parent);

        const appDatabasePassword = new random.RandomPassword(`${name}-db-app-password`, { length: DATABASE_PASSWORD_LENGTH, special: false }, parent);
        this.appDatabaseSecret = new aws.secretsmanager.Secret(`${name}-db-app`, {
            namePrefix: `${args.namePrefix}/db-app-password-`,
            description: `Password of the app's own database user in ${args.namePrefix}`, tags: tags("db-app-password"),
        }, parent);
        const appDatabaseSecretVersion = new aws.secretsmanager.SecretVersion(`${name}-db-app`, {
            secretId: this.appDatabaseSecret.id, secretString: pulumi.secret(appDatabasePassword.result),
        }, parent);

        // One pair of roles per task definition: ECS resolves `secrets` with the execution role, so
        // the always-running app's may read only its own two secrets; the master secret is the
        // migrate task's alone.
        const app = taskRoles(name, { namePrefix: args.namePrefix, kind: "app", tags: args.tags, permissionsBoundary: args.permissionsBoundary,
            executionPolicy: pulumi.all([this.logGroup.arn, this.djangoSecret.arn, this.appDatabaseSecret.arn]).apply(([logs, django, appSecret]) =>
                JSON.stringify(appExecutionPolicy({ logGroupArn: logs, secretArns: [django, appSecret] }))),
            taskPolicy: JSON.stringify(appTaskPolicy()) }, this);
        const migrate = taskRoles(`${name}-migrate`, { namePrefix: args.namePrefix, kind: "migrate", tags: args.tags, permissionsBoundary: args.permissionsBoundary,
            executionPolicy: pulumi.all([this.logGroup.arn, args.database.masterUserSecretArn, this.djangoSecret.arn, this.appDatabaseSecret.arn])
                .apply(([logs, db, django, appSecret]) => JSON.stringify(appExecutionPolicy({ logGroupArn: logs, secretArns: [db, django, appSecret] }))),
            taskPolicy: JSON.stringify(appTaskPolicy()) }, this);

        const baseContainerArgs = pulumi.all([args.appRepository, args.imageTag ?? "latest", region, this.logGroup.name, args.database.address,
            args.database.username, args.database.databaseName, args.xrayDaemonAddress ?? XRAY_SIDECAR_ADDRESS, args.database.masterUserSecretArn,
            args.databasePasswordKey ?? "password", this.djangoSecret.arn, this.appDatabaseSecret.arn, appDatabaseSecretVersion.versionId])
            .apply(([repository, tag, r, logGroupName, databaseHost, databaseUser, databaseName, xray, dbSecret, key, django, appSecret, appVersion]): AppContainerArgs => ({
                image: imageReference(repository, tag), region: r, logGroupName, databaseHost, databaseUser, databaseName,
                appDatabaseUser: args.appDatabaseUser ?? "todobackend_app", appDatabaseSecretArn: appSecret, appDatabaseSecretVersion: appVersion,
                xrayDaemonAddress: xray, databaseSecretArn: dbSecret, databasePasswordKey: key, djangoSecretArn: django }));
        const containerArgs = pulumi.all([baseContainerArgs, args.xraySidecarImage]).apply(([base, sidecar]): AppContainerArgs =>
            (sidecar === undefined ? base : { ...base, xraySidecarImage: sidecar }));
        // Tasks must not start before the secrets have values and the execution role may read them.
        const secretsReady = [djangoSecretVersion, appDatabaseSecretVersion];
        // Bridge networking with dynamic host ports (book): several tasks per instance behind the ALB.
        this.taskDefinition = new aws.ecs.TaskDefinition(`${name}`, {
            family: args.namePrefix, requiresCompatibilities: ["EC2"], networkMode: "bridge",
            executionRoleArn: app.executionRole.arn, taskRoleArn: app.taskRole.arn,
            volumes: [{ name: PUBLIC_VOLUME, hostPath: "/data/public" }],
            containerDefinitions: containerArgs.apply((c) => JSON.stringify(appContainerDefinitions(c))), tags: tags("todobackend"),
        }, { parent: this, dependsOn: [...secretsReady, app.executionPolicy] });
        this.migrateTaskDefinition = new aws.ecs.TaskDefinition(`${name}-migrate`, {
            family: `${args.namePrefix}-migrate`, requiresCompatibilities: ["EC2"], networkMode: "bridge",
            executionRoleArn: migrate.executionRole.arn, taskRoleArn: migrate.taskRole.arn,
            containerDefinitions: containerArgs.apply((c) => JSON.stringify(migrateContainerDefinitions(c))), tags: tags("migrate"),
        }, { parent: this, dependsOn: [...secretsReady, migrate.executionPolicy] });

        // Read through the cluster's name (its capacity-provider association): ECS refuses a capacity
        // provider the cluster does not have yet.
        const capacityProvider = pulumi.all([args.cluster.capacityProviderName, args.cluster.clusterName]).apply(([cp]) => cp);
        this.migrations = new Migrations(`${name}-migrations`, {
            namePrefix: args.namePrefix,
            cluster: { clusterArn: args.cluster.clusterArn, clusterName: args.cluster.clusterName, capacityProviderName: capacityProvider },
            taskDefinitionArn: this.migrateTaskDefinition.arn, taskDefinitionFamily: this.migrateTaskDefinition.family,
            executionRoleArn: migrate.executionRole.arn, taskRoleArn: migrate.taskRole.arn, logRetentionDays: args.logRetentionDays,
            permissionsBoundary: args.permissionsBoundary, tags: args.tags,
        }, parent);

        this.service = new aws.ecs.Service(`${name}`, {
            name: "todobackend", cluster: args.cluster.clusterArn, taskDefinition: this.taskDefinition.arn, desiredCount: args.desiredCount ?? 1,
            capacityProviderStrategies: [{ capacityProvider, weight: 1, base: 0 }],
            loadBalancers: [{
                // Read through the listener so the service waits for it (book: DependsOn listener).
                targetGroupArn: pulumi.all([args.loadBalancer.targetGroupArn, args.loadBalancer.listenerArn]).apply(([tg]) => tg),
                containerName: APP_CONTAINER, containerPort: APP_PORT,
            }],
            deploymentMinimumHealthyPercent: 100, deploymentMaximumPercent: 200,
            deploymentCircuitBreaker: { enable: true, rollback: true },
            // `pulumi up` (and so the pipeline) fails when a rollout does not settle or is rolled back.
            waitForSteadyState: true,
            propagateTags: "SERVICE", enableEcsManagedTags: true, tags: tags("todobackend"),
        }, { parent: this, dependsOn: [this.migrations, this.logGroup], ignoreChanges: ["desiredCount"] });

        const target = new aws.appautoscaling.Target(`${name}`, {
            serviceNamespace: "ecs", scalableDimension: "ecs:service:DesiredCount",
            resourceId: pulumi.interpolate`service/${args.cluster.clusterName}/${this.service.name}`,
            minCapacity: args.minCapacity ?? 1, maxCapacity: args.maxCapacity ?? 4, tags: tags("todobackend"),
        }, parent);
        // Target tracking replaces the book's two step policies and their CPU alarms (20 % / 40 %).
        new aws.appautoscaling.Policy(`${name}-cpu`, {
            name: `${args.namePrefix}-todobackend-cpu`, policyType: "TargetTrackingScaling",
            serviceNamespace: target.serviceNamespace, scalableDimension: target.scalableDimension, resourceId: target.resourceId,
            targetTrackingScalingPolicyConfiguration: {
                predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
                targetValue: args.targetCpuPercent ?? 40, scaleInCooldown: 360, scaleOutCooldown: 60,
            },
        }, parent);

        this.registerOutputs({ logGroup: this.logGroup, taskDefinition: this.taskDefinition, migrateTaskDefinition: this.migrateTaskDefinition,
            djangoSecret: this.djangoSecret, appDatabaseSecret: this.appDatabaseSecret, migrations: this.migrations, service: this.service });
    }
}

/** Characters of Django's SECRET_KEY: 64 letters and digits, ≈ 381 bits (Django asks for ≥ 50 characters). */
export const DJANGO_KEY_LENGTH = 64;
/** Characters of the app user's MySQL password: 40 letters and digits, ≈ 238 bits. */
export const DATABASE_PASSWORD_LENGTH = 40;

/** Fails early on values known at program time; Inputs still unknown are checked by AWS. */
export function validateAppServiceArgs(args: Pick<AppServiceArgs, "namePrefix" | "desiredCount" | "minCapacity" | "maxCapacity" | "targetCpuPercent"
    | "logRetentionDays" | "appDatabaseUser" | "xrayDaemonAddress" | "xraySidecarImage">): void {
    validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 45, component: "AppService" });
    if ((args.xrayDaemonAddress === undefined) === (args.xraySidecarImage === undefined)) {
        throw new Error("AppService: give exactly one of `xrayDaemonAddress` (a daemon service) and `xraySidecarImage` (a daemon in each task). " +
            "Fix: pass the XrayDaemon's address, or the daemon image for a sidecar");
    }
    if (args.appDatabaseUser !== undefined && !/^[A-Za-z0-9_]{1,32}$/.test(args.appDatabaseUser)) {
        throw new Error(`\`appDatabaseUser\` "${args.appDatabaseUser}" is not a MySQL user name. Fix: use up to 32 letters, digits and underscores.`);
    }
    const min = args.minCapacity ?? 1;
    const max = args.maxCapacity ?? 4;
    checkWholeNumber("minCapacity", min, 1, 100, "keep at least one task running.");
    checkWholeNumber("maxCapacity", max, 1, 100, "set a ceiling of at least `minCapacity`.");
    if (typeof min === "number" && typeof max === "number" && min > max) {
        throw new Error(`\`minCapacity\` (${min}) is above \`maxCapacity\` (${max}). Fix: raise maxCapacity or lower minCapacity.`);
    }
    if (typeof min === "number" && typeof max === "number") {
        checkWholeNumber("desiredCount", args.desiredCount ?? 1, min, max, "stay within the autoscaling bounds minCapacity..maxCapacity.");
    }
    checkWholeNumber("targetCpuPercent", args.targetCpuPercent, 10, 90, "pick a CPU target between 10 and 90 percent.");
    checkLogRetention("logRetentionDays", args.logRetentionDays);
}
