import * as assert from "node:assert/strict";
import * as path from "node:path";
import { Evaluated, evaluateProgram, policyDoc } from "./harness";
import { TAGS } from "./programs/xray";
import { validateXrayArgs } from "../../infra/xray";
import { xrayContainerDefinitions, xrayDaemonAddress } from "../../infra/lib/appContainers";
import { XRAY_WRITE_ACTIONS, xrayExecutionPolicy, xrayTaskPolicy } from "../../infra/lib/xrayIam";

const LOG_GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/todobackend-dev/ecs/xray";

describe("X-Ray daemon helpers", () => {
    it("runs the daemon in local mode on UDP 2000 (segments) and TCP 2000 (sampling) with the region and awslogs", () => {
        assert.deepEqual(xrayContainerDefinitions({ image: "amazon/aws-xray-daemon:3.3.14", region: "eu-west-1", logGroupName: "/todobackend-dev/ecs/xray" }), [{
            name: "xray", image: "amazon/aws-xray-daemon:3.3.14", essential: true, command: ["-o"],
            portMappings: [{ containerPort: 2000, protocol: "udp" }, { containerPort: 2000, protocol: "tcp" }],
            environment: [{ name: "AWS_REGION", value: "eu-west-1" }],
            logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/todobackend-dev/ecs/xray",
                "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "docker" } },
        }]);
    });

    it("addresses the daemon by its Cloud Map name, with or without the book's trailing dot", () => {
        assert.equal(xrayDaemonAddress("dev.services.dockerinaws.org"), "xray.dev.services.dockerinaws.org:2000");
        assert.equal(xrayDaemonAddress("services.dockerinaws.org."), "xray.services.dockerinaws.org:2000");
    });

    it("lets the execution role pull images and write only to the daemon's log group (book statements)", () => {
        assert.deepEqual(xrayExecutionPolicy(LOG_GROUP_ARN), { Version: "2012-10-17", Statement: [
            { Sid: "EcrPermissions", Effect: "Allow", Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer", "ecr:GetAuthorizationToken"], Resource: "*" },
            { Sid: "CloudwatchLogsPermissions", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${LOG_GROUP_ARN}:*` },
        ] });
    });

    it("lets the task role write traces and read sampling rules, and nothing else", () => {
        assert.deepEqual(xrayTaskPolicy(), { Version: "2012-10-17", Statement: [
            { Sid: "XrayWrite", Effect: "Allow", Action: XRAY_WRITE_ACTIONS, Resource: "*" }] });
        assert.deepEqual(XRAY_WRITE_ACTIONS, ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
            "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"]);
    });
});

describe("XrayDaemon component", () => {
    let e: Evaluated;
    before(async () => {
        e = await evaluateProgram(path.join(__dirname, "programs", "xray.ts"), "xrayDaemon");
    });
    /** Inputs as the provider would read them; the harness types them `unknown`. */
    const inputsOf = (type: string, name: string) => e.one(type, name).inputs as Record<string, any>;
    const T = {
        role: "aws:iam/role:Role", policy: "aws:iam/rolePolicy:RolePolicy",
        ns: "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", disc: "aws:servicediscovery/service:Service",
        task: "aws:ecs/taskDefinition:TaskDefinition", service: "aws:ecs/service:Service", logs: "aws:cloudwatch/logGroup:LogGroup",
    };

    it("creates a private DNS namespace on the environment's VPC with the configured name", () => {
        const ns = inputsOf(T.ns, "xray-namespace");
        assert.equal(ns.name, "dev.services.dockerinaws.org");
        assert.equal(ns.vpc, "vpc-0123");
    });

    it("registers service xray with an A record of TTL 60, multivalue, and a custom health check", () => {
        const d = inputsOf(T.disc, "xray-discovery");
        assert.equal(d.name, "xray");
        assert.deepEqual(d.dnsConfig, { namespaceId: "xray-namespace-id", routingPolicy: "MULTIVALUE", dnsRecords: [{ type: "A", ttl: 60 }] });
        assert.deepEqual(d.healthCheckCustomConfig, {}, "no deprecated failureThreshold");
        assert.equal(e.outputs.address, "xray.dev.services.dockerinaws.org:2000");
    });

    it("defines a 256/512 Fargate awsvpc task with the xray container, its roles and log group", () => {
        const t = inputsOf(T.task, "xray");
        assert.deepEqual({ family: t.family, requiresCompatibilities: t.requiresCompatibilities, networkMode: t.networkMode, cpu: t.cpu, memory: t.memory },
            { family: "todobackend-dev-xray", requiresCompatibilities: ["FARGATE"], networkMode: "awsvpc", cpu: "256", memory: "512" });
        assert.equal(t.executionRoleArn, "arn:aws:iam::123456789012:role/todobackend-dev/todobackend-dev-xray-execution");
        assert.equal(t.taskRoleArn, "arn:aws:iam::123456789012:role/todobackend-dev/todobackend-dev-xray-task");
        const [c] = JSON.parse(t.containerDefinitions);
        assert.deepEqual({ name: c.name, image: c.image, command: c.command, portMappings: c.portMappings, environment: c.environment },
            { name: "xray", image: "public.ecr.aws/xray/aws-xray-daemon:3.3.14", command: ["-o"],
                portMappings: [{ containerPort: 2000, protocol: "udp" }, { containerPort: 2000, protocol: "tcp" }], environment: [{ name: "AWS_REGION", value: "us-east-1" }] });
        assert.equal(c.logConfiguration.options["awslogs-group"], "/todobackend-dev/ecs/xray");
        const logs = inputsOf(T.logs, "xray");
        assert.deepEqual([logs.name, logs.retentionInDays], ["/todobackend-dev/ecs/xray", 7]);
    });

    it("gives the execution and task roles to ECS tasks only, with the book's permissions on the right log group", () => {
        for (const r of ["xray-execution", "xray-task"]) {
            assert.deepEqual(policyDoc(e.one(T.role, r).inputs.assumeRolePolicy).Statement,
                [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }]);
        }
        const exec = policyDoc(e.one(T.policy, "xray-execution").inputs.policy);
        assert.deepEqual(exec.Statement.map((s) => [s.Sid, s.Resource]), [["EcrPermissions", "*"],
            ["CloudwatchLogsPermissions", "arn:aws:logs:us-east-1:123456789012:log-group:/todobackend-dev/ecs/xray:*"]]);
        assert.equal(exec.Statement.length, 2);
        assert.deepEqual(policyDoc(e.one(T.policy, "xray-task").inputs.policy).Statement.map((s) => s.Sid), ["XrayWrite"]);
        assert.equal(e.one(T.policy, "xray-task").inputs.role, "xray-task-id");
    });

    it("runs 2 daemons on Fargate in private subnets without public IPs, registered in Cloud Map, 100/200", () => {
        const s = inputsOf(T.service, "xray");
        assert.deepEqual({ name: s.name, desiredCount: s.desiredCount, launchType: s.launchType, cluster: s.cluster,
            min: s.deploymentMinimumHealthyPercent, max: s.deploymentMaximumPercent, net: s.networkConfiguration, reg: s.serviceRegistries },
        { name: "todobackend-dev-xray", desiredCount: 2, launchType: "FARGATE", cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/todobackend-dev-cluster",
            min: 100, max: 200, net: { subnets: ["subnet-private-0", "subnet-private-1"], securityGroups: ["sg-xray"], assignPublicIp: false },
            reg: { registryArn: "arn:aws:servicediscovery:us-east-1:123456789012:xray" } });
    });

    it("tags every taggable child with the base tags, parents every child to the component", () => {
        const component = e.one("todobackend:infra:XrayDaemon", "xray");
        const children = e.resources.filter((r) => r !== component);
        assert.ok(children.length >= 9, `${children.length} children`);
        for (const r of children) {
            assert.equal(r.parent, component.urn, r.name);
            if (r.type === T.policy) continue;
            for (const [k, v] of Object.entries(TAGS)) assert.equal((r.inputs.tags as Record<string, string> | undefined)?.[k], v, `${r.type} ${r.name} tag ${k}`);
        }
    });

    it("fails on a namespace that is not a domain, a zero daemon count or an invalid retention, naming the arg", () => {
        assert.throws(() => validateXrayArgs({ namePrefix: "t", namespaceName: "services_dockerinaws" }), /`namespaceName` must be a DNS domain name/);
        assert.throws(() => validateXrayArgs({ namePrefix: "t", namespaceName: "a.org", desiredCount: 0 }), /`desiredCount` must be a whole number from 1/);
        assert.throws(() => validateXrayArgs({ namePrefix: "t", namespaceName: "a.org", logRetentionDays: 10 }), /`logRetentionDays` 10 is not a CloudWatch Logs retention/);
        assert.throws(() => validateXrayArgs({ namePrefix: "dev/1", namespaceName: "a.org" }), /XrayDaemon: `namePrefix` "dev\/1" must start with a letter and hold only letters, digits and hyphens/);
        assert.doesNotThrow(() => validateXrayArgs({ namePrefix: "todobackend-dev", namespaceName: "services.dockerinaws.org.", desiredCount: 2, logRetentionDays: 7 }));
    });
});
