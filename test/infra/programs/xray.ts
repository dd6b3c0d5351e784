// One XrayDaemon with fixed ids standing in for the network, the cluster and the daemon's security group.
import { XrayDaemon } from "../../../infra/xray";

export const TAGS = { ManagedBy: "Pulumi", Project: "todobackend", Stack: "dev", Environment: "dev" };

export function xrayDaemon() {
    const xray = new XrayDaemon("xray", {
        namePrefix: "todobackend-dev", vpcId: "vpc-0123", privateSubnetIds: ["subnet-private-0", "subnet-private-1"],
        cluster: { clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/todobackend-dev-cluster" }, securityGroupId: "sg-xray",
        namespaceName: "dev.services.dockerinaws.org", image: "public.ecr.aws/xray/aws-xray-daemon:3.3.14", tags: TAGS,
    });
    return { address: xray.address, serviceName: xray.service.name };
}
