import * as assert from "node:assert/strict";
import * as path from "node:path";
import { Evaluated, evaluateProgram, policyDoc } from "./harness";
import { DB_SECRET as PROGRAM_DB_SECRET, TAGS } from "./programs/appService";
import { validateAppServiceArgs } from "../../infra/appService";
import { AppContainerArgs, appContainerDefinitions, imageReference, migrateContainerDefinitions, PROVISION_APP_USER_SCRIPT } from "../../infra/lib/appContainers";
import { appExecutionPolicy, appTaskPolicy } from "../../infra/lib/appIam";

const DB_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-AbCdEf";
const DJANGO_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:todobackend-dev/django-secret-key-XyZ";
const APP_DB_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:todobackend-dev/db-app-password-AbC";
const args: AppContainerArgs = {
    image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/todobackend:abc123", region: "us-east-1",
    logGroupName: "/todobackend-dev/ecs/todobackend", databaseHost: "db.example.internal", databaseUser: "todobackend",
    databaseName: "todobackend", xrayDaemonAddress: "xray.dev.services.dockerinaws.org:2000",
    databaseSecretArn: DB_SECRET, databasePasswordKey: "password", djangoSecretArn: DJANGO_SECRET,
    appDatabaseUser: "todobackend_app", appDatabaseSecretArn: APP_DB_SECRET, appDatabaseSecretVersion: "v1",
};
const logConfiguration = { logDriver: "awslogs", options: { "awslogs-group": "/todobackend-dev/ecs/todobackend",
    "awslogs-region": "us-east-1", "awslogs-stream-prefix": "docker" } };
const environmentAs = (user: string) => [
    { name: "DJANGO_SETTINGS_MODULE", value: "todobackend.settings_release" },
    { name: "MYSQL_HOST", value: "db.example.internal" },
    { name: "MYSQL_USER", value: user },
    { name: "MYSQL_DATABASE", value: "todobackend" },
    { name: "AWS_DEFAULT_REGION", value: "us-east-1" },
    { name: "AWS_XRAY_DAEMON_ADDRESS", value: "xray.dev.services.dockerinaws.org:2000" },
    { name: "APP_MYSQL_USER_REVISION", value: "v1" },
];
// The app connects as its own user, with its own password: never the master's, which RDS rotates.
const environment = environmentAs("todobackend_app");
const secrets = [
    { name: "MYSQL_PASSWORD", valueFrom: APP_DB_SECRET },
    { name: "SECRET_KEY", valueFrom: DJANGO_SECRET },
];

describe("app container helpers", () => {
    it("defines the book's todobackend and collectstatic containers sharing the public volume", () => {
        assert.deepEqual(appContainerDefinitions(args), [
            { name: "todobackend", image: args.image, essential: true,
                command: ["uwsgi", "--http=0.0.0.0:8000", "--module=todobackend.wsgi", "--master", "--die-on-term",
                    "--processes=4", "--threads=2", "--check-static=/public"],
                cpu: 245, memoryReservation: 395, portMappings: [{ containerPort: 8000, hostPort: 0, protocol: "tcp" }],
                mountPoints: [{ sourceVolume: "public", containerPath: "/public", readOnly: false }],
                environment, secrets, logConfiguration },
            { name: "collectstatic", image: args.image, essential: false, command: ["python3", "manage.py", "collectstatic", "--no-input"],
                cpu: 5, memoryReservation: 5, mountPoints: [{ sourceVolume: "public", containerPath: "/public", readOnly: false }],
                environment: [{ name: "DJANGO_SETTINGS_MODULE", value: "todobackend.settings_release" }], logConfiguration },
        ]);
    });

    it("defines the migrate container as the master user, provisioning the app user before migrate", () => {
        assert.deepEqual(migrateContainerDefinitions(args), [{ name: "migrate", image: args.image, essential: true,
            command: ["python3", "-c", PROVISION_APP_USER_SCRIPT, "python3", "manage.py", "migrate", "--no-input"], cpu: 5, memoryReservation: 5,
            environment: [...environmentAs("todobackend"), { name: "APP_MYSQL_USER", value: "todobackend_app" }],
            secrets: [{ name: "MYSQL_PASSWORD", valueFrom: `${DB_SECRET}:password::` }, { name: "APP_MYSQL_PASSWORD", valueFrom: APP_DB_SECRET },
                { name: "SECRET_KEY", valueFrom: DJANGO_SECRET }], logConfiguration }]);
    });

    it("never puts a password or secret key in a container's plain environment", () => {
        for (const c of [...appContainerDefinitions(args), ...migrateContainerDefinitions(args)]) {
            assert.deepEqual(c.environment.filter((e) => /PASSWORD|SECRET/.test(e.name)), [], c.name);
        }
    });

    it("joins repository and tag, and fails on a repository that already has a tag or digest", () => {
        assert.equal(imageReference("registry.example:5000/docker-in-aws/todobackend", "latest"), "registry.example:5000/docker-in-aws/todobackend:latest");
        assert.throws(() => imageReference("docker-in-aws/todobackend:latest", "abc"), /`appRepository` must be a repository without a tag/);
        assert.throws(() => imageReference("docker-in-aws/todobackend@sha256:00", "abc"), /`appRepository`/);
        assert.throws(() => imageReference("docker-in-aws/todobackend", "bad tag"), /`imageTag` "bad tag" is not a valid Docker tag/);
    });
});

describe("app IAM helpers", () => {
    const logGroupArn = "arn:aws:logs:us-east-1:123456789012:log-group:/todobackend-dev/ecs/todobackend";

    it("lets the execution role read exactly the two app secrets, pull images and write the app log group", () => {
        assert.deepEqual(appExecutionPolicy({ logGroupArn, secretArns: [DB_SECRET, DJANGO_SECRET] }).Statement, [
            { Sid: "EcrPermissions", Effect: "Allow", Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer", "ecr:GetAuthorizationToken"], Resource: "*" },
            { Sid: "CloudwatchLogsPermissions", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
            { Sid: "ReadAppSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [DB_SECRET, DJANGO_SECRET] },
        ]);
    });

    it("fails to build an execution policy without secrets", () => {
        assert.throws(() => appExecutionPolicy({ logGroupArn, secretArns: [] }), /`secretArns` is empty/);
    });

    it("gives the app's task role X-Ray write access and no secret access", () => {
        const doc = appTaskPolicy();
        assert.deepEqual(doc.Statement.map((s) => s.Sid), ["XrayWrite"]);
        assert.doesNotMatch(JSON.stringify(doc), /secretsmanager|kms/);
    });
});

describe("AppService component", () => {
    let e: Evaluated;
    before(async () => {
        e = await evaluateProgram(path.join(__dirname, "programs", "appService.ts"), "appService");
    });
    const inputsOf = (type: string, name: string) => e.one(type, name).inputs as Record<string, any>;
    const T = { task: "aws:ecs/taskDefinition:TaskDefinition", service: "aws:ecs/service:Service", role: "aws:iam/role:Role",
        policy: "aws:iam/rolePolicy:RolePolicy", secret: "aws:secretsmanager/secret:Secret", version: "aws:secretsmanager/secretVersion:SecretVersion",
        random: "random:index/randomPassword:RandomPassword" };
    const DJANGO = "arn:aws:secretsmanager:us-east-1:123456789012:secret:todobackend-dev/django-secret-key-0123456789abcdef-AbCdEf";
    const APP_DB = "arn:aws:secretsmanager:us-east-1:123456789012:secret:todobackend-dev/db-app-password-0123456789abcdef-AbCdEf";
    const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/todobackend:abc123.build-1";
    const options = (type: string, name: string) =>
        (e.outputs.options as Record<string, { dependsOn: string[]; ignoreChanges: string[] }>)[`${type}::${name}`];
    const urnOf = (type: string, name: string) => e.one(type, name).urn;

    it("logs to /<env>/ecs/todobackend for 7 days", () => {
        const logs = inputsOf("aws:cloudwatch/logGroup:LogGroup", "app");
        assert.deepEqual([logs.name, logs.retentionInDays], ["/todobackend-dev/ecs/todobackend", 7]);
    });

    it("defines the app task: family = env, EC2 bridge mode, host volume /data/public, both roles", () => {
        const t = inputsOf(T.task, "app");
        assert.deepEqual({ family: t.family, compat: t.requiresCompatibilities, mode: t.networkMode, volumes: t.volumes,
            exec: t.executionRoleArn, task: t.taskRoleArn },
        { family: "todobackend-dev", compat: ["EC2"], mode: "bridge", volumes: [{ name: "public", hostPath: "/data/public" }],
            exec: "arn:aws:iam::123456789012:role/todobackend-dev/todobackend-dev-app-execution", task: "arn:aws:iam::123456789012:role/todobackend-dev/todobackend-dev-app-task" });
    });

    it("runs the configured image as the app's own database user, with the environment (X-Ray address included) and its two secrets by ARN", () => {
        const [app, collectstatic] = JSON.parse(inputsOf(T.task, "app").containerDefinitions);
        assert.deepEqual([app.name, app.image, collectstatic.name, collectstatic.image], ["todobackend", IMAGE, "collectstatic", IMAGE]);
        assert.deepEqual(app.environment, [
            { name: "DJANGO_SETTINGS_MODULE", value: "todobackend.settings_release" },
            { name: "MYSQL_HOST", value: "todobackend-dev.abcdefghijkl.us-east-1.rds.amazonaws.com" },
            { name: "MYSQL_USER", value: "todobackend_app" }, { name: "MYSQL_DATABASE", value: "todobackend" },
            { name: "AWS_DEFAULT_REGION", value: "us-east-1" },
            { name: "AWS_XRAY_DAEMON_ADDRESS", value: "xray.dev.services.dockerinaws.org:2000" },
            { name: "APP_MYSQL_USER_REVISION", value: "app-db-app-version-1" }]);
        assert.deepEqual(app.secrets, [{ name: "MYSQL_PASSWORD", valueFrom: APP_DB }, { name: "SECRET_KEY", valueFrom: DJANGO }]);
        assert.equal(app.logConfiguration.options["awslogs-group"], "/todobackend-dev/ecs/todobackend");
    });

    it("defines <env>-migrate with the same image, as the master user, provisioning the app user before migrate", () => {
        const t = inputsOf(T.task, "app-migrate");
        assert.equal(t.family, "todobackend-dev-migrate");
        const [migrate] = JSON.parse(t.containerDefinitions);
        assert.deepEqual([migrate.name, migrate.image, migrate.command], ["migrate", IMAGE, ["python3", "-c", PROVISION_APP_USER_SCRIPT, "python3", "manage.py", "migrate", "--no-input"]]);
        const vars = Object.fromEntries(migrate.environment.map((v: { name: string; value: string }) => [v.name, v.value]));
        assert.deepEqual([vars.MYSQL_USER, vars.APP_MYSQL_USER, vars.APP_MYSQL_USER_REVISION], ["todobackend", "todobackend_app", "app-db-app-version-1"]);
        assert.deepEqual(migrate.secrets, [{ name: "MYSQL_PASSWORD", valueFrom: `${PROGRAM_DB_SECRET}:password::` },
            { name: "APP_MYSQL_PASSWORD", valueFrom: APP_DB }, { name: "SECRET_KEY", valueFrom: DJANGO }]);
    });

    it("keeps the app user's password, a @pulumi/random password fixed at create, as a Pulumi secret in its own Secrets Manager secret", () => {
        assert.equal(inputsOf(T.secret, "app-db-app").namePrefix, "todobackend-dev/db-app-password-");
        assert.deepEqual(inputsOf(T.random, "app-db-app-password"), { length: 40, special: false });
        const version = e.one(T.version, "app-db-app");
        assert.ok(e.isSecret(version, "secretString"), "the password is a Pulumi secret");
        assert.equal(version.inputs.secretString, "mock-random-app-db-app-password");
        assert.deepEqual(options(T.version, "app-db-app").ignoreChanges, [], "a replaced password reaches the secret");
    });

    it("keeps the Django key, a @pulumi/random password fixed at create, as a Pulumi secret in a per-environment Secrets Manager secret", () => {
        assert.equal(inputsOf(T.secret, "app-django").namePrefix, "todobackend-dev/django-secret-key-");
        assert.deepEqual(inputsOf(T.random, "app-django-key"), { length: 64, special: false });
        const version = e.one(T.version, "app-django");
        assert.ok(e.isSecret(version, "secretString"), "the key is a Pulumi secret");
        assert.equal(version.inputs.secretString, "mock-random-app-django-key");
        assert.deepEqual(options(T.version, "app-django").ignoreChanges, []);
    });

    it("lets the app's execution role read its own two secrets, never the master secret, which only the migrate task's execution role reads", () => {
        const exec = (role: string) => policyDoc(inputsOf(T.policy, role).policy);
        assert.deepEqual(exec("app-execution").Statement.find((s) => s.Sid === "ReadAppSecrets")?.Resource, [DJANGO, APP_DB]);
        assert.deepEqual(exec("app-migrate-execution").Statement.find((s) => s.Sid === "ReadAppSecrets")?.Resource, [PROGRAM_DB_SECRET, DJANGO, APP_DB]);
        for (const role of ["app-execution", "app-migrate-execution"]) {
            assert.deepEqual(exec(role).Statement.map((s) => s.Sid), ["EcrPermissions", "CloudwatchLogsPermissions", "ReadAppSecrets"]);
        }
        const migrate = inputsOf(T.task, "app-migrate");
        assert.deepEqual([migrate.executionRoleArn, migrate.taskRoleArn], ["arn:aws:iam::123456789012:role/todobackend-dev/todobackend-dev-migrate-execution",
            "arn:aws:iam::123456789012:role/todobackend-dev/todobackend-dev-migrate-task"]);
        for (const r of ["app-task", "app-migrate-task"]) assert.deepEqual(policyDoc(inputsOf(T.policy, r).policy).Statement.map((s) => [s.Sid, s.Resource]), [["XrayWrite", "*"]]);
        for (const r of ["app-execution", "app-task", "app-migrate-execution", "app-migrate-task"]) {
            assert.deepEqual(policyDoc(inputsOf(T.role, r).assumeRolePolicy).Statement[0].Principal, { Service: "ecs-tasks.amazonaws.com" });
        }
    });

    it("runs the service on the capacity provider behind the target group, 100/200, circuit breaker with rollback", () => {
        const s = inputsOf(T.service, "app");
        assert.deepEqual({ name: s.name, cluster: s.cluster, taskDefinition: s.taskDefinition, desiredCount: s.desiredCount,
            cps: s.capacityProviderStrategies, lbs: s.loadBalancers, min: s.deploymentMinimumHealthyPercent, max: s.deploymentMaximumPercent,
            cb: s.deploymentCircuitBreaker, launchType: s.launchType, iamRole: s.iamRole }, {
            name: "todobackend", cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/todobackend-dev-cluster",
            taskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/todobackend-dev:1", desiredCount: 2,
            cps: [{ capacityProvider: "todobackend-dev-capacity", weight: 1, base: 0 }],
            lbs: [{ targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/todobackend-dev/0123", containerName: "todobackend", containerPort: 8000 }],
            min: 100, max: 200, cb: { enable: true, rollback: true }, launchType: undefined, iamRole: undefined });
    });

    it("updates the service only after the migrations ran, and leaves the task count to autoscaling", () => {
        assert.deepEqual(options(T.service, "app").dependsOn.sort(), [urnOf("todobackend:infra:Migrations", "app-migrations"),
            urnOf("aws:cloudwatch/logGroup:LogGroup", "app")].sort());
        assert.deepEqual(options(T.service, "app").ignoreChanges, ["desiredCount"]);
        const inv = JSON.parse(inputsOf("aws:lambda/invocation:Invocation", "app-migrations").input);
        assert.equal(inv.taskDefinition, "arn:aws:ecs:us-east-1:123456789012:task-definition/todobackend-dev-migrate:1");
        assert.equal(e.one("aws:lambda/invocation:Invocation", "app-migrations").parent, urnOf("todobackend:infra:Migrations", "app-migrations"));
    });

    it("starts no task before the Django key and the app user's password exist and the execution role may read them", () => {
        const secrets = [urnOf(T.version, "app-django"), urnOf(T.version, "app-db-app")];
        assert.deepEqual(options(T.task, "app").dependsOn.sort(), [...secrets, urnOf(T.policy, "app-execution")].sort());
        assert.deepEqual(options(T.task, "app-migrate").dependsOn.sort(), [...secrets, urnOf(T.policy, "app-migrate-execution")].sort());
    });

    it("scales the service between 1 and 4 tasks, tracking 40 % average CPU", () => {
        const target = inputsOf("aws:appautoscaling/target:Target", "app");
        assert.deepEqual({ ns: target.serviceNamespace, dim: target.scalableDimension, id: target.resourceId, min: target.minCapacity, max: target.maxCapacity },
            { ns: "ecs", dim: "ecs:service:DesiredCount", id: "service/todobackend-dev-cluster/todobackend", min: 1, max: 4 });
        const policy = inputsOf("aws:appautoscaling/policy:Policy", "app-cpu");
        assert.deepEqual([policy.policyType, policy.resourceId, policy.targetTrackingScalingPolicyConfiguration], ["TargetTrackingScaling",
            "service/todobackend-dev-cluster/todobackend", { predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
                targetValue: 40, scaleInCooldown: 360, scaleOutCooldown: 60 }]);
    });

    it("tags every taggable child with the base tags and parents it under the component", () => {
        const component = e.one("todobackend:infra:AppService", "app");
        const untaggable = ["aws:iam/rolePolicy:RolePolicy", "aws:lambda/invocation:Invocation", T.version, "aws:appautoscaling/policy:Policy", T.random];
        const mine = e.resources.filter((r) => r.parent === component.urn);
        assert.ok(mine.length >= 13, `${mine.length} children`);
        const taggable = e.resources.filter((x) => x.custom && !untaggable.includes(x.type));
        assert.ok(taggable.length >= 10, `${taggable.length} taggable resources`);
        for (const r of taggable) {
            for (const [k, v] of Object.entries(TAGS)) assert.equal((r.inputs.tags as Record<string, string> | undefined)?.[k], v, `${r.type} ${r.name} tag ${k}`);
        }
    });

    it("fails on a name prefix too long for its role names, a bad database user name and autoscaling bounds that cannot hold, naming the arg", () => {
        const x = { xrayDaemonAddress: "x:2000" };
        assert.throws(() => validateAppServiceArgs({ ...x, namePrefix: "t", minCapacity: 3, maxCapacity: 2 }), /`minCapacity` \(3\) is above `maxCapacity` \(2\)/);
        assert.throws(() => validateAppServiceArgs({ ...x, namePrefix: "t", desiredCount: 5 }), /`desiredCount` must be a whole number from 1 to 4/);
        assert.throws(() => validateAppServiceArgs({ ...x, namePrefix: "t", targetCpuPercent: 100 }), /`targetCpuPercent`/);
        assert.throws(() => validateAppServiceArgs({ ...x, namePrefix: "t", logRetentionDays: 8 }), /`logRetentionDays` 8/);
        assert.throws(() => validateAppServiceArgs({ ...x, namePrefix: "todobackend-" + "x".repeat(40) }), /AppService: `namePrefix` ".*" is longer than 45 characters.*Fix: use a shorter stack name/);
        assert.throws(() => validateAppServiceArgs({ ...x, namePrefix: "t", appDatabaseUser: "app-user" }), /`appDatabaseUser` "app-user" is not a MySQL user name\. Fix:/);
        assert.doesNotThrow(() => validateAppServiceArgs({ ...x, namePrefix: "todobackend-dev", desiredCount: 1, minCapacity: 1, maxCapacity: 4, targetCpuPercent: 40, logRetentionDays: 7 }));
    });

});
