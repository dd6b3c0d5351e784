// The app service, migrations and X-Ray daemon as wired into the real dev and prod programs: each
// reads the right id from the network, cluster, load balancer, database and security groups.
// (The same evaluations as environment.test.ts; the harness evaluates each stack once per process.)
import * as assert from "node:assert/strict";
import { Evaluated, evaluateStack, policyDoc } from "./harness";

const ACCOUNT = "123456789012";
const arn = (service: string, name: string) => `arn:aws:${service}:us-east-1:${ACCOUNT}:${name}`;

describe("app, migrations and X-Ray in the environment stacks", () => {
    const stacks: Record<string, Evaluated> = {};
    before(async () => {
        [stacks.dev, stacks.prod] = await Promise.all([evaluateStack("dev"), evaluateStack("prod")]);
    });
    const inputsOf = (e: Evaluated, type: string, name: string) => e.one(type, name).inputs as Record<string, any>;
    const containers = (e: Evaluated, name: string) => JSON.parse(inputsOf(e, "aws:ecs/taskDefinition:TaskDefinition", name).containerDefinitions);
    const envOf = (c: { environment: { name: string; value: string }[] }) => Object.fromEntries(c.environment.map((v) => [v.name, v.value]));

    for (const env of ["dev", "prod"]) {
        describe(env, () => {
            const e = () => stacks[env];

            it("points the app at this stack's database as its own user, migrate at the RDS-managed master secret, and the app at its own X-Ray namespace", () => {
                const [app] = containers(e(), "app");
                const vars = envOf(app);
                assert.equal(vars.MYSQL_HOST, inputsOf(e(), "aws:rds/instance:Instance", "db").identifier + ".abcdefghijkl.us-east-1.rds.amazonaws.com");
                assert.equal(vars.AWS_XRAY_DAEMON_ADDRESS, `xray.${env}.services.dockerinaws.org:2000`);
                assert.equal(e().outputs.xrayAddress, vars.AWS_XRAY_DAEMON_ADDRESS);
                assert.equal(inputsOf(e(), "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "xray-namespace").name, `${env}.services.dockerinaws.org`);
                const dbSecret = arn("secretsmanager", `secret:rds!db-db-AbCdEf`);
                const appSecret = arn("secretsmanager", `secret:todobackend-${env}/db-app-password-0123456789abcdef-AbCdEf`);
                // The app uses its own user and password; only migrate uses the RDS-managed master secret.
                assert.equal(vars.MYSQL_USER, "todobackend_app");
                assert.equal(app.secrets.find((s: { name: string }) => s.name === "MYSQL_PASSWORD").valueFrom, appSecret);
                const [migrate] = containers(e(), "app-migrate");
                assert.equal(envOf(migrate).MYSQL_USER, "todobackend");
                assert.equal(migrate.secrets.find((s: { name: string }) => s.name === "MYSQL_PASSWORD").valueFrom, `${dbSecret}:password::`);
                // Each task definition has its own execution role: only migrate's may read the master secret.
                const reads = (role: string) => policyDoc(inputsOf(e(), "aws:iam/rolePolicy:RolePolicy", role).policy).Statement.find((s) => s.Sid === "ReadAppSecrets")?.Resource;
                assert.deepEqual(reads("app-execution"), [arn("secretsmanager", `secret:todobackend-${env}/django-secret-key-0123456789abcdef-AbCdEf`), appSecret]);
                assert.deepEqual(reads("app-migrate-execution"), [dbSecret, arn("secretsmanager", `secret:todobackend-${env}/django-secret-key-0123456789abcdef-AbCdEf`), appSecret]);
            });

            it("runs the app image of the delivery stack in the stack's family, log group and cluster", () => {
                const [app] = containers(e(), "app");
                assert.equal(app.image, e().outputs.appImage);
                assert.equal(inputsOf(e(), "aws:ecs/taskDefinition:TaskDefinition", "app").family, `todobackend-${env}`);
                assert.equal(app.logConfiguration.options["awslogs-group"], `/todobackend-${env}/ecs/todobackend`);
                const service = inputsOf(e(), "aws:ecs/service:Service", "app");
                assert.equal(service.cluster, arn("ecs", `cluster/todobackend-${env}-cluster`));
                assert.deepEqual(service.capacityProviderStrategies, [{ capacityProvider: inputsOf(e(), "aws:ecs/capacityProvider:CapacityProvider", "ecs-ec2").name, weight: 1, base: 0 }]);
                assert.equal(service.loadBalancers[0].targetGroupArn, arn("elasticloadbalancing", `targetgroup/${inputsOf(e(), "aws:lb/targetGroup:TargetGroup", "web-app").name}/0123456789abcdef`));
                assert.equal(e().outputs.serviceName, "todobackend");
            });

            it("migrates with this stack's migrate task definition in this stack's cluster", () => {
                const input = JSON.parse(inputsOf(e(), "aws:lambda/invocation:Invocation", "app-migrations").input);
                assert.deepEqual([input.cluster, input.taskDefinition],
                    [arn("ecs", `cluster/todobackend-${env}-cluster`), arn("ecs", `task-definition/todobackend-${env}-migrate:1`)]);
                const pass = policyDoc(inputsOf(e(), "aws:iam/rolePolicy:RolePolicy", "app-migrations").policy).Statement.find((s) => s.Sid === "PassMigrateRoles");
                assert.deepEqual(pass?.Resource, [`arn:aws:iam::${ACCOUNT}:role/todobackend-${env}/todobackend-${env}-migrate-execution`, `arn:aws:iam::${ACCOUNT}:role/todobackend-${env}/todobackend-${env}-migrate-task`]);
            });

            it("runs the daemon with the delivery stack's image, in private subnets, behind the X-Ray security group", () => {
                const [xray] = containers(e(), "xray");
                assert.equal(xray.image, e().outputs.xrayImage);
                const net = inputsOf(e(), "aws:ecs/service:Service", "xray").networkConfiguration;
                assert.deepEqual(net, { subnets: ["subnet-private-0", "subnet-private-1"], securityGroups: [e().one("aws:ec2/securityGroup:SecurityGroup", "security-xray").id], assignPublicIp: false });
                assert.equal(inputsOf(e(), "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "xray-namespace").vpc, "vpc-network-vpc");
            });
        });
    }
});
