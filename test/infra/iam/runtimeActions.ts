// What the running parts call with each role: the containers and agents of the book's system,
// as data with its source. Resources are ARN patterns with placeholders the test fills in from
// the evaluated stacks ({region}, {account}, {project}, {bucket}, {connection}, ...).

export interface RuntimeCall {
    /** Who makes the call and when. */
    what: string;
    actions: string[];
    resource: string;
    context?: Record<string, string>;
}

/**
 * The app build (buildspecs/app-buildspec.yml and the book's Makefile, ch. 13 §4): CodeBuild writes
 * its log and reads/writes the pipeline's artifacts; `make login` gets an ECR token; `make publish`
 * pushes the image (docker push: layer checks, uploads, manifest) to the app repository.
 */
export const APP_BUILD: RuntimeCall[] = [
    { what: "CodeBuild writes the build log", actions: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        resource: "arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/todobackend-build:log-stream:0123" },
    { what: "CodeBuild fetches the source", actions: ["s3:GetObject", "s3:GetObjectVersion"], resource: "arn:aws:s3:::{artifacts}/todobackend/MyApp/AbCdEf1" },
    { what: "CodeBuild stores version.json (ApplicationVersion)", actions: ["s3:PutObject"], resource: "arn:aws:s3:::{artifacts}/todobackend/Applicatio/AbCdEf1" },
    { what: "make login", actions: ["ecr:GetAuthorizationToken"], resource: "*" },
    { what: "make publish (docker push)", actions: ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage"], resource: "arn:aws:ecr:{region}:{account}:repository/docker-in-aws/todobackend" },
    // ECR user guide, "Pull through cache rules: required IAM permissions": the first pull creates the
    // cached repository and imports the image with the caller's rights.
    ...["alpine", "mysql"].map((image) => ({ what: `make test pulls ${image} through the ECR Public cache`, actions: ["ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
    resource: `arn:aws:ecr:{region}:{account}:repository/ecr-public/docker/library/${image}` })),
];

/** CodePipeline V2 with a CodeStar source, CodeBuild actions and a manual approval (AWS CodePipeline service role docs). */
export const PIPELINE: RuntimeCall[] = [
    { what: "Source actions", actions: ["codestar-connections:UseConnection"], resource: "{connection}" },
    { what: "artifact store", actions: ["s3:GetObject", "s3:PutObject", "s3:GetObjectVersion"], resource: "arn:aws:s3:::{artifacts}/todobackend/x" },
    { what: "artifact store check", actions: ["s3:GetBucketVersioning"], resource: "arn:aws:s3:::{artifacts}" },
    ...["todobackend-build", "todobackend-deploy-dev", "todobackend-changeset", "todobackend-execute"].map((project) => ({
        what: `CodeBuild action ${project}`, actions: ["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
        resource: `arn:aws:codebuild:{region}:{account}:project/${project}` })),
];

/** The Pulumi projects as CodeBuild runs them (image pull with SERVICE_ROLE, logs, input artifacts). */
export function pulumiProject(project: string): RuntimeCall[] {
    return [
        { what: "CodeBuild pulls the deploy image (SERVICE_ROLE)", actions: ["ecr:GetAuthorizationToken"], resource: "*" },
        { what: "CodeBuild pulls the deploy image (SERVICE_ROLE)", actions: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            resource: "arn:aws:ecr:{region}:{account}:repository/docker-in-aws/pulumi" },
        { what: "CodeBuild writes the build log", actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
            resource: `arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/${project}:log-stream:0123` },
        // CodePipeline's object keys: the pipeline's name, the artifact's name cut to 10 characters, a random name.
        { what: "CodeBuild fetches the input artifacts", actions: ["s3:GetObject", "s3:GetObjectVersion"], resource: "arn:aws:s3:::{artifacts}/todobackend/Deployment/AbCdEf1" },
    ];
}

/**
 * What the ECS agent and SSM agent on a container instance call (AWS's managed policies
 * AmazonEC2ContainerServiceforEC2Role and AmazonSSMManagedInstanceCore, and the ECS agent's
 * documented calls), checked against those policies under the environment's boundary.
 */
export const INSTANCE_AGENTS: RuntimeCall[] = [
    { what: "ECS agent joins the cluster", actions: ["ecs:RegisterContainerInstance", "ecs:DeregisterContainerInstance", "ecs:SubmitContainerStateChange",
        "ecs:SubmitTaskStateChange", "ecs:SubmitAttachmentStateChanges"], resource: "{cluster}" },
    { what: "ECS agent finds its endpoint", actions: ["ecs:DiscoverPollEndpoint"], resource: "*" },
    // Authorised on the container instance, with the cluster it is registered in as ecs:cluster.
    { what: "ECS agent polls and reports", actions: ["ecs:Poll", "ecs:StartTelemetrySession", "ecs:UpdateContainerInstancesState"],
        resource: "{containerInstance}", context: { "ecs:cluster": "{cluster}" } },
    { what: "ECS agent pulls images for bridge tasks", actions: ["ecr:GetAuthorizationToken"], resource: "*" },
    { what: "ECS agent pulls images for bridge tasks", actions: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
        resource: "arn:aws:ecr:{region}:{account}:repository/docker-in-aws/todobackend" },
    { what: "SSM agent registers the instance", actions: ["ssm:UpdateInstanceInformation"], resource: "arn:aws:ec2:{region}:{account}:instance/i-0123456789abcdef0" },
    { what: "SSM agent opens Session Manager channels", actions: ["ssmmessages:CreateControlChannel", "ssmmessages:OpenControlChannel",
        "ec2messages:GetMessages"], resource: "*" },
];

/**
 * AmazonEC2ContainerServiceforEC2Role and AmazonSSMManagedInstanceCore, the instance role's
 * managed policies, as AWS publishes them (the actions the agents above need; their other
 * statements are omitted). The evaluator needs the documents, which are not in iam-data.
 */
export const INSTANCE_MANAGED_POLICIES = [
    { Version: "2012-10-17", Statement: [{ Effect: "Allow", Resource: "*", Action: ["ec2:DescribeTags", "ecs:CreateCluster",
        "ecs:DeregisterContainerInstance", "ecs:DiscoverPollEndpoint", "ecs:Poll", "ecs:RegisterContainerInstance", "ecs:StartTelemetrySession",
        "ecs:UpdateContainerInstancesState", "ecs:Submit*", "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"] }] },
    { Version: "2012-10-17", Statement: [{ Effect: "Allow", Resource: "*", Action: ["ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance",
        "ssm:GetDocument", "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters", "ssm:ListAssociations",
        "ssm:ListInstanceAssociations", "ssm:PutInventory", "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult",
        "ssm:UpdateAssociationStatus", "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation"] },
    { Effect: "Allow", Resource: "*", Action: ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"] },
    { Effect: "Allow", Resource: "*", Action: ["ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage",
        "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"] }] },
];

/** The X-Ray SDK in the app and the X-Ray daemon (AWSXRayDaemonWriteAccess, daemon 3.x). */
export const TRACES: RuntimeCall[] = [
    { what: "X-Ray daemon sends segments and fetches sampling rules", actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords",
        "xray:GetSamplingRules", "xray:GetSamplingTargets"], resource: "*" },
];
