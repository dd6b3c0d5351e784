// One test program declaring every foundation component in the variants the tests inspect. It is
// evaluated once per mocha process (evaluations are shared), whichever test file asks first.
import { Cluster } from "../../../infra/cluster";
import { Database } from "../../../infra/database";
import { LoadBalancer } from "../../../infra/loadBalancer";
import { Network } from "../../../infra/network";
import { SecurityGroups } from "../../../infra/securityGroups";

export const TAGS = { Project: "todobackend", Stack: "dev", Environment: "dev", ManagedBy: "pulumi" };
const PUBLIC = ["subnet-public-0", "subnet-public-1"];
const PRIVATE = ["subnet-private-0", "subnet-private-1"];

export const COMPONENTS_PROGRAM = __filename;

export function networks() {
    const created = new Network("created", { cidrBlock: "10.20.0.0/16", availabilityZones: 3, natGateways: "perAz", tags: TAGS });
    const existing = new Network("existing", { vpcId: "vpc-0a1b2c3d", publicSubnetIds: ["subnet-0a", "subnet-0b"], privateSubnetIds: ["subnet-1a", "subnet-1b"], tags: TAGS });
    new SecurityGroups("sg", { vpcId: created.vpcId, namePrefix: "todobackend-dev", tags: TAGS });
    new SecurityGroups("tls", { vpcId: created.vpcId, namePrefix: "todobackend-prod", listenerPorts: [80, 443], tags: TAGS });
    return {
        createdVpcId: created.vpcId, createdPrivate: created.privateSubnetIds, createdPublic: created.publicSubnetIds,
        existingVpcId: existing.vpcId, existingPrivate: existing.privateSubnetIds, existingPublic: existing.publicSubnetIds,
    };
}

export function loadBalancers() {
    const http = new LoadBalancer("plain", { vpcId: "vpc-1", subnetIds: PUBLIC, securityGroupId: "sg-alb", namePrefix: "todobackend-dev", tags: TAGS });
    const tls = new LoadBalancer("tls", { vpcId: "vpc-1", subnetIds: PUBLIC, securityGroupId: "sg-alb", namePrefix: "todobackend-prod", tags: TAGS,
        certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc", deletionProtection: true });
    return { httpUrl: http.publicUrl, tlsUrl: tls.publicUrl, httpListener: http.listener.urn, tlsListener: tls.listener.urn };
}

export function databases() {
    const dev = new Database("dev", { subnetIds: PRIVATE, securityGroupId: "sg-db", namePrefix: "todobackend-dev", tags: TAGS,
        backupRetentionDays: 1 });
    const prod = new Database("prod", { subnetIds: PRIVATE, securityGroupId: "sg-db", namePrefix: "todobackend-prod", tags: TAGS,
        instanceClass: "db.t3.small", engineVersion: "8.4", allocatedStorageGiB: 50, multiAz: true, backupRetentionDays: 7,
        deletionProtection: true, finalSnapshot: true });
    return { devSecret: dev.masterUserSecretArn, devAddress: dev.address, prodEndpoint: prod.endpoint };
}

export function clusters() {
    const ssm = new Cluster("ssm", { subnetIds: PRIVATE, securityGroupId: "sg-instances", namePrefix: "todobackend-dev", tags: TAGS });
    new Cluster("pinned", { subnetIds: PRIVATE, securityGroupId: "sg-instances", namePrefix: "todobackend-prod", tags: TAGS,
        amiId: "ami-0fedcba9876543210", instanceType: "t3.small", minSize: 2, maxSize: 6 });
    return { clusterName: ssm.clusterName, capacityProviderName: ssm.capacityProviderName };
}

export function all() {
    return { ...networks(), ...loadBalancers(), ...databases(), ...clusters() };
}
