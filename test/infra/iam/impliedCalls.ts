// Calls AWS makes with the caller's rights while serving one of the provider's calls: the caller
// needs these permissions too, though no SDK call of the provider names them. The Service
// Authorization Reference (iam-data) lists none of them (its "Dependent actions" column is empty
// for every action below), so each is data here with the page that documents it.
import type { Step } from "./providerActions";

export interface ImpliedRequest { step: Step; action: string; arn: string; context: Record<string, string | string[]> }

/** What an implied call needs to know of the stack: the resource the provider's call is about, and lookups. */
export interface ImpliedTarget { type: string; name: string; inputs: Record<string, any>; id: string; tags: Record<string, string> }
export interface Lookup {
    account: string;
    region: string;
    /** The resource of `type` that `value` (an id, name or ARN) names. */
    resolve(type: string, value: unknown): ImpliedTarget;
}

export interface Implied {
    /** The provider's action during which AWS makes the calls. */
    after: string;
    /** Where AWS documents them. */
    source: string;
    /** Only for resources like this one (e.g. RDS instances with a managed master password). */
    when?: (t: ImpliedTarget) => boolean;
    requests: (t: ImpliedTarget, l: Lookup) => ImpliedRequest[];
}

/**
 * A service-linked role, created by the service on its first use in the account with the
 * caller's `iam:CreateServiceLinkedRole` (IAM user guide, "Service-linked role permissions").
 */
function serviceLinkedRole(service: string, roleName: string): Implied["requests"] {
    return (_t, l) => [{ step: "create", action: "iam:CreateServiceLinkedRole",
        arn: `arn:aws:iam::${l.account}:role/aws-service-role/${service}/${roleName}`, context: { "iam:AWSServiceName": service } }];
}

export const IMPLIED: Implied[] = [
    { after: "ecs:CreateCluster", source: "Amazon ECS developer guide, Using service-linked roles for Amazon ECS",
        requests: serviceLinkedRole("ecs.amazonaws.com", "AWSServiceRoleForECS") },
    { after: "autoscaling:CreateAutoScalingGroup", source: "EC2 Auto Scaling user guide, Service-linked roles for Amazon EC2 Auto Scaling",
        requests: serviceLinkedRole("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling") },
    { after: "autoscaling:CreateAutoScalingGroup", source: "EC2 Auto Scaling user guide, Launch template permissions (iam:PassRole for the instance profile's role)",
        requests: (t, l) => {
            const template = l.resolve("aws:ec2/launchTemplate:LaunchTemplate", t.inputs.launchTemplate?.id);
            const profile = l.resolve("aws:iam/instanceProfile:InstanceProfile", template.inputs.iamInstanceProfile?.arn);
            const role = l.resolve("aws:iam/role:Role", profile.inputs.role);
            return [{ step: "create", action: "iam:PassRole", arn: `arn:aws:iam::${l.account}:role${role.inputs.path ?? "/"}${role.inputs.name}`,
                context: { "iam:PassedToService": "ec2.amazonaws.com" } }];
        } },
    { after: "elasticloadbalancing:CreateLoadBalancer", source: "Elastic Load Balancing user guide, Service-linked role",
        requests: serviceLinkedRole("elasticloadbalancing.amazonaws.com", "AWSServiceRoleForElasticLoadBalancing") },
    { after: "rds:CreateDBInstance", source: "Amazon RDS user guide, Using service-linked roles for Amazon RDS",
        requests: serviceLinkedRole("rds.amazonaws.com", "AWSServiceRoleForRDS") },
    { after: "rds:CreateDBInstance", source: "Amazon RDS user guide, Password management with Secrets Manager: required permissions",
        when: (t) => t.inputs.manageMasterUserPassword === true,
        requests: (t, l) => {
            const secret = `arn:aws:secretsmanager:${l.region}:${l.account}:secret:rds!db-0123abcd-AbCdEf`;
            // No tags in the context: AWS documents none that RDS sends with these calls (the tag
            // aws:rds:primaryDBInstanceArn is on the secret once it exists), so the roles may not count on any.
            return [
                { step: "create", action: "secretsmanager:CreateSecret", arn: secret, context: {} },
                { step: "create", action: "secretsmanager:TagResource", arn: secret, context: {} },
                // The secret's key is Secrets Manager's AWS managed key unless one is given.
                { step: "create", action: "kms:DescribeKey", arn: `arn:aws:kms:${l.region}:${l.account}:key/0123abcd-aws-secretsmanager`, context: {} },
            ];
        } },
    { after: "application-autoscaling:RegisterScalableTarget", source: "Application Auto Scaling user guide, Service-linked roles (AWSServiceRoleForApplicationAutoScaling_ECSService)",
        when: (t) => t.inputs.serviceNamespace === "ecs",
        requests: serviceLinkedRole("ecs.application-autoscaling.amazonaws.com", "AWSServiceRoleForApplicationAutoScaling_ECSService") },
    // Target tracking: Application Auto Scaling creates (and on update and delete, changes or
    // deletes) the policy's two CloudWatch alarms, named after the scalable target, with the caller's rights.
    ...["application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy"].map((after): Implied => ({ after,
        source: "Amazon ECS developer guide, IAM permissions required for Amazon ECS service auto scaling (cloudwatch:PutMetricAlarm, DescribeAlarms, DeleteAlarms); " +
            "Application Auto Scaling user guide, Target tracking scaling policies (alarms TargetTracking-<resource id>-AlarmHigh/AlarmLow-<uuid>)",
        when: (t) => t.inputs.policyType === "TargetTrackingScaling",
        requests: (t, l) => ["AlarmHigh", "AlarmLow"].flatMap((kind) => {
            const arn = `arn:aws:cloudwatch:${l.region}:${l.account}:alarm:TargetTracking-${t.inputs.resourceId}-${kind}-0123abcd-4567-89ab-cdef-0123456789ab`;
            const actions = after.endsWith("DeleteScalingPolicy") ? ["cloudwatch:DeleteAlarms"] : ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms"];
            return actions.map((action) => ({ step: "create" as const, action, arn, context: {} }));
        }) })),
    { after: "servicediscovery:CreatePrivateDnsNamespace", source: "AWS Cloud Map developer guide, API permissions reference (CreatePrivateDnsNamespace)",
        requests: (_t, l) => [
            { step: "create", action: "route53:CreateHostedZone", arn: "*", context: {} },
            { step: "read", action: "route53:GetHostedZone", arn: "arn:aws:route53:::hostedzone/Z0123456789MOCK", context: {} },
            { step: "read", action: "route53:ListHostedZonesByName", arn: "*", context: {} },
            { step: "read", action: "ec2:DescribeVpcs", arn: "*", context: {} },
            { step: "read", action: "ec2:DescribeRegions", arn: "*", context: {} },
        ] },
];

/**
 * S3 asks KMS with the caller's rights when an object of an SSE-KMS bucket is written or read
 * (S3 user guide, "Using server-side encryption with AWS KMS keys": PutObject needs
 * kms:GenerateDataKey, GetObject kms:Decrypt), the request carrying `kms:ViaService`.
 */
export function s3KmsCalls(action: string, keyArn: string, region: string): ImpliedRequest[] {
    const via = { "kms:ViaService": `s3.${region}.amazonaws.com` };
    if (action === "s3:PutObject") return [{ step: "update", action: "kms:GenerateDataKey", arn: keyArn, context: via }];
    if (action === "s3:GetObject") return [{ step: "read", action: "kms:Decrypt", arn: keyArn, context: via }];
    return [];
}
