// IAM documents for the delivery stack as pure functions, so every statement is unit-tested.
import { PULL_THROUGH_PREFIX } from "./deliveryNaming";
// The roles that run Pulumi for an environment are in environmentDeployIam.ts.
export interface Statement { Sid: string; Effect: "Allow" | "Deny"; Action: string[]; Resource: string | string[]; Condition?: object }
export interface PolicyDocument { Version: "2012-10-17"; Statement: Statement[] }

export const ECR_PULL = ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability"];
export const ECR_PUSH = ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"];

export function assumeRolePolicy(service: string): object {
    return { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] };
}

/** The book's lifecycle rule: untagged images expire after 7 days. */
function untaggedRule(days: number) {
    return { rulePriority: 10, description: "Untagged images",
        selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: days }, action: { type: "expire" } };
}

/**
 * The app repository's rules: the book's (untagged after 7 days), and a bound, since every build
 * pushes an immutable `<commit>.<build>` image that nothing else removes. An image older than the
 * last `keep` pushed expires whatever runs it: a stack deployed `keep` builds ago needs a rebuild
 * to roll back to its tag, and so keep is large (docs/delivery.md).
 */
export function appLifecyclePolicy(keep = 200, untaggedDays = 7): string {
    return JSON.stringify({ rules: [untaggedRule(untaggedDays), { rulePriority: 20, description: `Keep last ${keep} images`,
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep }, action: { type: "expire" } }] });
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

/** Pipeline artifacts a build reads and writes, as object ARN patterns (pipelineStages.ts, artifactObjects). */
export interface ArtifactAccess { artifactReads: string[]; artifactWrites: string[] }

/**
 * A build's artifacts: only the ones its action consumes and produces. The app build runs the app
 * repository's Makefile and the deploy builds run this repository's program, both unreviewed:
 * with the whole bucket, either could rewrite what a later action runs with more rights (the
 * DeploymentRepository zip ExecuteChangeSet runs with prod's) or read the prod plan.
 */
export function artifactStatements(a: ArtifactAccess): Statement[] {
    const s: Statement[] = [{ Sid: "ArtifactsRead", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: a.artifactReads }];
    if (a.artifactWrites.length > 0) s.push({ Sid: "ArtifactsWrite", Effect: "Allow", Action: ["s3:PutObject"], Resource: a.artifactWrites });
    return s;
}

export interface AppBuildPolicyArgs extends ArtifactAccess { region: string; account: string; projectPrefix: string; appRepositoryArn: string; buildImageRepositoryArn: string }

/** App build: push to the app repository only; pull the build image; auth token is account-wide by AWS design. */
export function appBuildPolicy(a: AppBuildPolicyArgs): PolicyDocument {
    return { Version: "2012-10-17", Statement: [
        logsStatement(a.region, a.account, a.projectPrefix),
        ...artifactStatements(a),
        { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
        { Sid: "PushApp", Effect: "Allow", Action: [...ECR_PULL, ...ECR_PUSH], Resource: a.appRepositoryArn },
        { Sid: "PullBuildImage", Effect: "Allow", Action: ECR_PULL, Resource: a.buildImageRepositoryArn },
        // A first pull through the cache creates the repository and imports the image with the caller's rights.
        { Sid: "PullBaseImagesThroughCache", Effect: "Allow", Action: [...ECR_PULL, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
            Resource: `arn:aws:ecr:${a.region}:${a.account}:repository/${PULL_THROUGH_PREFIX}/*` },
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
