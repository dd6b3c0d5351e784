// The environment's network: a VPC with public subnets (the ALB) and private subnets behind NAT
// (instances, RDS, X-Ray tasks) over ≥ 2 AZs, or an existing VPC and subnets from config, the
// book's default-VPC mode. Consumers only see ids, so both modes look alike to them.
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import type { NatGateways } from "./config/environment";
import { ComponentArgs } from "./lib/componentArgs";

export interface NetworkArgs extends ComponentArgs {
    /** CIDR of the created VPC. @default "10.0.0.0/16" */
    readonly cidrBlock?: string;
    /** Availability zones of the created VPC (at least 2: the ALB and the RDS subnet group need them). @default 2 */
    readonly availabilityZones?: number;
    /** "single" NAT gateway (cheap, dev) or one "perAz" (an AZ outage keeps the others online, prod). @default "single" */
    readonly natGateways?: NatGateways;
    /** Use this existing VPC instead of creating one; then publicSubnetIds and privateSubnetIds are required. */
    readonly vpcId?: pulumi.Input<string>;
    /** Existing public subnets, used only with vpcId. */
    readonly publicSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
    /** Existing private subnets, used only with vpcId. */
    readonly privateSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
}

/** The awsx NAT strategy for our two settings. */
export function natStrategy(natGateways: NatGateways): awsx.types.enums.ec2.NatGatewayStrategy {
    return natGateways === "perAz" ? awsx.ec2.NatGatewayStrategy.OnePerAz : awsx.ec2.NatGatewayStrategy.Single;
}

/** Refuses half an existing network and fewer than two AZs, before anything is registered. */
export function validateNetworkArgs(args: NetworkArgs): void {
    const existing = [args.vpcId, args.publicSubnetIds, args.privateSubnetIds];
    if (existing.some((v) => v !== undefined) && existing.some((v) => v === undefined)) {
        throw new Error("Network: `vpcId`, `publicSubnetIds` and `privateSubnetIds` go together. Fix: give all three, or none to create a VPC");
    }
    const azs = args.availabilityZones ?? 2;
    if (!Number.isInteger(azs) || azs < 2) {
        throw new Error(`Network: \`availabilityZones\` must be an integer ≥ 2, got ${azs}. Fix: pass 2 or 3`);
    }
}

/** The environment's VPC (an awsx VPC with public and private subnets and NAT), or an existing VPC's subnets as given. */
export class Network extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly publicSubnetIds: pulumi.Output<string[]>;
    readonly privateSubnetIds: pulumi.Output<string[]>;
    /** The created VPC; undefined in existing-VPC mode. */
    readonly vpc?: awsx.ec2.Vpc;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        validateNetworkArgs(args);
        super("todobackend:infra:Network", name, {}, opts);
        const azs = args.availabilityZones ?? 2;

        if (args.vpcId !== undefined) {
            this.vpcId = pulumi.output(args.vpcId);
            this.publicSubnetIds = pulumi.output(args.publicSubnetIds!) as pulumi.Output<string[]>;
            this.privateSubnetIds = pulumi.output(args.privateSubnetIds!) as pulumi.Output<string[]>;
        } else {
            this.vpc = new awsx.ec2.Vpc(`${name}-vpc`, {
                cidrBlock: args.cidrBlock ?? "10.0.0.0/16",
                numberOfAvailabilityZones: azs,
                subnetStrategy: awsx.ec2.SubnetAllocationStrategy.Auto,
                subnetSpecs: [
                    { type: awsx.ec2.SubnetType.Public, name: "public" },
                    { type: awsx.ec2.SubnetType.Private, name: "private" },
                ],
                natGateways: { strategy: natStrategy(args.natGateways ?? "single") },
                // Cloud Map's private DNS namespace answers only in VPCs with DNS support and hostnames.
                enableDnsHostnames: true,
                enableDnsSupport: true,
                tags: args.tags,
            }, { parent: this });
            this.vpcId = this.vpc.vpcId;
            this.publicSubnetIds = this.vpc.publicSubnetIds;
            this.privateSubnetIds = this.vpc.privateSubnetIds;
        }
        this.registerOutputs({ vpc: this.vpc, vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
    }
}
