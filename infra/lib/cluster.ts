// Decisions of the ECS-on-EC2 cluster as pure functions: the AMI parameter, the container
// instances' user data, their role's trust and policies (book §6.2 and §10 #7, #14, #23).
import { ecsAgentStatements } from "./boundaryIam";
import { ECR_PULL, PolicyDocument } from "./deliveryIam";

/** SSM parameter AWS keeps pointing at the current ECS-optimised Amazon Linux 2023 AMI. */
export const ECS_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";

/** Host directory of the `public` volume that collectstatic fills and uwsgi serves (book §6.2). */
export const PUBLIC_VOLUME_PATH = "/data/public";

/**
 * User data of a container instance: join `clusterName` (what the book's firstrun.sh did) and
 * prepare the `public` volume owned by the app's uid/gid 1000 (the book's cfn-init commands).
 */
export function clusterUserData(clusterName: string): string {
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(clusterName)) {
        throw new Error(`clusterUserData: cluster name "${clusterName}" is not a valid ECS cluster name. Fix: use letters, digits, - and _`);
    }
    return [
        "#!/bin/bash",
        "set -euo pipefail",
        `echo "ECS_CLUSTER=${clusterName}" >> /etc/ecs/ecs.config`,
        `mkdir -p ${PUBLIC_VOLUME_PATH}`,
        `chown -R 1000:1000 ${PUBLIC_VOLUME_PATH}`,
        "",
    ].join("\n");
}

/** Trust policy letting EC2 instances assume the container-instance role. */
export function instanceAssumeRolePolicy(): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
}

/**
 * The AWS-managed policy of the container-instance role: SSM Session Manager's (replaces SSH with
 * key pair `admin`). The ECS agent's rights are the role's own policy (instanceAgentPolicy), not
 * AmazonEC2ContainerServiceforEC2Role, whose `*` lets a host join any cluster of the account.
 */
export function instanceManagedPolicyArns(partition: string): { ssm: string } {
    return { ssm: `arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore` };
}

export interface InstanceAgentPolicyArgs {
    /** The one cluster the instances join. */
    clusterArn: string;
    /** The environment's prefix: its log groups are `/<namePrefix>/*`. */
    namePrefix: string;
}

/**
 * The container instances' own policy: AmazonEC2ContainerServiceforEC2Role's actions (the book's
 * hand-written ECSContainerInstancePermissions missed newer ones), each on the instances' own
 * cluster, plus image pulls and the environment's log groups.
 */
export function instanceAgentPolicy(a: InstanceAgentPolicyArgs): PolicyDocument {
    const [, , , region, account] = a.clusterArn.split(":");
    return { Version: "2012-10-17", Statement: [
        ...ecsAgentStatements({ clusterArn: a.clusterArn }),
        { Sid: "PullImages", Effect: "Allow", Action: ["ecr:GetAuthorizationToken", ...ECR_PULL], Resource: "*" },
        { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `arn:aws:logs:${region}:${account}:log-group:/${a.namePrefix}/*` },
    ] };
}
