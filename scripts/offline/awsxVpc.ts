// What awsx 3.x's `ec2.Vpc` creates, for the offline tools. awsx components are served by a plugin
// (a remote component) that does not run under Pulumi's runtime mocks, so an offline evaluation
// sees the VPC alone. The offline plan, the offline policy check and the IAM evaluator test list
// its children from here, so all three count and check the same resources.
//
// Source: awsx 3.x `ec2/vpc.ts`: per availability zone a subnet of each spec, each with its own
// route table, association and default route (public → internet gateway, private → NAT), one
// internet gateway, and NAT gateways with their Elastic IPs (one, or one per AZ), all carrying
// the VPC's tags plus a Name.
import type { EvaluatedResource } from "./evaluate";

/** Marks a resource listed from awsx's source rather than evaluated. */
export const SYNTHESIZED = "listed from awsx 3.x, not evaluated";

export interface SynthesizedResource extends EvaluatedResource {
    synthesized: typeof SYNTHESIZED;
}

/** The children awsx creates for one `awsx:ec2:Vpc`, with the ids the mocks give the VPC and its subnets. */
export function awsxVpcChildren(vpc: EvaluatedResource): SynthesizedResource[] {
    const inputs = vpc.inputs as Record<string, any>;
    const tags = (inputs.tags ?? {}) as Record<string, string>;
    const azs = Number(inputs.numberOfAvailabilityZones ?? 2);
    const nats = inputs.natGateways?.strategy === "OnePerAz" ? azs : inputs.natGateways?.strategy === "None" ? 0 : 1;
    const vpcId = `vpc-${vpc.name}`;
    const out: SynthesizedResource[] = [];
    const add = (type: string, name: string, id: string, more: Record<string, unknown> = {}) => out.push({
        type, name: `${vpc.name}-${name}`, urn: `${vpc.urn}$${type}::${vpc.name}-${name}`, parent: vpc.urn, id, custom: true,
        inputs: { ...more, tags: { ...tags, Name: `${vpc.name}-${name}` } }, synthesized: SYNTHESIZED,
    });
    add("aws:ec2/vpc:Vpc", "vpc", vpcId, { cidrBlock: inputs.cidrBlock, enableDnsHostnames: inputs.enableDnsHostnames, enableDnsSupport: inputs.enableDnsSupport });
    add("aws:ec2/internetGateway:InternetGateway", "igw", "igw-1", { vpcId });
    for (let i = 0; i < azs; i++) {
        for (const kind of ["public", "private"]) {
            const subnetId = `subnet-${kind}-${i}`;
            add("aws:ec2/subnet:Subnet", `${kind}-${i + 1}`, subnetId, { vpcId, mapPublicIpOnLaunch: kind === "public" });
            add("aws:ec2/routeTable:RouteTable", `${kind}-${i + 1}`, `rtb-${subnetId}`, { vpcId });
            add("aws:ec2/routeTableAssociation:RouteTableAssociation", `${kind}-${i + 1}`, `rtbassoc-${subnetId}`, { routeTableId: `rtb-${subnetId}`, subnetId });
            add("aws:ec2/route:Route", `${kind}-${i + 1}`, `r-${subnetId}`, { routeTableId: `rtb-${subnetId}`, destinationCidrBlock: "0.0.0.0/0",
                ...(kind === "public" ? { gatewayId: "igw-1" } : { natGatewayId: `nat-${nats === azs ? i : 0}` }) });
        }
    }
    for (let i = 0; i < nats; i++) {
        add("aws:ec2/eip:Eip", `${i + 1}`, `eipalloc-${i}`, { domain: "vpc" });
        add("aws:ec2/natGateway:NatGateway", `${i + 1}`, `nat-${i}`, { subnetId: `subnet-public-${i}`, allocationId: `eipalloc-${i}` });
    }
    return out;
}

/** The resources with every awsx VPC's children inserted after it. */
export function withAwsxChildren<T extends EvaluatedResource>(resources: T[]): Array<T | SynthesizedResource> {
    return resources.flatMap((r) => (r.type === "awsx:ec2:Vpc" ? [r, ...awsxVpcChildren(r)] : [r]));
}
