// What the AWS provider calls for each resource type the environment stacks declare, as data.
//
// Sources, per type: the create/read/update/delete functions of the resource in
// terraform-provider-aws (which @pulumi/aws 7.x wraps; internal/service/<service>/<resource>.go),
// with the IAM action of each SDK call and the resource each is authorised on taken from the
// AWS Service Authorization Reference ("Actions defined by <service>", columns "Resource types"
// and "Dependent actions"). Tag actions are listed where the provider tags on create (it sends
// the tags with the create call, and AWS then also checks the service's tag action).
// The awsx VPC (a component) is expanded into the resources awsx 3.x creates for it.

/** Kinds of call, so a reviewer sees which lifecycle step a missing permission breaks. */
export type Step = "create" | "read" | "update" | "delete" | "tag";

export interface Call {
    step: Step;
    actions: string[];
    /**
     * The resource the actions are authorised on besides (or instead of) the resource itself: an
     * input holding the other resource's id or ARN, and that resource's type.
     */
    on?: { input: string; type: string };
    /** Authorised only on that other resource, not on the new one (e.g. a route on its route table). */
    onlyOn?: boolean;
    /** A call of the create step made once the resource exists (attach, a follow-up setting): checked on its tags. */
    existing?: boolean;
    /** For tag-on-create in EC2: the create action that carries the tags (`ec2:CreateAction`). */
    createAction?: string;
    /** For iam:PassRole: the service the role is passed to, and the input holding the role's ARN. */
    passedTo?: { service: string; input: string };
    /**
     * The other resources the action is authorised on, by their iam-data resource type (the
     * Service Authorization Reference's "Resource types" column, required ones marked *): an
     * input of this resource holding their ids, or the new resource the call makes. The request
     * builder refuses an action that leaves a required resource type without a request.
     */
    touches?: Record<string, Touch>;
}

/**
 * One resource an action also touches: another resource of the stack found through an input
 * (`input`, a path; `via` first follows an input to another resource and reads `input` there),
 * a resource the call creates (`newArn`, tagged from `tagsFrom` of the launch template), or an
 * AWS-owned one (`awsOwned`: an ARN without account, e.g. an Amazon AMI).
 */
export type Touch =
    | { input: string; type: string; via?: { input: string; type: string } }
    | { newArn: string; tagsFrom?: { via: { input: string; type: string }; resourceType: string } }
    | { awsOwned: (inputs: Record<string, any>) => string; via?: { input: string; type: string } }
    /** A resource AWS made in the account (RDS's default option and parameter groups): this account's ARN, no tags of ours. */
    | { accountDefault: (inputs: Record<string, any>) => string };

/**
 * RDS's default option and parameter groups of an instance that names none (`og:default:mysql-8-4`,
 * `pg:default.mysql8.4`): CreateDBInstance and ModifyDBInstance are authorised on them too (RDS user
 * guide, "Identity-based policy examples for Amazon RDS": create and modify examples list
 * `og:default*` and `pg:default*`).
 */
const rdsDefaultGroups = (): Record<string, Touch> => {
    const major = (i: Record<string, any>) => /^(\d+)\.(\d+)/.exec(String(i.engineVersion))!.slice(1, 3);
    return {
        og: { accountDefault: (i) => `og:${i.optionGroupName ?? `default:${i.engine}-${major(i).join("-")}`}` },
        pg: { accountDefault: (i) => `pg:${i.parameterGroupName ?? `default.${i.engine}${major(i).join(".")}`}` },
    };
};

export interface ResourceType {
    /** The service prefix of the resource's ARN; `iam` ARNs have no region. */
    service: string;
    /**
     * The resource part of the ARN (after `arn:aws:<service>:<region>:<account>:`), from the
     * resource's inputs and id. `id` is the resource's id under the mocks.
     */
    arn: (inputs: Record<string, any>, id: string) => string;
    /** The same for the resource before it exists (`vpc/*`), when its ARN holds a generated id. */
    newArn?: (inputs: Record<string, any>) => string;
    calls: Call[];
}

const ec2Tagging = (createAction: string): Call[] => [
    { step: "tag", actions: ["ec2:CreateTags"], createAction },
    { step: "update", actions: ["ec2:CreateTags", "ec2:DeleteTags"] },
];

export const PROVIDER_ACTIONS: Record<string, ResourceType> = {
    // --- EC2: the awsx VPC's children (awsx 3.x ec2/vpc.ts) and the security groups ---
    "aws:ec2/vpc:Vpc": { service: "ec2", arn: (_i, id) => `vpc/${id}`, newArn: () => "vpc/*", calls: [
        { step: "create", actions: ["ec2:CreateVpc"] }, ...ec2Tagging("CreateVpc"),
        { step: "read", actions: ["ec2:DescribeVpcs", "ec2:DescribeVpcAttribute"] },
        { step: "update", actions: ["ec2:ModifyVpcAttribute"] }, { step: "delete", actions: ["ec2:DeleteVpc"] }] },
    "aws:ec2/subnet:Subnet": { service: "ec2", arn: (_i, id) => `subnet/${id}`, newArn: () => "subnet/*", calls: [
        { step: "create", actions: ["ec2:CreateSubnet"], on: { input: "vpcId", type: "aws:ec2/vpc:Vpc" } }, ...ec2Tagging("CreateSubnet"),
        { step: "read", actions: ["ec2:DescribeSubnets"] }, { step: "update", actions: ["ec2:ModifySubnetAttribute"] },
        { step: "delete", actions: ["ec2:DeleteSubnet"] }] },
    "aws:ec2/routeTable:RouteTable": { service: "ec2", arn: (_i, id) => `route-table/${id}`, newArn: () => "route-table/*", calls: [
        { step: "create", actions: ["ec2:CreateRouteTable"], on: { input: "vpcId", type: "aws:ec2/vpc:Vpc" } }, ...ec2Tagging("CreateRouteTable"),
        { step: "read", actions: ["ec2:DescribeRouteTables"] }, { step: "delete", actions: ["ec2:DeleteRouteTable"] }] },
    "aws:ec2/route:Route": { service: "ec2", arn: () => "", calls: [
        { step: "create", actions: ["ec2:CreateRoute"], on: { input: "routeTableId", type: "aws:ec2/routeTable:RouteTable" }, onlyOn: true },
        { step: "update", actions: ["ec2:ReplaceRoute"], on: { input: "routeTableId", type: "aws:ec2/routeTable:RouteTable" }, onlyOn: true },
        { step: "delete", actions: ["ec2:DeleteRoute"], on: { input: "routeTableId", type: "aws:ec2/routeTable:RouteTable" }, onlyOn: true }] },
    "aws:ec2/routeTableAssociation:RouteTableAssociation": { service: "ec2", arn: () => "", calls: [
        { step: "create", actions: ["ec2:AssociateRouteTable"], on: { input: "routeTableId", type: "aws:ec2/routeTable:RouteTable" }, onlyOn: true },
        { step: "create", actions: ["ec2:AssociateRouteTable"], on: { input: "subnetId", type: "aws:ec2/subnet:Subnet" }, onlyOn: true },
        { step: "delete", actions: ["ec2:DisassociateRouteTable"], on: { input: "routeTableId", type: "aws:ec2/routeTable:RouteTable" }, onlyOn: true }] },
    "aws:ec2/internetGateway:InternetGateway": { service: "ec2", arn: (_i, id) => `internet-gateway/${id}`, newArn: () => "internet-gateway/*", calls: [
        { step: "create", actions: ["ec2:CreateInternetGateway"] }, ...ec2Tagging("CreateInternetGateway"),
        { step: "create", actions: ["ec2:AttachInternetGateway"], on: { input: "vpcId", type: "aws:ec2/vpc:Vpc" }, existing: true },
        { step: "read", actions: ["ec2:DescribeInternetGateways"] },
        { step: "delete", actions: ["ec2:DetachInternetGateway"], on: { input: "vpcId", type: "aws:ec2/vpc:Vpc" } },
        { step: "delete", actions: ["ec2:DeleteInternetGateway"] }] },
    "aws:ec2/eip:Eip": { service: "ec2", arn: (_i, id) => `elastic-ip/${id}`, newArn: () => "elastic-ip/*", calls: [
        { step: "create", actions: ["ec2:AllocateAddress"] }, ...ec2Tagging("AllocateAddress"),
        { step: "read", actions: ["ec2:DescribeAddresses"] }, { step: "delete", actions: ["ec2:ReleaseAddress"] }] },
    "aws:ec2/natGateway:NatGateway": { service: "ec2", arn: (_i, id) => `natgateway/${id}`, newArn: () => "natgateway/*", calls: [
        { step: "create", actions: ["ec2:CreateNatGateway"] }, ...ec2Tagging("CreateNatGateway"),
        { step: "create", actions: ["ec2:CreateNatGateway"], on: { input: "subnetId", type: "aws:ec2/subnet:Subnet" }, onlyOn: true },
        { step: "create", actions: ["ec2:CreateNatGateway"], on: { input: "allocationId", type: "aws:ec2/eip:Eip" }, onlyOn: true },
        { step: "read", actions: ["ec2:DescribeNatGateways"] }, { step: "delete", actions: ["ec2:DeleteNatGateway"] }] },
    "aws:ec2/securityGroup:SecurityGroup": { service: "ec2", arn: (_i, id) => `security-group/${id}`, newArn: () => "security-group/*", calls: [
        { step: "create", actions: ["ec2:CreateSecurityGroup"], on: { input: "vpcId", type: "aws:ec2/vpc:Vpc" } }, ...ec2Tagging("CreateSecurityGroup"),
        // The provider removes the default allow-all egress rule right after creating the group.
        { step: "create", actions: ["ec2:RevokeSecurityGroupEgress"], existing: true },
        { step: "read", actions: ["ec2:DescribeSecurityGroups"] }, { step: "delete", actions: ["ec2:DeleteSecurityGroup"] }] },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": { service: "ec2", arn: (_i, id) => `security-group-rule/${id}`,
        newArn: () => "security-group-rule/*", calls: [
            { step: "create", actions: ["ec2:AuthorizeSecurityGroupIngress"] }, ...ec2Tagging("AuthorizeSecurityGroupIngress"),
            { step: "create", actions: ["ec2:AuthorizeSecurityGroupIngress"], on: { input: "securityGroupId", type: "aws:ec2/securityGroup:SecurityGroup" }, onlyOn: true },
            { step: "read", actions: ["ec2:DescribeSecurityGroupRules"] },
            { step: "update", actions: ["ec2:ModifySecurityGroupRules"], on: { input: "securityGroupId", type: "aws:ec2/securityGroup:SecurityGroup" } },
            { step: "delete", actions: ["ec2:RevokeSecurityGroupIngress"], on: { input: "securityGroupId", type: "aws:ec2/securityGroup:SecurityGroup" }, onlyOn: true }] },
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": { service: "ec2", arn: (_i, id) => `security-group-rule/${id}`,
        newArn: () => "security-group-rule/*", calls: [
            { step: "create", actions: ["ec2:AuthorizeSecurityGroupEgress"] }, ...ec2Tagging("AuthorizeSecurityGroupEgress"),
            { step: "create", actions: ["ec2:AuthorizeSecurityGroupEgress"], on: { input: "securityGroupId", type: "aws:ec2/securityGroup:SecurityGroup" }, onlyOn: true },
            { step: "read", actions: ["ec2:DescribeSecurityGroupRules"] },
            { step: "update", actions: ["ec2:ModifySecurityGroupRules"], on: { input: "securityGroupId", type: "aws:ec2/securityGroup:SecurityGroup" } },
            { step: "delete", actions: ["ec2:RevokeSecurityGroupEgress"], on: { input: "securityGroupId", type: "aws:ec2/securityGroup:SecurityGroup" }, onlyOn: true }] },
    "aws:ec2/launchTemplate:LaunchTemplate": { service: "ec2", arn: (_i, id) => `launch-template/${id}`, newArn: () => "launch-template/*", calls: [
        { step: "create", actions: ["ec2:CreateLaunchTemplate"] }, ...ec2Tagging("CreateLaunchTemplate"),
        { step: "read", actions: ["ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions"] },
        { step: "update", actions: ["ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"] },
        { step: "delete", actions: ["ec2:DeleteLaunchTemplate"] }] },

    // --- Auto Scaling: creating a group from a launch template runs instances as the caller ---
    "aws:autoscaling/group:Group": { service: "autoscaling", arn: (i) => `autoScalingGroup:*:autoScalingGroupName/${i.name}`, calls: [
        { step: "create", actions: ["autoscaling:CreateAutoScalingGroup", "autoscaling:CreateOrUpdateTags"] },
        // Auto Scaling checks that the caller may launch from the template: RunInstances on every
        // resource a launch touches (EC2 Auto Scaling user guide, "Launch template permissions").
        { step: "create", actions: ["ec2:RunInstances"], on: { input: "launchTemplate.id", type: "aws:ec2/launchTemplate:LaunchTemplate" }, onlyOn: true, touches: {
            image: { awsOwned: (lt) => `image/${lt.imageId}`, via: { input: "launchTemplate.id", type: "aws:ec2/launchTemplate:LaunchTemplate" } },
            instance: { newArn: "instance/*", tagsFrom: { via: { input: "launchTemplate.id", type: "aws:ec2/launchTemplate:LaunchTemplate" }, resourceType: "instance" } },
            volume: { newArn: "volume/*", tagsFrom: { via: { input: "launchTemplate.id", type: "aws:ec2/launchTemplate:LaunchTemplate" }, resourceType: "volume" } },
            "network-interface": { newArn: "network-interface/*", tagsFrom: { via: { input: "launchTemplate.id", type: "aws:ec2/launchTemplate:LaunchTemplate" }, resourceType: "network-interface" } },
            "security-group": { input: "vpcSecurityGroupIds", type: "aws:ec2/securityGroup:SecurityGroup", via: { input: "launchTemplate.id", type: "aws:ec2/launchTemplate:LaunchTemplate" } },
            subnet: { input: "vpcZoneIdentifiers", type: "aws:ec2/subnet:Subnet" },
        } },
        { step: "read", actions: ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeInstanceRefreshes"] },
        { step: "update", actions: ["autoscaling:UpdateAutoScalingGroup", "autoscaling:StartInstanceRefresh", "autoscaling:SetInstanceProtection"] },
        { step: "delete", actions: ["autoscaling:DeleteAutoScalingGroup"] }] },

    // --- ECS ---
    "aws:ecs/cluster:Cluster": { service: "ecs", arn: (i) => `cluster/${i.name}`, calls: [
        { step: "create", actions: ["ecs:CreateCluster", "ecs:TagResource"] }, { step: "read", actions: ["ecs:DescribeClusters"] },
        { step: "update", actions: ["ecs:UpdateCluster", "ecs:TagResource", "ecs:UntagResource"] }, { step: "delete", actions: ["ecs:DeleteCluster"] }] },
    "aws:ecs/capacityProvider:CapacityProvider": { service: "ecs", arn: (i) => `capacity-provider/${i.name}`, calls: [
        { step: "create", actions: ["ecs:CreateCapacityProvider"] }, { step: "read", actions: ["ecs:DescribeCapacityProviders"] },
        { step: "update", actions: ["ecs:UpdateCapacityProvider"] }, { step: "delete", actions: ["ecs:DeleteCapacityProvider"] }] },
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": { service: "ecs", arn: () => "", calls: [
        { step: "create", actions: ["ecs:PutClusterCapacityProviders"], on: { input: "clusterName", type: "aws:ecs/cluster:Cluster" }, onlyOn: true },
        { step: "read", actions: ["ecs:DescribeClusters"], on: { input: "clusterName", type: "aws:ecs/cluster:Cluster" }, onlyOn: true }] },
    "aws:ecs/taskDefinition:TaskDefinition": { service: "ecs", arn: (i) => `task-definition/${i.family}:1`, calls: [
        { step: "create", actions: ["ecs:RegisterTaskDefinition", "ecs:TagResource"] },
        { step: "create", actions: ["iam:PassRole"], passedTo: { service: "ecs-tasks.amazonaws.com", input: "executionRoleArn" } },
        { step: "create", actions: ["iam:PassRole"], passedTo: { service: "ecs-tasks.amazonaws.com", input: "taskRoleArn" } },
        { step: "read", actions: ["ecs:DescribeTaskDefinition"] }, { step: "delete", actions: ["ecs:DeregisterTaskDefinition"] }] },
    "aws:ecs/service:Service": { service: "ecs", arn: (i) => `service/${i.clusterName}/${i.name}`, calls: [
        { step: "create", actions: ["ecs:CreateService", "ecs:TagResource"] }, { step: "read", actions: ["ecs:DescribeServices"] },
        { step: "update", actions: ["ecs:UpdateService", "ecs:TagResource", "ecs:UntagResource"] }, { step: "delete", actions: ["ecs:DeleteService"] }] },

    // --- Load balancing ---
    "aws:lb/loadBalancer:LoadBalancer": { service: "elasticloadbalancing", arn: (i) => `loadbalancer/app/${i.name}/0123456789abcdef`, calls: [
            { step: "create", actions: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:AddTags"] },
            { step: "read", actions: ["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeTags"] },
            { step: "update", actions: ["elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets"] },
            { step: "delete", actions: ["elasticloadbalancing:DeleteLoadBalancer"] }] },
    "aws:lb/targetGroup:TargetGroup": { service: "elasticloadbalancing", arn: (i) => `targetgroup/${i.name}/0123456789abcdef`, calls: [
            { step: "create", actions: ["elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:AddTags"] },
            { step: "read", actions: ["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes"] },
            { step: "update", actions: ["elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes"] },
            { step: "delete", actions: ["elasticloadbalancing:DeleteTargetGroup"] }] },
    "aws:lb/listener:Listener": { service: "elasticloadbalancing",
        // The listener's ARN carries its load balancer's name and id.
        arn: (i) => `listener/app/${String(i.loadBalancerArn).split("/")[2]}/0123456789abcdef/0123456789abcdef`, calls: [
            // CreateListener is authorised on the load balancer; the new listener's tags on the listener.
            { step: "create", actions: ["elasticloadbalancing:AddTags"] },
            { step: "create", actions: ["elasticloadbalancing:CreateListener"], on: { input: "loadBalancerArn", type: "aws:lb/loadBalancer:LoadBalancer" }, onlyOn: true },
            { step: "read", actions: ["elasticloadbalancing:DescribeListeners"] },
            { step: "update", actions: ["elasticloadbalancing:ModifyListener"] }, { step: "delete", actions: ["elasticloadbalancing:DeleteListener"] }] },

    // --- RDS (with the RDS-managed master secret) ---
    "aws:rds/subnetGroup:SubnetGroup": { service: "rds", arn: (i) => `subgrp:${i.name}`, calls: [
        { step: "create", actions: ["rds:CreateDBSubnetGroup", "rds:AddTagsToResource"] }, { step: "read", actions: ["rds:DescribeDBSubnetGroups"] },
        { step: "update", actions: ["rds:ModifyDBSubnetGroup"] }, { step: "delete", actions: ["rds:DeleteDBSubnetGroup"] }] },
    "aws:rds/instance:Instance": { service: "rds", arn: (i) => `db:${i.identifier}`, calls: [
        { step: "create", actions: ["rds:CreateDBInstance", "rds:AddTagsToResource"] },
        { step: "create", actions: ["rds:CreateDBInstance"], on: { input: "dbSubnetGroupName", type: "aws:rds/subnetGroup:SubnetGroup" }, onlyOn: true, touches: rdsDefaultGroups() },
        { step: "read", actions: ["rds:DescribeDBInstances", "rds:ListTagsForResource"] },
        { step: "update", actions: ["rds:ModifyDBInstance", "rds:AddTagsToResource", "rds:RemoveTagsFromResource"] },
        // A major version upgrade (8.0 → 8.4) moves the instance to the new version's default groups.
        { step: "update", actions: ["rds:ModifyDBInstance"], onlyOn: true, touches: rdsDefaultGroups() },
        { step: "delete", actions: ["rds:DeleteDBInstance"] }] },

    // --- Logs, Lambda, Secrets Manager, Cloud Map, Application Auto Scaling ---
    "aws:cloudwatch/logGroup:LogGroup": { service: "logs", arn: (i) => `log-group:${i.name}`, calls: [
        { step: "create", actions: ["logs:CreateLogGroup", "logs:TagResource"] }, { step: "read", actions: ["logs:DescribeLogGroups", "logs:ListTagsForResource"] },
        { step: "update", actions: ["logs:PutRetentionPolicy"] }, { step: "delete", actions: ["logs:DeleteLogGroup"] }] },
    "aws:lambda/function:Function": { service: "lambda", arn: (i) => `function:${i.name}`, calls: [
        { step: "create", actions: ["lambda:CreateFunction", "lambda:TagResource"] },
        { step: "create", actions: ["iam:PassRole"], passedTo: { service: "lambda.amazonaws.com", input: "role" } },
        { step: "read", actions: ["lambda:GetFunction", "lambda:ListVersionsByFunction", "lambda:GetFunctionCodeSigningConfig"] },
        { step: "update", actions: ["lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"] },
        { step: "delete", actions: ["lambda:DeleteFunction"] }] },
    "aws:lambda/invocation:Invocation": { service: "lambda", arn: () => "", calls: [
        { step: "create", actions: ["lambda:InvokeFunction"], on: { input: "functionName", type: "aws:lambda/function:Function" }, onlyOn: true }] },
    "aws:secretsmanager/secret:Secret": { service: "secretsmanager", arn: (i) => `secret:${i.namePrefix ?? i.name}AbCdEf`, calls: [
        { step: "create", actions: ["secretsmanager:CreateSecret", "secretsmanager:TagResource"] },
        { step: "read", actions: ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"] },
        { step: "update", actions: ["secretsmanager:UpdateSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource"] },
        { step: "delete", actions: ["secretsmanager:DeleteSecret"] }] },
    "aws:secretsmanager/secretVersion:SecretVersion": { service: "secretsmanager", arn: () => "", calls: [
        { step: "create", actions: ["secretsmanager:PutSecretValue"], on: { input: "secretId", type: "aws:secretsmanager/secret:Secret" }, onlyOn: true },
        { step: "read", actions: ["secretsmanager:GetSecretValue"], on: { input: "secretId", type: "aws:secretsmanager/secret:Secret" }, onlyOn: true }] },
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": { service: "servicediscovery", arn: (_i, id) => `namespace/${id}`, newArn: () => "namespace/*", calls: [
        { step: "create", actions: ["servicediscovery:CreatePrivateDnsNamespace", "servicediscovery:TagResource"] },
        { step: "read", actions: ["servicediscovery:GetNamespace", "servicediscovery:GetOperation", "servicediscovery:ListTagsForResource"] },
        { step: "delete", actions: ["servicediscovery:DeleteNamespace"] }] },
    "aws:servicediscovery/service:Service": { service: "servicediscovery", arn: (_i, id) => `service/${id}`, newArn: () => "service/*", calls: [
        { step: "create", actions: ["servicediscovery:CreateService"], on: { input: "dnsConfig.namespaceId", type: "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace" } },
        { step: "create", actions: ["servicediscovery:TagResource"] },
        { step: "read", actions: ["servicediscovery:GetService"] },
        { step: "update", actions: ["servicediscovery:UpdateService"] }, { step: "delete", actions: ["servicediscovery:DeleteService"] }] },
    "aws:appautoscaling/target:Target": { service: "application-autoscaling", arn: (_i, id) => `scalable-target/${id}`, newArn: () => "scalable-target/*", calls: [
        { step: "create", actions: ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:TagResource"] },
        { step: "read", actions: ["application-autoscaling:DescribeScalableTargets"] },
        { step: "delete", actions: ["application-autoscaling:DeregisterScalableTarget"] }] },
    "aws:appautoscaling/policy:Policy": { service: "application-autoscaling", arn: () => "", calls: [
        { step: "create", actions: ["application-autoscaling:PutScalingPolicy"], on: { input: "resourceId", type: "aws:appautoscaling/target:Target" }, onlyOn: true },
        { step: "update", actions: ["application-autoscaling:PutScalingPolicy"], on: { input: "resourceId", type: "aws:appautoscaling/target:Target" }, onlyOn: true },
        { step: "read", actions: ["application-autoscaling:DescribeScalingPolicies"] },
        { step: "delete", actions: ["application-autoscaling:DeleteScalingPolicy"], on: { input: "resourceId", type: "aws:appautoscaling/target:Target" }, onlyOn: true }] },

    // --- Monitoring: the alarm topic (and its optional e-mail subscription), the alarms ---
    "aws:sns/topic:Topic": { service: "sns", arn: (i) => String(i.name), calls: [
        { step: "create", actions: ["sns:CreateTopic", "sns:TagResource"] }, { step: "read", actions: ["sns:GetTopicAttributes", "sns:ListTagsForResource"] },
        { step: "update", actions: ["sns:SetTopicAttributes", "sns:TagResource", "sns:UntagResource"] }, { step: "delete", actions: ["sns:DeleteTopic"] }] },
    "aws:sns/topicSubscription:TopicSubscription": { service: "sns", arn: () => "", calls: [
        { step: "create", actions: ["sns:Subscribe"], on: { input: "topic", type: "aws:sns/topic:Topic" }, onlyOn: true },
        { step: "read", actions: ["sns:GetSubscriptionAttributes"], on: { input: "topic", type: "aws:sns/topic:Topic" }, onlyOn: true },
        { step: "delete", actions: ["sns:Unsubscribe"], on: { input: "topic", type: "aws:sns/topic:Topic" }, onlyOn: true }] },
    "aws:cloudwatch/metricAlarm:MetricAlarm": { service: "cloudwatch", arn: (i) => `alarm:${i.name}`, calls: [
        { step: "create", actions: ["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"] },
        { step: "read", actions: ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"] },
        { step: "update", actions: ["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource"] },
        { step: "delete", actions: ["cloudwatch:DeleteAlarms"] }] },

    // --- IAM: roles and instance profiles live under the environment's path ---
    "aws:iam/role:Role": { service: "iam", arn: (i) => `role${i.path ?? "/"}${i.name}`, calls: [
        { step: "create", actions: ["iam:CreateRole", "iam:TagRole"] },
        { step: "read", actions: ["iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"] },
        { step: "update", actions: ["iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole"] },
        { step: "delete", actions: ["iam:DeleteRole"] }] },
    "aws:iam/rolePolicy:RolePolicy": { service: "iam", arn: () => "", calls: [
        { step: "create", actions: ["iam:PutRolePolicy"], on: { input: "role", type: "aws:iam/role:Role" }, onlyOn: true },
        { step: "read", actions: ["iam:GetRolePolicy"], on: { input: "role", type: "aws:iam/role:Role" }, onlyOn: true },
        { step: "delete", actions: ["iam:DeleteRolePolicy"], on: { input: "role", type: "aws:iam/role:Role" }, onlyOn: true }] },
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": { service: "iam", arn: () => "", calls: [
        { step: "create", actions: ["iam:AttachRolePolicy"], on: { input: "role", type: "aws:iam/role:Role" }, onlyOn: true },
        { step: "read", actions: ["iam:ListAttachedRolePolicies"], on: { input: "role", type: "aws:iam/role:Role" }, onlyOn: true },
        { step: "delete", actions: ["iam:DetachRolePolicy"], on: { input: "role", type: "aws:iam/role:Role" }, onlyOn: true }] },
    "aws:iam/instanceProfile:InstanceProfile": { service: "iam", arn: (i) => `instance-profile${i.path ?? "/"}${i.name}`, calls: [
        { step: "create", actions: ["iam:CreateInstanceProfile", "iam:TagInstanceProfile"] },
        { step: "create", actions: ["iam:AddRoleToInstanceProfile"], existing: true },
        { step: "create", actions: ["iam:PassRole"], passedTo: { service: "ec2.amazonaws.com", input: "role" } },
        { step: "read", actions: ["iam:GetInstanceProfile"] },
        { step: "delete", actions: ["iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"] }] },
};

/** Types the environment stacks declare that call no AWS API of their own. */
export const NO_AWS_CALLS = ["pulumi:pulumi:StackReference", "pulumi:providers:aws", "pulumi:providers:random", "random:index/randomPassword:RandomPassword"];
