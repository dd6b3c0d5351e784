// IAM documents for the delivery stack as pure functions, so every statement is unit-tested.
export interface Statement { Sid: string; Effect: "Allow" | "Deny"; Action: string[]; Resource: string | string[]; Condition?: object }
export interface PolicyDocument { Version: "2012-10-17"; Statement: Statement[] }

export const ECR_PULL = ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability"];
export const ECR_PUSH = ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"];

export function assumeRolePolicy(service: string): object {
    return { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] };
}

/** The book's lifecycle rule: untagged images expire after 7 days. */
export function untaggedLifecyclePolicy(days = 7): string {
    return JSON.stringify({ rules: [{ rulePriority: 10, description: "Untagged images",
        selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: days },
        action: { type: "expire" } }] });
}

export interface PullPolicyArgs { region: string; account: string; projectName: string }

/**
 * Build-image repository policy (book §2): CodeBuild's own identity pulls, with no foreign account.
 * The service principal alone would let any account's CodeBuild project pull (confused deputy), so
 * the source account and the app build project are pinned.
 */
export function codebuildPullRepositoryPolicy(a: PullPolicyArgs): string {
    return JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "CodeBuildAccess", Effect: "Allow",
        Principal: { Service: "codebuild.amazonaws.com" }, Action: ECR_PULL,
        Condition: { ArnLike: { "aws:SourceArn": `arn:aws:codebuild:${a.region}:${a.account}:project/${a.projectName}` },
            StringEquals: { "aws:SourceAccount": a.account } } }] });
}

/** Bucket policy refusing every request that is not over TLS (the delivery buckets hold state and artifacts). */
export function denyInsecureTransportPolicy(bucketArn: string): object {
    return { Version: "2012-10-17", Statement: [{ Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } }] };
}

function logsStatement(region: string, account: string, projectPrefix: string): Statement {
    return { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `arn:aws:logs:${region}:${account}:log-group:/aws/codebuild/${projectPrefix}*` };
}

function artifactStatement(bucketArn: string): Statement {
    return { Sid: "Artifacts", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], Resource: `${bucketArn}/*` };
}

export interface AppBuildPolicyArgs { region: string; account: string; projectPrefix: string; artifactBucketArn: string; appRepositoryArn: string; buildImageRepositoryArn: string }

/** App build: push to the app repository only; pull the build image; auth token is account-wide by AWS design. */
export function appBuildPolicy(a: AppBuildPolicyArgs): PolicyDocument {
    return { Version: "2012-10-17", Statement: [
        logsStatement(a.region, a.account, a.projectPrefix),
        artifactStatement(a.artifactBucketArn),
        { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
        { Sid: "PushApp", Effect: "Allow", Action: [...ECR_PULL, ...ECR_PUSH], Resource: a.appRepositoryArn },
        { Sid: "PullBuildImage", Effect: "Allow", Action: ECR_PULL, Resource: a.buildImageRepositoryArn },
    ] };
}

export interface DeployPolicyArgs {
    region: string; account: string; projectPrefix: string; artifactBucketArn: string; stateBucketArn: string; kmsKeyArn: string; namePrefix: string;
    /** The environment roles' permissions boundary (boundaryIam.ts): roles are created and edited only with it attached. */
    boundaryArn: string;
}

/** Role writes that could raise a role's rights; each needs the boundary on the role (`iam:PermissionsBoundary`). */
export const BOUNDED_ROLE_WRITES = ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
    "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary"];

/** Services the environment stacks create; scoped by service, never AdministratorAccess/PowerUser. */
export const DEPLOY_SERVICES = ["ec2", "ecs", "elasticloadbalancing", "rds", "secretsmanager", "logs", "lambda",
    "servicediscovery", "autoscaling", "application-autoscaling", "cloudwatch", "xray"];

/** What `servicediscovery:CreatePrivateDnsNamespace` and its services need from Route 53. */
export const ROUTE53_FOR_CLOUD_MAP = ["route53:CreateHostedZone", "route53:DeleteHostedZone", "route53:GetHostedZone",
    "route53:ListHostedZonesByName", "route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:GetChange",
    "route53:CreateHealthCheck", "route53:DeleteHealthCheck", "route53:GetHealthCheck", "route53:UpdateHealthCheck",
    "route53:ChangeTagsForResource", "route53:ListTagsForResource"];

export function deployPolicy(a: DeployPolicyArgs): PolicyDocument {
    return { Version: "2012-10-17", Statement: [
        logsStatement(a.region, a.account, a.projectPrefix),
        artifactStatement(a.artifactBucketArn),
        { Sid: "EnvironmentServices", Effect: "Allow", Action: DEPLOY_SERVICES.map((s) => `${s}:*`), Resource: "*",
            Condition: { StringEquals: { "aws:RequestedRegion": a.region } } },
        // Cloud Map's private DNS namespace is a Route 53 hosted zone created with the caller's
        // rights. Route 53 is global (its calls carry us-east-1), so no region condition here.
        { Sid: "CloudMapDns", Effect: "Allow", Action: ROUTE53_FOR_CLOUD_MAP, Resource: "*" },
        { Sid: "SsmRead", Effect: "Allow", Action: ["ssm:GetParameter", "ssm:GetParameters"], Resource: `arn:aws:ssm:${a.region}::parameter/aws/service/*` },
        // Without the boundary condition, PutRolePolicy + PassRole would let a deploy mint an
        // administrator role and hand it to a Lambda function: escalation to the whole account.
        { Sid: "RoleWritesWithinBoundary", Effect: "Allow", Action: BOUNDED_ROLE_WRITES, Resource: `arn:aws:iam::${a.account}:role/${a.namePrefix}*`,
            Condition: { StringEquals: { "iam:PermissionsBoundary": a.boundaryArn } } },
        { Sid: "IamByPrefix", Effect: "Allow", Action: ["iam:DeleteRole", "iam:GetRole", "iam:TagRole", "iam:UntagRole",
            "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:PassRole",
            "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile", "iam:AddRoleToInstanceProfile",
            "iam:RemoveRoleFromInstanceProfile", "iam:UpdateAssumeRolePolicy",
            // The provider sends tags with CreateInstanceProfile (tag-on-create), which needs the tag action too.
            "iam:TagInstanceProfile", "iam:UntagInstanceProfile", "iam:ListInstanceProfileTags", "iam:ListRoleTags"],
            Resource: [`arn:aws:iam::${a.account}:role/${a.namePrefix}*`, `arn:aws:iam::${a.account}:instance-profile/${a.namePrefix}*`] },
        { Sid: "KeepBoundary", Effect: "Deny", Action: ["iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:DeletePolicy",
            "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"], Resource: [`arn:aws:iam::${a.account}:role/*`, a.boundaryArn] },
        { Sid: "ServiceLinkedRoles", Effect: "Allow", Action: ["iam:CreateServiceLinkedRole"], Resource: `arn:aws:iam::${a.account}:role/aws-service-role/*` },
        { Sid: "StateBucket", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: [a.stateBucketArn, `${a.stateBucketArn}/*`] },
        { Sid: "SecretsKey", Effect: "Allow", Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], Resource: a.kmsKeyArn },
    ] };
}

export interface PipelinePolicyArgs { artifactBucketArn: string; connectionArn: string; buildProjectArns: string[]; approvalTopicArn?: string }

export function pipelinePolicy(a: PipelinePolicyArgs): PolicyDocument {
    const s: Statement[] = [
        { Sid: "Artifacts", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:GetBucketVersioning"], Resource: [a.artifactBucketArn, `${a.artifactBucketArn}/*`] },
        { Sid: "Connection", Effect: "Allow", Action: ["codestar-connections:UseConnection"], Resource: a.connectionArn },
        { Sid: "Builds", Effect: "Allow", Action: ["codebuild:StartBuild", "codebuild:BatchGetBuilds"], Resource: a.buildProjectArns },
    ];
    if (a.approvalTopicArn) s.push({ Sid: "ApprovalTopic", Effect: "Allow", Action: ["sns:Publish"], Resource: a.approvalTopicArn });
    return { Version: "2012-10-17", Statement: s };
}
