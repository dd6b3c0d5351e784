import * as assert from "node:assert/strict";
import { xrayContainerDefinitions, xrayDaemonAddress } from "../../infra/lib/appContainers";
import { XRAY_WRITE_ACTIONS, xrayExecutionPolicy, xrayTaskPolicy } from "../../infra/lib/xrayIam";

const LOG_GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/todobackend-dev/ecs/xray";

describe("X-Ray daemon helpers", () => {
    it("runs the daemon in local mode on UDP 2000 with the region and awslogs", () => {
        assert.deepEqual(xrayContainerDefinitions({ image: "amazon/aws-xray-daemon:3.3.14", region: "eu-west-1", logGroupName: "/todobackend-dev/ecs/xray" }), [{
            name: "xray", image: "amazon/aws-xray-daemon:3.3.14", essential: true, command: ["-o"],
            portMappings: [{ containerPort: 2000, protocol: "udp" }],
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
