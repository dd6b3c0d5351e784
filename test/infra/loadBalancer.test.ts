// The ALB, its target group and listeners: the book's values, and HTTPS when a certificate is set.
import * as assert from "node:assert/strict";
import { EVALUATION_WAIT_MS, Evaluated, evaluateProgram, startEarly } from "./harness";
import { COMPONENTS_PROGRAM, TAGS } from "./programs/components";
import { TLS_POLICY } from "../../infra/loadBalancer";

startEarly(evaluateProgram(COMPONENTS_PROGRAM, "all", { background: true }));

const LB = "aws:lb/loadBalancer:LoadBalancer";
const TG = "aws:lb/targetGroup:TargetGroup";
const LISTENER = "aws:lb/listener:Listener";

describe("load balancer", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let e: Evaluated;
    before(async () => {
        e = await evaluateProgram(COMPONENTS_PROGRAM, "all");
    });

    it("is internet-facing in the public subnets behind its group, idle timeout 30 (book §6.3)", () => {
        assert.deepEqual(e.one(LB, "plain-alb").inputs, {
            name: "todobackend-dev-alb", internal: false, loadBalancerType: "application",
            subnets: ["subnet-public-0", "subnet-public-1"], securityGroups: ["sg-alb"], idleTimeout: 30,
            dropInvalidHeaderFields: true, enableDeletionProtection: false, tags: { ...TAGS, Name: "todobackend-dev-alb" },
        });
        // Asked for (the environment does in production), the load balancer refuses deletion.
        assert.equal(e.one(LB, "tls-alb").inputs.enableDeletionProtection, true);
    });

    it("targets the app's instances on HTTP 8000 with a 30 s deregistration delay", () => {
        assert.deepEqual(e.one(TG, "plain-app").inputs, {
            name: "todobackend-dev-app", vpcId: "vpc-1", protocol: "HTTP", port: 8000, targetType: "instance",
            deregistrationDelay: 30, tags: { ...TAGS, Name: "todobackend-dev-app" },
        });
    });

    it("forwards HTTP 80 to the app when there is no certificate", () => {
        const listeners = e.byType(LISTENER).filter((l) => l.parent === e.one("todobackend:infra:LoadBalancer", "plain").urn);
        assert.deepEqual(listeners.map((l) => [l.inputs.protocol, l.inputs.port]), [["HTTP", 80]]);
        const http = e.one(LISTENER, "plain-http").inputs;
        assert.equal(http.loadBalancerArn, "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/todobackend-dev-alb/0123456789abcdef");
        assert.deepEqual(http.defaultActions, [{ type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/todobackend-dev-app/0123456789abcdef" }]);
        assert.equal(e.outputs.httpListener, e.one(LISTENER, "plain-http").urn);
        assert.equal(e.outputs.httpUrl, "http://todobackend-dev-alb-1234567890.us-east-1.elb.amazonaws.com");
    });

    it("with a certificate, serves HTTPS 443 on a TLS 1.3 policy and redirects 80 to it", () => {
        assert.deepEqual(e.one(LISTENER, "tls-http").inputs.defaultActions,
            [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
        const https = e.one(LISTENER, "tls-https").inputs;
        assert.deepEqual([https.protocol, https.port, https.sslPolicy, https.certificateArn],
            ["HTTPS", 443, TLS_POLICY, "arn:aws:acm:us-east-1:123456789012:certificate/abc"]);
        assert.equal(TLS_POLICY, "ELBSecurityPolicy-TLS13-1-2-2021-06");
        assert.deepEqual(https.defaultActions, [{ type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/todobackend-prod-app/0123456789abcdef" }]);
        assert.equal(e.outputs.tlsListener, e.one(LISTENER, "tls-https").urn, "the service must wait for the forwarding listener");
        assert.equal(e.outputs.tlsUrl, "https://todobackend-prod-alb-1234567890.us-east-1.elb.amazonaws.com");
    });
});
