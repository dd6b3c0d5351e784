import * as assert from "node:assert/strict";
import { AppContainerArgs, appContainerDefinitions, imageReference, migrateContainerDefinitions } from "../../infra/lib/appContainers";
import { appExecutionPolicy, appTaskPolicy } from "../../infra/lib/appIam";

const DB_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-AbCdEf";
const DJANGO_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:todobackend-dev/django-secret-key-XyZ";
const args: AppContainerArgs = {
    image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/todobackend:abc123", region: "us-east-1",
    logGroupName: "/todobackend-dev/ecs/todobackend", databaseHost: "db.example.internal", databaseUser: "todobackend",
    databaseName: "todobackend", xrayDaemonAddress: "xray.dev.services.dockerinaws.org:2000",
    databaseSecretArn: DB_SECRET, databasePasswordKey: "password", djangoSecretArn: DJANGO_SECRET,
};
const logConfiguration = { logDriver: "awslogs", options: { "awslogs-group": "/todobackend-dev/ecs/todobackend",
    "awslogs-region": "us-east-1", "awslogs-stream-prefix": "docker" } };
const environment = [
    { name: "DJANGO_SETTINGS_MODULE", value: "todobackend.settings_release" },
    { name: "MYSQL_HOST", value: "db.example.internal" },
    { name: "MYSQL_USER", value: "todobackend" },
    { name: "MYSQL_DATABASE", value: "todobackend" },
    { name: "AWS_DEFAULT_REGION", value: "us-east-1" },
    { name: "AWS_XRAY_DAEMON_ADDRESS", value: "xray.dev.services.dockerinaws.org:2000" },
];
const secrets = [
    { name: "MYSQL_PASSWORD", valueFrom: `${DB_SECRET}:password::` },
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

    it("defines the migrate container with the app's environment and secrets", () => {
        assert.deepEqual(migrateContainerDefinitions(args), [{ name: "migrate", image: args.image, essential: true,
            command: ["python3", "manage.py", "migrate", "--no-input"], cpu: 5, memoryReservation: 5,
            environment, secrets, logConfiguration }]);
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
