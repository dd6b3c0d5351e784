// Decisions of the ECS-on-EC2 cluster as pure functions: the AMI parameter, the container
// instances' user data, their role's trust and managed policies (book §6.2 and §10 #7, #14, #23).

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
 * AWS-managed policies of the container-instance role: the ECS agent's (replaces the book's
 * hand-written ECSContainerInstancePermissions, which missed newer agent actions) and SSM
 * Session Manager's (replaces SSH with key pair `admin`).
 */
export function instanceManagedPolicyArns(partition: string): { ecs: string; ssm: string } {
    return {
        ecs: `arn:${partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role`,
        ssm: `arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
    };
}
