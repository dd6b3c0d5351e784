// Test program: both network modes and the security groups with and without HTTPS, in one evaluation.
import { Network } from "../../../infra/network";
import { SecurityGroups } from "../../../infra/securityGroups";

const tags = { Project: "todobackend", Stack: "dev", Environment: "dev", ManagedBy: "pulumi" };

export function program() {
    const created = new Network("created", { cidrBlock: "10.20.0.0/16", availabilityZones: 3, natGateways: "perAz", tags });
    const existing = new Network("existing", { vpcId: "vpc-0a1b2c3d", publicSubnetIds: ["subnet-0a", "subnet-0b"], privateSubnetIds: ["subnet-1a", "subnet-1b"], tags });
    new SecurityGroups("sg", { vpcId: created.vpcId, namePrefix: "todobackend-dev", tags });
    new SecurityGroups("tls", { vpcId: created.vpcId, namePrefix: "todobackend-prod", listenerPorts: [80, 443], tags });
    return {
        createdVpcId: created.vpcId, createdPrivate: created.privateSubnetIds, createdPublic: created.publicSubnetIds,
        existingVpcId: existing.vpcId, existingPrivate: existing.privateSubnetIds, existingPublic: existing.publicSubnetIds,
    };
}

