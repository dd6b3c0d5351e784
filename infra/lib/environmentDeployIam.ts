// The roles that run Pulumi for one environment (one per pipeline stage), as pure functions.
//
// Why one role per environment, each fenced to its own resources: the Dev stage deploys code
// nobody has reviewed yet. With one role for every stage, that code could change prod, and the
// manual approval would protect nothing. Each statement below is fenced three ways:
//   - by tag: the environment's resources carry `Environment=<env>` (the base tags), so
//     creating needs that tag in the request (`aws:RequestTag`) and changing needs it on the
//     resource (`aws:ResourceTag`);
//   - by IAM path: the environment's roles and instance profiles live under `/<envName>/`,
//     the delivery stack's roles outside it;
//   - by state object: each role reads and writes only its own stack's Pulumi state.
// The evaluator test (test/infra/iam/) checks these documents with a real IAM policy evaluator
// against every action the provider calls for every resource the environment stacks declare.
import { ArtifactAccess, artifactStatements, ECR_PULL, PolicyDocument, Statement } from "./deliveryIam";
import { environmentRolePath } from "./naming";

/** The tag that says which environment a resource belongs to (one of the base tags). */
export const ENVIRONMENT_TAG = "Environment";

/**
 * What each create action makes, as the ARN pattern of the new resource. A create statement is
 * scoped to exactly these patterns: the request's tags describe the new resource, not the VPC or
 * cluster it lands in (those are checked by their own tags). Source: AWS Service Authorization
 * Reference, "Resource types" column of each action.
 */
export const CREATES: Record<string, { service: string; pattern: string; actions: string[] }> = {
    vpc: { service: "ec2", pattern: "vpc/*", actions: ["ec2:CreateVpc"] },
    subnet: { service: "ec2", pattern: "subnet/*", actions: ["ec2:CreateSubnet"] },
    routeTable: { service: "ec2", pattern: "route-table/*", actions: ["ec2:CreateRouteTable"] },
    internetGateway: { service: "ec2", pattern: "internet-gateway/*", actions: ["ec2:CreateInternetGateway"] },
    natGateway: { service: "ec2", pattern: "natgateway/*", actions: ["ec2:CreateNatGateway"] },
    elasticIp: { service: "ec2", pattern: "elastic-ip/*", actions: ["ec2:AllocateAddress"] },
    securityGroup: { service: "ec2", pattern: "security-group/*", actions: ["ec2:CreateSecurityGroup"] },
    securityGroupRule: { service: "ec2", pattern: "security-group-rule/*", actions: ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress"] },
    launchTemplate: { service: "ec2", pattern: "launch-template/*", actions: ["ec2:CreateLaunchTemplate"] },
    instance: { service: "ec2", pattern: "instance/*", actions: ["ec2:RunInstances"] },
    // Every launch makes a network interface: Auto Scaling checks RunInstances on it when the group is created.
    networkInterface: { service: "ec2", pattern: "network-interface/*", actions: ["ec2:RunInstances"] },
    volume: { service: "ec2", pattern: "volume/*", actions: ["ec2:RunInstances"] },
    cluster: { service: "ecs", pattern: "cluster/*", actions: ["ecs:CreateCluster"] },
    capacityProvider: { service: "ecs", pattern: "capacity-provider/*", actions: ["ecs:CreateCapacityProvider"] },
    taskDefinition: { service: "ecs", pattern: "task-definition/*", actions: ["ecs:RegisterTaskDefinition"] },
    service: { service: "ecs", pattern: "service/*", actions: ["ecs:CreateService"] },
    loadBalancer: { service: "elasticloadbalancing", pattern: "loadbalancer/*", actions: ["elasticloadbalancing:CreateLoadBalancer"] },
    targetGroup: { service: "elasticloadbalancing", pattern: "targetgroup/*", actions: ["elasticloadbalancing:CreateTargetGroup"] },
    listener: { service: "elasticloadbalancing", pattern: "listener/*", actions: ["elasticloadbalancing:CreateListener"] },
    db: { service: "rds", pattern: "db:*", actions: ["rds:CreateDBInstance"] },
    subnetGroup: { service: "rds", pattern: "subgrp:*", actions: ["rds:CreateDBSubnetGroup"] },
    logGroup: { service: "logs", pattern: "log-group:*", actions: ["logs:CreateLogGroup"] },
    function: { service: "lambda", pattern: "function:*", actions: ["lambda:CreateFunction"] },
    secret: { service: "secretsmanager", pattern: "secret:*", actions: ["secretsmanager:CreateSecret"] },
    namespace: { service: "servicediscovery", pattern: "*", actions: ["servicediscovery:CreatePrivateDnsNamespace"] },
    discoveryService: { service: "servicediscovery", pattern: "service/*", actions: ["servicediscovery:CreateService"] },
    autoScalingGroup: { service: "autoscaling", pattern: "autoScalingGroup:*", actions: ["autoscaling:CreateAutoScalingGroup"] },
    scalableTarget: { service: "application-autoscaling", pattern: "scalable-target/*", actions: ["application-autoscaling:RegisterScalableTarget"] },
    eventRule: { service: "events", pattern: "rule/*", actions: ["events:PutRule"] },
};

/**
 * Actions that add tags to a resource as it is created (tag-on-create). EC2 checks
 * `ec2:CreateTags` separately, conditioned here on the create action that carries the tags.
 */
export const EC2_TAG_ON_CREATE = ["CreateVpc", "CreateSubnet", "CreateRouteTable", "CreateInternetGateway", "CreateNatGateway",
    "AllocateAddress", "CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "CreateLaunchTemplate", "RunInstances"];

/**
 * The tag actions each service checks when a resource is created with tags (tag-on-create).
 * Allowed only with the environment's tag in the request and on a resource that has no
 * environment tag yet, so they can never re-tag another environment's resource into this one.
 */
export const TAG_ON_CREATE = ["ecs:TagResource", "logs:TagResource", "logs:TagLogGroup", "secretsmanager:TagResource",
    "servicediscovery:TagResource", "rds:AddTagsToResource", "elasticloadbalancing:AddTags", "autoscaling:CreateOrUpdateTags",
    "lambda:TagResource", "application-autoscaling:TagResource", "events:TagResource"];

/**
 * Tag-on-create of resources known only by generated ids (Cloud Map, Application Auto Scaling):
 * not fenceable by name, so these may tag any untagged resource of theirs (docs/delivery.md).
 */
export const TAG_ON_CREATE_BY_ID = ["servicediscovery:TagResource", "application-autoscaling:TagResource"];

/**
 * Changes AWS offers no way to fence to one environment (no resource-level permission, no tag
 * condition): allowed region-wide, and named in docs/delivery.md.
 */
export const UNFENCED = ["ecs:DeregisterTaskDefinition"];

/** Reads that do not name one resource (Describe*, List*) or whose resource has no tag to check: region-wide, read-only. */
export const READS = ["ec2:Describe*", "ecs:Describe*", "ecs:List*", "elasticloadbalancing:Describe*", "rds:Describe*", "rds:ListTagsForResource",
    "logs:Describe*", "logs:ListTagsForResource", "logs:ListTagsLogGroup", "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionConfiguration", "lambda:GetPolicy", "lambda:ListVersionsByFunction", "lambda:ListTags",
    "servicediscovery:Get*", "servicediscovery:List*", "autoscaling:Describe*", "application-autoscaling:Describe*",
    "application-autoscaling:ListTagsForResource", "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
    "secretsmanager:ListSecrets", "events:Describe*", "events:List*"];

/**
 * Everything that changes an existing resource, allowed only on resources tagged with the
 * environment. Services whose actions take `aws:ResourceTag` on their resources (checked by the
 * evaluator test, which fails when a listed action has no tag to check).
 */
export const CHANGES = [
    // EC2 (VPC, subnets, routing, NAT, security groups, launch templates).
    "ec2:ModifyVpcAttribute", "ec2:DeleteVpc", "ec2:CreateSubnet", "ec2:ModifySubnetAttribute", "ec2:DeleteSubnet",
    "ec2:CreateRouteTable", "ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute", "ec2:AssociateRouteTable", "ec2:DisassociateRouteTable",
    "ec2:DeleteRouteTable", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway", "ec2:DeleteInternetGateway",
    "ec2:CreateNatGateway", "ec2:DeleteNatGateway", "ec2:DisassociateAddress", "ec2:ReleaseAddress",
    "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate", "ec2:DeleteLaunchTemplate", "ec2:DeleteLaunchTemplateVersions",
    "ec2:RunInstances", "ec2:CreateTags", "ec2:DeleteTags",
    // ECS.
    "ecs:UpdateCluster", "ecs:UpdateClusterSettings", "ecs:PutClusterCapacityProviders", "ecs:DeleteCluster", "ecs:UpdateCapacityProvider",
    "ecs:DeleteCapacityProvider", "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DeleteTaskDefinitions",
    "ecs:TagResource", "ecs:UntagResource",
    // Load balancing.
    "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:CreateListener", "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:DeleteListener", "elasticloadbalancing:AddTags",
    "elasticloadbalancing:RemoveTags",
    // RDS.
    "rds:CreateDBInstance", "rds:ModifyDBInstance", "rds:RebootDBInstance", "rds:DeleteDBInstance", "rds:ModifyDBSubnetGroup",
    "rds:DeleteDBSubnetGroup", "rds:AddTagsToResource", "rds:RemoveTagsFromResource",
    // Logs, Lambda, Secrets Manager, Cloud Map, Auto Scaling, EventBridge.
    "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:DeleteLogGroup", "logs:TagResource", "logs:UntagResource",
    "logs:TagLogGroup", "logs:UntagLogGroup",
    "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:DeleteFunction", "lambda:InvokeFunction",
    "lambda:AddPermission", "lambda:RemovePermission", "lambda:TagResource", "lambda:UntagResource",
    "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret",
    "secretsmanager:TagResource", "secretsmanager:UntagResource",
    "servicediscovery:CreateService", "servicediscovery:UpdateService", "servicediscovery:DeleteService", "servicediscovery:DeleteNamespace",
    "servicediscovery:TagResource", "servicediscovery:UntagResource",
    "autoscaling:UpdateAutoScalingGroup", "autoscaling:DeleteAutoScalingGroup", "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags",
    "autoscaling:SetInstanceProtection", "autoscaling:StartInstanceRefresh", "autoscaling:CancelInstanceRefresh",
    "autoscaling:RollbackInstanceRefresh", "autoscaling:PutLifecycleHook", "autoscaling:DeleteLifecycleHook",
    "application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy",
    "application-autoscaling:TagResource", "application-autoscaling:UntagResource",
    "events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule", "events:TagResource", "events:UntagResource",
];

/**
 * The environment's alarm topic and CloudWatch alarms, fenced by name (`<envName>-*`), as roles
 * are by path: a name is part of both ARNs, and it holds for SNS and CloudWatch alike.
 */
export const MONITORING_WRITES = ["sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:TagResource", "sns:UntagResource",
    "sns:Subscribe", "sns:Unsubscribe", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"];
export const MONITORING_READS = ["sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:GetSubscriptionAttributes", "sns:ListSubscriptionsByTopic",
    "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"];

/** The ARNs of the environment's topics (and their subscriptions) and alarms. */
function monitoringResources(a: Pick<EnvironmentRoleArgs, "region" | "account" | "envName">): string[] {
    return [`arn:aws:sns:${a.region}:${a.account}:${a.envName}-*`, `arn:aws:cloudwatch:${a.region}:${a.account}:alarm:${a.envName}-*`];
}

/** IAM actions on the environment's own roles and instance profiles (its path), besides the bounded writes. */
export const ROLE_ACTIONS_IN_PATH = ["iam:DeleteRole", "iam:GetRole", "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags",
    "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
    "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile", "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile", "iam:UntagInstanceProfile", "iam:ListInstanceProfileTags"];

/** Role writes that could raise a role's rights; each needs the environment's boundary on the role (`iam:PermissionsBoundary`). */
export const BOUNDED_ROLE_WRITES = ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
    "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy"];

/** Where the environment's roles are passed: ECS tasks, the container instances, the migrations function. */
export const PASSED_TO = ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com", "lambda.amazonaws.com"];

/** Service-linked roles the environment's services create on first use. */
export const SERVICE_LINKED = ["ecs.amazonaws.com", "autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com", "rds.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com"];

/** What `servicediscovery:CreatePrivateDnsNamespace` and its services need from Route 53. */
export const ROUTE53_FOR_CLOUD_MAP = ["route53:CreateHostedZone", "route53:DeleteHostedZone", "route53:GetHostedZone",
    "route53:ListHostedZonesByName", "route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:GetChange",
    "route53:CreateHealthCheck", "route53:DeleteHealthCheck", "route53:GetHealthCheck", "route53:UpdateHealthCheck",
    "route53:ChangeTagsForResource", "route53:ListTagsForResource"];

export interface EnvironmentRoleArgs extends ArtifactAccess {
    region: string;
    account: string;
    /** The environment as tagged (`dev`): the stack name. */
    environment: string;
    /** Its name prefix (`todobackend-dev`): role path, resource names. */
    envName: string;
    /** The Pulumi project name (state object paths `.pulumi/stacks/<project>/<stack>.json`). */
    project: string;
    /** Names of the CodeBuild projects that run as this role (their log groups). */
    buildProjects: string[];
    stateBucketArn: string;
    /**
     * The state bucket's key, also the delivery stack's secrets provider: S3 uses it for the state
     * objects, and the StackReference to the delivery stack decrypts that stack's data key with it.
     */
    kmsKeyArn: string;
    /** The environment's own secrets provider (its data key in Pulumi.<stack>.yaml): no other environment's role may use it. */
    secretsKeyArn: string;
    /** The deploy image's repository, pulled with the role's own credentials. */
    deployImageRepositoryArn: string;
    /** The environment's permissions boundary: roles are created and edited only with it attached. */
    boundaryArn: string;
}

function buildBasics(a: EnvironmentRoleArgs): Statement[] {
    return [
        { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: a.buildProjects.flatMap((p) => [`arn:aws:logs:${a.region}:${a.account}:log-group:/aws/codebuild/${p}`,
                `arn:aws:logs:${a.region}:${a.account}:log-group:/aws/codebuild/${p}:*`]) },
        ...artifactStatements(a),
        { Sid: "PullDeployImage", Effect: "Allow", Action: ECR_PULL, Resource: a.deployImageRepositoryArn },
        { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
    ];
}

/**
 * The environment's own Pulumi state objects in the diy backend's layout, and the delivery
 * stack's (read for the StackReference). Another environment's state is neither read nor written.
 */
export function stateObjects(a: Pick<EnvironmentRoleArgs, "stateBucketArn" | "project" | "environment">): { own: string[]; read: string[] } {
    const b = a.stateBucketArn;
    const own = [`${b}/.pulumi/stacks/${a.project}/${a.environment}.json*`, `${b}/.pulumi/history/${a.project}/${a.environment}/*`,
        `${b}/.pulumi/backups/${a.project}/${a.environment}/*`, `${b}/.pulumi/locks/*/${a.project}/${a.environment}/*`];
    return { own, read: [`${b}/.pulumi/meta.yaml`, `${b}/.pulumi/stacks/${a.project}/delivery.json`] };
}

function stateStatements(a: EnvironmentRoleArgs, writes: boolean): Statement[] {
    const objects = stateObjects(a);
    const s: Statement[] = [
        { Sid: "StateList", Effect: "Allow", Action: ["s3:ListBucket"], Resource: a.stateBucketArn },
        { Sid: "StateRead", Effect: "Allow", Action: ["s3:GetObject"], Resource: [...objects.read, ...objects.own] },
        // Even a preview takes the backend's lock on its stack.
        { Sid: "StateWrite", Effect: "Allow", Action: ["s3:PutObject", "s3:DeleteObject"],
            Resource: writes ? objects.own : objects.own.filter((o) => o.includes("/.pulumi/locks/")) },
    ];
    // The environment's own secrets provider (awskms://alias/<envName>-pulumi): its data key in
    // Pulumi.<stack>.yaml is decrypted at every run. One key per environment, so no role can open
    // another environment's data key, and with it the secrets of its state and saved plans.
    s.push({ Sid: "SecretsKey", Effect: "Allow", Action: writes ? ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"] : ["kms:Decrypt", "kms:DescribeKey"],
        Resource: a.secretsKeyArn });
    // The StackReference to the delivery stack: the CLI opens that stack's secrets provider (its
    // data key, under the state key) before it reads any output.
    s.push({ Sid: "DeliveryStackKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: a.kmsKeyArn });
    // The state bucket is SSE-KMS with this key: S3 asks KMS with the caller's rights on every
    // write (GenerateDataKey, the lock included) and read (Decrypt), only for S3.
    s.push({ Sid: "StateObjectsKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: a.kmsKeyArn,
        Condition: { StringEquals: { "kms:ViaService": `s3.${a.region}.amazonaws.com` } } });
    return s;
}

function inRegion(region: string) {
    return { "aws:RequestedRegion": region };
}

/**
 * The ARN patterns of the environment's named resources (every name starts with `envName`),
 * where tag-on-create is allowed.
 */
export function ownNames(a: Pick<EnvironmentRoleArgs, "envName">): Array<{ service: string; pattern: string }> {
    const n = a.envName;
    return [
        { service: "ecs", pattern: `cluster/${n}-*` }, { service: "ecs", pattern: `service/${n}-*` }, { service: "ecs", pattern: `task-definition/${n}*` },
        { service: "ecs", pattern: `capacity-provider/${n}-*` },
        { service: "logs", pattern: `log-group:/${n}/*` }, { service: "logs", pattern: `log-group:/aws/lambda/${n}-*` },
        { service: "secretsmanager", pattern: `secret:${n}/*` },
        { service: "rds", pattern: `db:${n}-*` }, { service: "rds", pattern: `subgrp:${n}-*` },
        { service: "elasticloadbalancing", pattern: `loadbalancer/app/${n}-*` }, { service: "elasticloadbalancing", pattern: `targetgroup/${n}-*` },
        { service: "elasticloadbalancing", pattern: `listener/app/${n}-*` },
        { service: "autoscaling", pattern: `autoScalingGroup:*:autoScalingGroupName/${n}-*` },
        { service: "lambda", pattern: `function:${n}-*` },
        { service: "events", pattern: `rule/${n}-*` },
    ];
}

/**
 * The role of the stage that deploys `environment` (Dev/Deploy for dev, Production/ExecuteChangeSet
 * for prod, after the approval). It creates only resources tagged with its environment, changes
 * only resources that carry that tag, and manages only the roles under its IAM path.
 */
export function environmentDeployPolicy(a: EnvironmentRoleArgs): PolicyDocument {
    const tag = `aws:RequestTag/${ENVIRONMENT_TAG}`;
    const onResource = `aws:ResourceTag/${ENVIRONMENT_TAG}`;
    const path = environmentRolePath(a.envName);
    const arn = (service: string, pattern: string) => `arn:aws:${service}:${a.region}:${a.account}:${pattern}`;
    const creates = Object.values(CREATES);
    return { Version: "2012-10-17", Statement: [
        ...buildBasics(a),
        { Sid: "Read", Effect: "Allow", Action: READS, Resource: "*", Condition: { StringEquals: inRegion(a.region) } },
        // One statement: each action is allowed only on the ARN pattern of the resource it makes,
        // so the new resource's tags never stand in for those of the VPC or cluster it joins.
        ...[...new Set(creates.map((c) => c.service))].map((service): Statement => ({
            Sid: `Create${service.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`, Effect: "Allow",
            Action: [...new Set(creates.filter((c) => c.service === service).flatMap((c) => c.actions))],
            Resource: creates.filter((c) => c.service === service).map((c) => (c.pattern === "*" ? "*" : arn(service, c.pattern))),
            Condition: { StringEquals: { ...inRegion(a.region), [tag]: a.environment } } })),
        { Sid: "Ec2TagOnCreate", Effect: "Allow", Action: ["ec2:CreateTags"], Resource: "*",
            Condition: { StringEquals: { ...inRegion(a.region), "ec2:CreateAction": EC2_TAG_ON_CREATE, [tag]: a.environment } } },
        // Only under the environment's own names: an untagged resource of someone else's would
        // otherwise be tagged into this environment and then be this role's to change or delete.
        { Sid: "TagOnCreate", Effect: "Allow", Action: TAG_ON_CREATE.filter((t) => !TAG_ON_CREATE_BY_ID.includes(t)),
            Resource: ownNames(a).map((n) => arn(n.service, n.pattern)),
            Condition: { StringEquals: { ...inRegion(a.region), [tag]: a.environment }, Null: { [onResource]: "true" } } },
        { Sid: "TagOnCreateById", Effect: "Allow", Action: TAG_ON_CREATE_BY_ID, Resource: "*",
            Condition: { StringEquals: { ...inRegion(a.region), [tag]: a.environment }, Null: { [onResource]: "true" } } },
        // Deregistering a task definition revision stops nothing that runs; AWS takes no resource for it.
        { Sid: "Unfenced", Effect: "Allow", Action: UNFENCED, Resource: "*", Condition: { StringEquals: inRegion(a.region) } },
        // A resource of this environment may be changed, never re-tagged into another.
        { Sid: "ChangeOwnResources", Effect: "Allow", Action: CHANGES, Resource: "*",
            Condition: { StringEquals: { ...inRegion(a.region), [onResource]: a.environment }, StringEqualsIfExists: { [tag]: a.environment } } },
        // The launch template names an Amazon-owned AMI, which carries no tags of ours.
        { Sid: "LaunchFromPublicImages", Effect: "Allow", Action: ["ec2:RunInstances"], Resource: `arn:aws:ec2:${a.region}::image/*` },
        // RDS creates the managed master secret (`rds!db-<id>`) with the caller's rights. AWS documents
        // no tag RDS sends with that request, so creating is allowed whatever the tags; tagging never
        // with the environment tag, which would make another environment's master secret this role's
        // to read (ChangeOwnResources). RDS's own tag (aws:rds:primaryDBInstanceArn) no caller can set.
        { Sid: "RdsManagedSecretCreate", Effect: "Allow", Action: ["secretsmanager:CreateSecret"], Resource: arn("secretsmanager", "secret:rds!db-*"),
            Condition: { StringEquals: inRegion(a.region) } },
        { Sid: "RdsManagedSecretTag", Effect: "Allow", Action: ["secretsmanager:TagResource"], Resource: arn("secretsmanager", "secret:rds!db-*"),
            Condition: { StringEquals: inRegion(a.region), "ForAllValues:StringNotEquals": { "aws:TagKeys": [ENVIRONMENT_TAG] } } },
        // Rotation on request (ModifyDBInstance RotateMasterUserPassword) acts on the secret RDS tagged with the instance.
        { Sid: "RdsManagedSecretRotate", Effect: "Allow", Action: ["secretsmanager:RotateSecret"], Resource: arn("secretsmanager", "secret:rds!db-*"),
            Condition: { StringLike: { "aws:ResourceTag/aws:rds:primaryDBInstanceArn": arn("rds", `db:${a.envName}-*`) } } },
        // An instance that names no option or parameter group gets RDS's defaults (og:default:mysql-8-4,
        // pg:default.mysql8.4), and CreateDBInstance and ModifyDBInstance are authorised on them too
        // (RDS user guide, identity-based policy examples, create and modify). They are AWS's, carry
        // no tag and are shared by every instance; using one changes neither it nor another database.
        { Sid: "RdsDefaultGroups", Effect: "Allow", Action: ["rds:CreateDBInstance", "rds:ModifyDBInstance"],
            Resource: [arn("rds", "og:default:*"), arn("rds", "pg:default.*")], Condition: { StringEquals: inRegion(a.region) } },
        // A target-tracking policy's two alarms are made, read and deleted by Application Auto
        // Scaling with the caller's rights, named after the scalable target, so after the cluster
        // (ECS developer guide, "IAM permissions required for Amazon ECS service auto scaling").
        { Sid: "ScalingPolicyAlarms", Effect: "Allow", Action: ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
            Resource: arn("cloudwatch", `alarm:TargetTracking-service/${a.envName}-cluster/*`), Condition: { StringEquals: inRegion(a.region) } },
        // RDS describes the secret's key (Secrets Manager's AWS managed key) with the caller's rights.
        { Sid: "RdsManagedSecretKey", Effect: "Allow", Action: ["kms:DescribeKey"], Resource: arn("kms", "key/*") },
        // Cloud Map's private DNS namespace is a Route 53 hosted zone created with the caller's
        // rights. Route 53 has no tag conditions, so this is the one statement not fenced to the
        // environment (see docs/delivery.md, "What each deploy role may do").
        { Sid: "CloudMapDns", Effect: "Allow", Action: ROUTE53_FOR_CLOUD_MAP, Resource: "*" },
        { Sid: "SsmRead", Effect: "Allow", Action: ["ssm:GetParameter", "ssm:GetParameters"], Resource: `arn:aws:ssm:${a.region}::parameter/aws/service/*` },
        { Sid: "OwnTopicsAndAlarms", Effect: "Allow", Action: [...MONITORING_WRITES, ...MONITORING_READS], Resource: monitoringResources(a),
            Condition: { StringEquals: inRegion(a.region) } },
        // Without the boundary condition, PutRolePolicy + PassRole would let a deploy mint an
        // administrator role and hand it to a Lambda function: escalation to the whole account.
        { Sid: "RoleWritesWithinBoundary", Effect: "Allow", Action: BOUNDED_ROLE_WRITES, Resource: `arn:aws:iam::${a.account}:role${path}*`,
            Condition: { StringEquals: { "iam:PermissionsBoundary": a.boundaryArn } } },
        { Sid: "RolesInPath", Effect: "Allow", Action: ROLE_ACTIONS_IN_PATH,
            Resource: [`arn:aws:iam::${a.account}:role${path}*`, `arn:aws:iam::${a.account}:instance-profile${path}*`] },
        { Sid: "PassRolesInPath", Effect: "Allow", Action: ["iam:PassRole"], Resource: `arn:aws:iam::${a.account}:role${path}*`,
            Condition: { StringEquals: { "iam:PassedToService": PASSED_TO } } },
        { Sid: "KeepBoundary", Effect: "Deny", Action: ["iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:DeletePolicy",
            "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"], Resource: [`arn:aws:iam::${a.account}:role/*`, a.boundaryArn] },
        { Sid: "ServiceLinkedRoles", Effect: "Allow", Action: ["iam:CreateServiceLinkedRole"], Resource: `arn:aws:iam::${a.account}:role/aws-service-role/*`,
            Condition: { StringEquals: { "iam:AWSServiceName": SERVICE_LINKED } } },
        ...stateStatements(a, true),
    ] };
}

/**
 * The role of Production/ChangeSet: `pulumi preview -s prod` of code nobody has approved yet.
 * It reads; it changes nothing in AWS and writes only the backend's lock on its stack.
 */
export function environmentPreviewPolicy(a: EnvironmentRoleArgs): PolicyDocument {
    const path = environmentRolePath(a.envName);
    return { Version: "2012-10-17", Statement: [
        ...buildBasics(a),
        { Sid: "Read", Effect: "Allow", Action: READS, Resource: "*", Condition: { StringEquals: inRegion(a.region) } },
        { Sid: "RolesInPathRead", Effect: "Allow", Action: ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
            "iam:ListRoleTags", "iam:GetInstanceProfile", "iam:ListInstanceProfileTags", "iam:ListInstanceProfilesForRole"],
            Resource: [`arn:aws:iam::${a.account}:role${path}*`, `arn:aws:iam::${a.account}:instance-profile${path}*`] },
        { Sid: "SsmRead", Effect: "Allow", Action: ["ssm:GetParameter", "ssm:GetParameters"], Resource: `arn:aws:ssm:${a.region}::parameter/aws/service/*` },
        { Sid: "OwnTopicsAndAlarmsRead", Effect: "Allow", Action: MONITORING_READS, Resource: monitoringResources(a), Condition: { StringEquals: inRegion(a.region) } },
        ...stateStatements(a, false),
    ] };
}
