// Network and security groups: the VPC's shape in both modes, and every rule between the groups.
import * as assert from "node:assert/strict";
import { validateNetworkArgs } from "../../infra/network";
import { ANYWHERE, securityRules } from "../../infra/lib/securityRules";
import { EVALUATION_WAIT_MS, Evaluated, evaluateProgram, startEarly } from "./harness";
import { COMPONENTS_PROGRAM, TAGS } from "./programs/components";

startEarly(evaluateProgram(COMPONENTS_PROGRAM, "all", { background: true }));

const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const SG = "aws:ec2/securityGroup:SecurityGroup";

describe("network", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let e: Evaluated;
    before(async () => {
        e = await evaluateProgram(COMPONENTS_PROGRAM, "all");
    });

    it("creates an awsx VPC with public and private subnets over the requested AZs, NAT per AZ and DNS on", () => {
        const vpc = e.one("awsx:ec2:Vpc", "created-vpc").inputs;
        assert.deepEqual(vpc, {
            cidrBlock: "10.20.0.0/16", numberOfAvailabilityZones: 3, subnetStrategy: "Auto",
            subnetSpecs: [{ type: "Public", name: "public" }, { type: "Private", name: "private" }],
            natGateways: { strategy: "OnePerAz" }, enableDnsHostnames: true, enableDnsSupport: true, tags: TAGS,
        });
        assert.equal(e.one("awsx:ec2:Vpc", "created-vpc").parent, e.one("todobackend:infra:Network", "created").urn);
        assert.deepEqual(e.outputs.createdPrivate, ["subnet-private-0", "subnet-private-1", "subnet-private-2"]);
        assert.deepEqual(e.outputs.createdPublic, ["subnet-public-0", "subnet-public-1", "subnet-public-2"]);
    });

    it("uses an existing VPC and its subnets as given, creating nothing", () => {
        assert.equal(e.byType("awsx:ec2:Vpc").length, 1);
        assert.deepEqual([e.outputs.existingVpcId, e.outputs.existingPublic, e.outputs.existingPrivate],
            ["vpc-0a1b2c3d", ["subnet-0a", "subnet-0b"], ["subnet-1a", "subnet-1b"]]);
    });

    it("refuses half an existing network and a single AZ, naming the arg", () => {
        assert.throws(() => validateNetworkArgs({ vpcId: "vpc-1" }), /`vpcId`, `publicSubnetIds` and `privateSubnetIds` go together/);
        assert.throws(() => validateNetworkArgs({ availabilityZones: 1 }), /`availabilityZones` must be an integer ≥ 2, got 1/);
    });

    it("names the four groups after the environment, tagged, with no inline rules", () => {
        const groups = e.byType(SG).filter((g) => g.name.startsWith("sg-"));
        assert.deepEqual(groups.map((g) => g.inputs.name), ["todobackend-dev-alb-sg", "todobackend-dev-instances-sg", "todobackend-dev-db-sg", "todobackend-dev-xray-sg"]);
        for (const g of groups) {
            assert.equal(g.inputs.vpcId, "vpc-created-vpc");
            assert.deepEqual(g.inputs.tags, { ...TAGS, Name: g.inputs.name });
            assert.equal(g.inputs.ingress, undefined);
            assert.equal(g.inputs.egress, undefined);
        }
    });

    // Rules as "group direction protocol ports peer", the peer a CIDR or a group's name.
    function rulesOf(prefix: string): string[] {
        const groupName = new Map(e.byType(SG).map((g) => [g.id, String(g.inputs.name).replace(/^todobackend-\w+-/, "")]));
        return [...e.byType(INGRESS), ...e.byType(EGRESS)].filter((r) => r.name.startsWith(`${prefix}-`)).map((r) => {
            const i = r.inputs;
            const peer = (i.cidrIpv4 as string | undefined) ?? groupName.get(String(i.referencedSecurityGroupId));
            return `${groupName.get(String(i.securityGroupId))} ${r.type === INGRESS ? "in" : "out"} ${i.ipProtocol} ${i.fromPort}-${i.toPort} ${peer}`;
        }).sort();
    }

    it("declares exactly the narrowed book rules: no SSH, X-Ray and MySQL only from the app instances", () => {
        assert.deepEqual(rulesOf("sg"), [
            "alb-sg in tcp 80-80 0.0.0.0/0",
            "alb-sg out tcp 32768-60999 instances-sg",
            "db-sg in tcp 3306-3306 instances-sg",
            "instances-sg in tcp 32768-60999 alb-sg",
            "instances-sg out tcp 3306-3306 db-sg",
            "instances-sg out tcp 443-443 0.0.0.0/0",
            "instances-sg out udp 2000-2000 xray-sg",
            "instances-sg out tcp 2000-2000 xray-sg",
            "instances-sg out udp 53-53 0.0.0.0/0",
            "xray-sg in udp 2000-2000 instances-sg",
            "xray-sg in tcp 2000-2000 instances-sg",
            "xray-sg out tcp 443-443 0.0.0.0/0",
            "xray-sg out udp 53-53 0.0.0.0/0",
        ].sort());
    });

    it("opens 443 on the load balancer only when HTTPS is on", () => {
        const alb = (p: string) => rulesOf(p).filter((r) => r.startsWith("alb-sg in"));
        assert.deepEqual(alb("sg"), ["alb-sg in tcp 80-80 0.0.0.0/0"]);
        assert.deepEqual(alb("tls"), ["alb-sg in tcp 443-443 0.0.0.0/0", "alb-sg in tcp 80-80 0.0.0.0/0"]);
    });

    it("tags every rule and gives each a description", () => {
        for (const r of [...e.byType(INGRESS), ...e.byType(EGRESS)]) {
            assert.equal((r.inputs.tags as Record<string, string>).ManagedBy, "pulumi");
            assert.ok(String(r.inputs.description).length > 0, r.name);
        }
    });
});

describe("security rule table", () => {
    it("admits the internet only on the load balancer's listener ports", () => {
        const open = securityRules([80, 443]).filter((r) => r.direction === "ingress" && "cidr" in r.peer && r.peer.cidr === ANYWHERE);
        assert.deepEqual(open.map((r) => [r.group, r.fromPort]), [["alb", 80], ["alb", 443]]);
    });

    it("pairs every group-to-group egress with the matching ingress on the other side", () => {
        const rules = securityRules();
        for (const out of rules.filter((r) => r.direction === "egress" && "group" in r.peer)) {
            const peer = (out.peer as { group: string }).group;
            assert.ok(rules.some((r) => r.direction === "ingress" && r.group === peer && "group" in r.peer && r.peer.group === out.group &&
                r.protocol === out.protocol && r.fromPort === out.fromPort && r.toPort === out.toPort), out.key);
        }
    });

    it("gives every rule a unique key", () => {
        const keys = securityRules([80, 443]).map((r) => r.key);
        assert.equal(new Set(keys).size, keys.length);
    });
});
