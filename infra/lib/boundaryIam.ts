// The permissions boundary of every role the environment stacks create. The deploy role may
// create and edit roles only with this boundary attached, so a deploy (or a pull request that
// reaches one) cannot mint a role more powerful than the workloads need: the boundary caps
// whatever inline or managed policy the role is later given.
import { ECR_PULL, PolicyDocument } from "./deliveryIam";
import { XRAY_WRITE_ACTIONS } from "./xrayIam";

/**
 * What the ECS agent and the SSM agent on the container instances call: the action lists of the
 * managed policies the instance role carries (AmazonEC2ContainerServiceforEC2Role,
 * AmazonSSMManagedInstanceCore), widened to the agents' own services, since AWS adds actions
 * to those policies as the agents grow.
 */
export const INSTANCE_AGENT_ACTIONS = ["ecs:*", "ec2:DescribeTags", "ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance",
    "ssm:GetDocument", "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters", "ssm:ListAssociations",
    "ssm:ListInstanceAssociations", "ssm:PutInventory", "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult",
    "ssm:UpdateAssociationStatus", "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation",
    "ssmmessages:*", "ec2messages:*"];

export interface EnvironmentBoundaryArgs {
    account: string;
    /** IAM path of the environment's roles (`/todobackend-dev/`): the only roles they may pass. */
    rolePath: string;
}

/**
 * The most any environment role may do: run and watch ECS tasks, pull images, write logs and
 * traces, read secrets, be managed by SSM, and pass the environment's own roles (its IAM path) to ECS tasks.
 * Each role's own policy narrows this further to its resources; no IAM write, no S3, no STS.
 */
export function environmentBoundaryPolicy(a: EnvironmentBoundaryArgs): PolicyDocument {
    return { Version: "2012-10-17", Statement: [
        { Sid: "Agents", Effect: "Allow", Action: INSTANCE_AGENT_ACTIONS, Resource: "*" },
        { Sid: "PullImages", Effect: "Allow", Action: ["ecr:GetAuthorizationToken", ...ECR_PULL], Resource: "*" },
        { Sid: "WriteLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: "*" },
        { Sid: "WriteTraces", Effect: "Allow", Action: XRAY_WRITE_ACTIONS, Resource: "*" },
        { Sid: "ReadSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: "*" },
        { Sid: "PassEnvironmentRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: `arn:aws:iam::${a.account}:role${a.rolePath}*`,
            Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } },
    ] };
}
