// The permissions boundary of every role the environment stacks create. The deploy role may
// create and edit roles only with this boundary attached, so a deploy (or a pull request that
// reaches one) cannot mint a role more powerful than the workloads need: the boundary caps
// whatever inline or managed policy the role is later given.
//
// It is also what keeps one environment's roles out of the other's: the dev deploy role may create
// a role under /todobackend-dev/ with any inline policy, pass it to Lambda and invoke the function.
// So every grant here names the environment's own cluster, tasks, secrets and log groups, never `*`
// where AWS takes a resource (test/infra/iam/runtimeRoles.test.ts: the dev boundary under an
// allow-all policy reaches nothing of prod's).
import { ECR_PULL, PolicyDocument, Statement } from "./deliveryIam";
import { XRAY_WRITE_ACTIONS } from "./xrayIam";

/** What the SSM agent on the container instances calls (AmazonSSMManagedInstanceCore's actions). */
export const SSM_AGENT_ACTIONS = ["ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance",
    "ssm:GetDocument", "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters", "ssm:ListAssociations",
    "ssm:ListInstanceAssociations", "ssm:PutInventory", "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult",
    "ssm:UpdateAssociationStatus", "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation",
    "ssmmessages:*", "ec2messages:*"];

/** ECS agent calls authorised on the cluster the instance joins. */
export const ECS_AGENT_CLUSTER_ACTIONS = ["ecs:RegisterContainerInstance", "ecs:DeregisterContainerInstance", "ecs:SubmitContainerStateChange",
    "ecs:SubmitTaskStateChange", "ecs:SubmitAttachmentStateChanges", "ecs:PutSystemLogEvents"];
/** ECS agent calls authorised on the container instance, with its cluster as `ecs:cluster`. */
export const ECS_AGENT_INSTANCE_ACTIONS = ["ecs:Poll", "ecs:StartTelemetrySession", "ecs:UpdateContainerInstancesState", "ecs:PutSystemLogEvents"];

export interface EcsAgentArgs {
    /** The cluster the instances join (`arn:aws:ecs:<region>:<account>:cluster/todobackend-dev-cluster`). */
    clusterArn: string;
}

/**
 * What the ECS agent needs, in one cluster only: AmazonEC2ContainerServiceforEC2Role's actions,
 * whose `*` would let a host of one environment register into (and take tasks of) another's
 * cluster. `DiscoverPollEndpoint` and `ec2:DescribeTags` take no resource.
 */
export function ecsAgentStatements(a: EcsAgentArgs): Statement[] {
    if (!/^arn:aws[\w-]*:ecs:[\w-]+:\d+:cluster\/[\w-]+$/.test(a.clusterArn)) {
        throw new Error(`ecsAgentStatements: \`clusterArn\` "${a.clusterArn}" is not an ECS cluster ARN. Fix: pass the Cluster's clusterArn`);
    }
    const cluster = a.clusterArn;
    const instances = `${cluster.replace(":cluster/", ":container-instance/")}/*`;
    return [
        { Sid: "EcsAgentInOwnCluster", Effect: "Allow", Action: ECS_AGENT_CLUSTER_ACTIONS, Resource: cluster },
        { Sid: "EcsAgentOnOwnInstances", Effect: "Allow", Action: ECS_AGENT_INSTANCE_ACTIONS, Resource: instances,
            Condition: { ArnEquals: { "ecs:cluster": cluster } } },
        // Tags the agent sets on its own registration (ECS_CONTAINER_INSTANCE_TAGS), as the managed policy allows.
        { Sid: "EcsAgentTagsOnRegister", Effect: "Allow", Action: ["ecs:TagResource"], Resource: instances,
            Condition: { StringEquals: { "ecs:CreateAction": "RegisterContainerInstance" } } },
        { Sid: "EcsAgentDiscovery", Effect: "Allow", Action: ["ecs:DiscoverPollEndpoint", "ec2:DescribeTags"], Resource: "*" },
    ];
}

export interface EnvironmentBoundaryArgs {
    region: string;
    account: string;
    /** The environment's name prefix (`todobackend-dev`): its cluster, task families, secrets and log groups. */
    envName: string;
    /** IAM path of the environment's roles (`/todobackend-dev/`): the only roles they may pass. */
    rolePath: string;
}

/**
 * The most any environment role may do, all of it inside the environment: run and watch its
 * tasks in its cluster, be its cluster's ECS agent, pull images, write its log groups and traces,
 * read its secrets (`secret:<envName>/*` and the RDS master secret of its own database), be managed
 * by SSM, and pass the environment's own roles (its IAM path) to ECS tasks. Each role's own
 * policy narrows this further; no IAM write, no S3, no STS, no KMS.
 */
export function environmentBoundaryPolicy(a: EnvironmentBoundaryArgs): PolicyDocument {
    const arn = (service: string, part: string) => `arn:aws:${service}:${a.region}:${a.account}:${part}`;
    const clusterName = `${a.envName}-cluster`;
    const inCluster = { ArnEquals: { "ecs:cluster": arn("ecs", `cluster/${clusterName}`) } };
    return { Version: "2012-10-17", Statement: [
        ...ecsAgentStatements({ clusterArn: arn("ecs", `cluster/${clusterName}`) }),
        { Sid: "RunOwnTasks", Effect: "Allow", Action: ["ecs:RunTask", "ecs:StartTask"], Resource: arn("ecs", `task-definition/${a.envName}*`), Condition: inCluster },
        { Sid: "WatchOwnTasks", Effect: "Allow", Action: ["ecs:DescribeTasks", "ecs:StopTask"], Resource: arn("ecs", `task/${clusterName}/*`), Condition: inCluster },
        { Sid: "SsmAgent", Effect: "Allow", Action: SSM_AGENT_ACTIONS, Resource: "*" },
        { Sid: "PullImages", Effect: "Allow", Action: ["ecr:GetAuthorizationToken", ...ECR_PULL], Resource: "*" },
        { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: [arn("logs", `log-group:/${a.envName}/*`), arn("logs", `log-group:/aws/lambda/${a.envName}-*`)] },
        { Sid: "WriteTraces", Effect: "Allow", Action: XRAY_WRITE_ACTIONS, Resource: "*" },
        { Sid: "ReadOwnSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: arn("secretsmanager", `secret:${a.envName}/*`) },
        // RDS names its master secret rds!db-<random>; the tag RDS puts on it names the instance, whose name is the environment's.
        { Sid: "ReadOwnDatabaseMasterSecret", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: arn("secretsmanager", "secret:rds!db-*"),
            Condition: { StringLike: { "aws:ResourceTag/aws:rds:primaryDBInstanceArn": arn("rds", `db:${a.envName}-*`) } } },
        { Sid: "PassEnvironmentRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: `arn:aws:iam::${a.account}:role${a.rolePath}*`,
            Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } },
    ] };
}
