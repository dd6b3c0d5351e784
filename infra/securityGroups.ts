// The environment's four security groups and every rule between them (infra/lib/securityRules.ts).
// One component owns them all because the rules reference each other's groups; the consumers
// (load balancer, cluster, database, X-Ray) only take the group ids.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NamedComponentArgs } from "./lib/componentArgs";
import { Group, securityRules } from "./lib/securityRules";
import { withNameTag } from "./lib/tags";
import { validateNamePrefix } from "./lib/naming";

/** `namePrefix` → the groups' names, e.g. `todobackend-dev-alb-sg`; at most 200 characters (group names allow 255). */
export interface SecurityGroupsArgs extends NamedComponentArgs {
    /** VPC of the groups. */
    readonly vpcId: pulumi.Input<string>;
    /** Ports the ALB listens on; each is opened to the internet. @default [80] */
    readonly listenerPorts?: number[];
    /** The X-Ray daemon runs as its own service (a group of its own, UDP 2000 from the instances); false when it is a sidecar of the app tasks. @default true */
    readonly xrayDaemonService?: boolean;
}

const DESCRIPTIONS: Record<Group, string> = {
    alb: "Application Load Balancer Security Group",
    instances: "ECS container instances (the app)",
    database: "Application Database Security Group",
    xray: "X-Ray daemon tasks",
};
const SUFFIX: Record<Group, string> = { alb: "alb-sg", instances: "instances-sg", database: "db-sg", xray: "xray-sg" };

/** The ALB, instance, database and X-Ray security groups, with the narrowed book rules between them and no other traffic. */
export class SecurityGroups extends pulumi.ComponentResource {
    readonly albSecurityGroupId: pulumi.Output<string>;
    readonly instanceSecurityGroupId: pulumi.Output<string>;
    readonly databaseSecurityGroupId: pulumi.Output<string>;
    /** Absent when the daemon is a sidecar (`xrayDaemonService` false). */
    readonly xraySecurityGroupId: pulumi.Output<string> | undefined;

    constructor(name: string, args: SecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
        validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 200, component: "SecurityGroups" });
        for (const port of args.listenerPorts ?? []) {
            if (port !== 80 && port !== 443) throw new Error(`SecurityGroups: \`listenerPorts\` may hold 80 and 443, got ${port}. Fix: serve HTTP on 80 and HTTPS on 443`);
        }
        super("todobackend:infra:SecurityGroups", name, {}, opts);
        const groups = {} as Record<Group, aws.ec2.SecurityGroup>;
        const xrayService = args.xrayDaemonService ?? true;
        for (const g of (Object.keys(DESCRIPTIONS) as Group[]).filter((g) => xrayService || g !== "xray")) {
            const physical = `${args.namePrefix}-${SUFFIX[g]}`;
            // No inline rules: the provider then manages none and removes AWS's default allow-all egress.
            groups[g] = new aws.ec2.SecurityGroup(`${name}-${g}`, {
                name: physical, description: `${args.namePrefix} ${DESCRIPTIONS[g]}`, vpcId: args.vpcId,
                tags: withNameTag(args.tags, physical),
            }, { parent: this });
        }
        for (const rule of securityRules(args.listenerPorts ?? [80], xrayService)) {
            const common = {
                securityGroupId: groups[rule.group].id, ipProtocol: rule.protocol, fromPort: rule.fromPort, toPort: rule.toPort,
                description: rule.description, tags: withNameTag(args.tags, `${args.namePrefix}-${rule.key}`),
                ...("cidr" in rule.peer ? { cidrIpv4: rule.peer.cidr } : { referencedSecurityGroupId: groups[rule.peer.group].id }),
            };
            if (rule.direction === "ingress") new aws.vpc.SecurityGroupIngressRule(`${name}-${rule.key}`, common, { parent: this });
            else new aws.vpc.SecurityGroupEgressRule(`${name}-${rule.key}`, common, { parent: this });
        }
        this.albSecurityGroupId = groups.alb.id;
        this.instanceSecurityGroupId = groups.instances.id;
        this.databaseSecurityGroupId = groups.database.id;
        this.xraySecurityGroupId = groups.xray?.id;
        this.registerOutputs({
            albSecurityGroupId: this.albSecurityGroupId, instanceSecurityGroupId: this.instanceSecurityGroupId,
            databaseSecurityGroupId: this.databaseSecurityGroupId, xraySecurityGroupId: this.xraySecurityGroupId,
        });
    }
}
