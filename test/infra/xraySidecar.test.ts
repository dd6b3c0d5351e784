// The X-Ray daemon as a sidecar of each app task (config xrayMode: sidecar), the cheaper option
// of issue 23: no Fargate service, Cloud Map namespace or security group of its own.
import * as assert from "node:assert/strict";
import { securityRules } from "../../infra/lib/securityRules";
import { validateAppServiceArgs } from "../../infra/appService";
import { EVALUATION_WAIT_MS, Evaluated, evaluateStack, startEarly } from "./harness";

const runs = startEarly(Promise.all([evaluateStack("dev", { config: { xrayMode: "sidecar" }, background: true }), evaluateStack("dev", { background: true })]));

describe("the X-Ray daemon as a sidecar of the app tasks (xrayMode sidecar)", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let sidecar: Evaluated;
    let service: Evaluated;
    before(async () => {
        [sidecar, service] = await runs;
    });
    const containers = (e: Evaluated, td: string) => JSON.parse(String(e.one("aws:ecs/taskDefinition:TaskDefinition", td).inputs.containerDefinitions));
    const env = (c: { environment: Array<{ name: string; value: string }> }) => Object.fromEntries(c.environment.map((v) => [v.name, v.value]));

    it("runs the daemon in each app task, linked to the app, which sends it traces by that name", () => {
        const [app, collectstatic, xray] = containers(sidecar, "app");
        assert.deepEqual([app.name, collectstatic.name, xray.name], ["todobackend", "collectstatic", "xray"]);
        assert.deepEqual(app.links, ["xray"]);
        assert.equal(env(app).AWS_XRAY_DAEMON_ADDRESS, "xray:2000");
        assert.deepEqual({ image: xray.image, essential: xray.essential, command: xray.command, cpu: xray.cpu, memory: xray.memoryReservation, ports: xray.portMappings, env: xray.environment },
            { image: service.outputs.xrayImage, essential: false, command: ["-o"], cpu: 32, memory: 64, ports: [{ containerPort: 2000, protocol: "udp" }],
                env: [{ name: "AWS_REGION", value: "us-east-1" }] });
        assert.equal(xray.logConfiguration.options["awslogs-group"], "/todobackend-dev/ecs/todobackend");
        assert.equal(env(containers(sidecar, "app-migrate")[0]).AWS_XRAY_DAEMON_ADDRESS, "127.0.0.1:2000", "migrate has no daemon; its UDP goes nowhere");
        assert.equal(sidecar.outputs.xrayAddress, "xray:2000");
    });

    it("creates no Fargate service, task definition, namespace, discovery service, roles or security group for the daemon", () => {
        const types = (e: Evaluated) => e.resources.map((r) => `${r.type}::${r.name}`);
        const gone = types(service).filter((t) => !types(sidecar).includes(t));
        assert.deepEqual(gone.sort(), [
            "aws:cloudwatch/logGroup:LogGroup::xray", "aws:ecs/service:Service::xray", "aws:ecs/taskDefinition:TaskDefinition::xray",
            "aws:ec2/securityGroup:SecurityGroup::security-xray", "aws:iam/role:Role::xray-execution", "aws:iam/role:Role::xray-task",
            "aws:iam/rolePolicy:RolePolicy::xray-execution", "aws:iam/rolePolicy:RolePolicy::xray-task",
            "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace::xray-namespace", "aws:servicediscovery/service:Service::xray-discovery",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::security-instances-out-xray", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::security-xray-out-dns",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::security-xray-out-https", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::security-xray-in-instances",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::security-instances-out-xray-sampling",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::security-xray-in-instances-sampling",
            "todobackend:infra:XrayDaemon::xray",
        ].sort());
        assert.deepEqual(types(sidecar).filter((t) => !types(service).includes(t)), []);
    });

    it("keeps the service mode's rules unless told otherwise, and the AppService takes exactly one daemon", () => {
        assert.equal(securityRules([80]).filter((r) => r.key.includes("xray")).length, 6);
        assert.equal(securityRules([80], false).filter((r) => r.key.includes("xray")).length, 0);
        assert.throws(() => validateAppServiceArgs({ namePrefix: "t" }), /give exactly one of `xrayDaemonAddress` .* and `xraySidecarImage`/);
        assert.throws(() => validateAppServiceArgs({ namePrefix: "t", xrayDaemonAddress: "x:2000", xraySidecarImage: "i" }), /exactly one/);
    });
});
