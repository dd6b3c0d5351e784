// Every security group rule of an environment, as data. The book's intent (§1.2), narrowed where
// it was broader than the traffic needs (book §10 #7, #22): no SSH, X-Ray reachable from the app
// instances only (not the whole VPC), no plain-HTTP egress, and the ALB may only talk to the
// instances' ephemeral ports. One rule per resource, so groups that reference each other do not
// form a create-time cycle.

/** The four groups of an environment. */
export type Group = "alb" | "instances" | "database" | "xray";

export interface RuleSpec {
    /** Unique within the environment; the suffix of the rule resource's name. */
    key: string;
    group: Group;
    direction: "ingress" | "egress";
    protocol: "tcp" | "udp";
    fromPort: number;
    toPort: number;
    /** The other side: a CIDR or another of the groups. */
    peer: { cidr: string } | { group: Group };
    description: string;
}

/** The Linux ephemeral port range Docker's bridge mode maps `hostPort: 0` into (book §1.2). */
export const EPHEMERAL_PORTS = { from: 32768, to: 60999 } as const;
export const ANYWHERE = "0.0.0.0/0";

/**
 * The rules for an ALB listening on `listenerPorts` (80, plus 443 when HTTPS is on). Without the
 * X-Ray daemon service (`xrayService` false: the daemon is a sidecar in each app task, reached
 * over the task's own bridge network) the X-Ray group and its rules are left out.
 */
export function securityRules(listenerPorts: readonly number[] = [80], xrayService = true): RuleSpec[] {
    return allRules(listenerPorts).filter((r) => xrayService || (r.group !== "xray" && !("group" in r.peer && r.peer.group === "xray")));
}

function allRules(listenerPorts: readonly number[]): RuleSpec[] {
    const tcp = (port: number) => ({ protocol: "tcp" as const, fromPort: port, toPort: port });
    const udp = (port: number) => ({ protocol: "udp" as const, fromPort: port, toPort: port });
    const ephemeral = { protocol: "tcp" as const, fromPort: EPHEMERAL_PORTS.from, toPort: EPHEMERAL_PORTS.to };
    return [
        ...listenerPorts.map((port): RuleSpec => ({ key: `alb-in-${port}`, group: "alb", direction: "ingress", ...tcp(port),
            peer: { cidr: ANYWHERE }, description: `Clients reach the load balancer on ${port}` })),
        { key: "alb-out-instances", group: "alb", direction: "egress", ...ephemeral, peer: { group: "instances" },
            description: "Load balancer forwards to the app's dynamic host ports" },
        { key: "instances-in-alb", group: "instances", direction: "ingress", ...ephemeral, peer: { group: "alb" },
            description: "App containers accept traffic from the load balancer only" },
        { key: "instances-out-https", group: "instances", direction: "egress", ...tcp(443), peer: { cidr: ANYWHERE },
            description: "ECS agent, ECR, CloudWatch Logs, Secrets Manager and SSM over HTTPS" },
        { key: "instances-out-dns", group: "instances", direction: "egress", ...udp(53), peer: { cidr: ANYWHERE },
            description: "DNS" },
        { key: "instances-out-database", group: "instances", direction: "egress", ...tcp(3306), peer: { group: "database" },
            description: "App and migrations reach MySQL" },
        { key: "instances-out-xray", group: "instances", direction: "egress", ...udp(2000), peer: { group: "xray" },
            description: "App sends trace segments to the X-Ray daemon" },
        { key: "instances-out-xray-sampling", group: "instances", direction: "egress", ...tcp(2000), peer: { group: "xray" },
            description: "App asks the X-Ray daemon for sampling rules" },
        { key: "database-in-instances", group: "database", direction: "ingress", ...tcp(3306), peer: { group: "instances" },
            description: "MySQL from the app instances only" },
        { key: "xray-in-instances", group: "xray", direction: "ingress", ...udp(2000), peer: { group: "instances" },
            description: "Trace segments from the app instances only" },
        { key: "xray-in-instances-sampling", group: "xray", direction: "ingress", ...tcp(2000), peer: { group: "instances" },
            description: "Sampling-rule requests from the app instances only" },
        { key: "xray-out-https", group: "xray", direction: "egress", ...tcp(443), peer: { cidr: ANYWHERE },
            description: "X-Ray API, ECR and CloudWatch Logs over HTTPS" },
        { key: "xray-out-dns", group: "xray", direction: "egress", ...udp(53), peer: { cidr: ANYWHERE },
            description: "DNS" },
    ];
}
