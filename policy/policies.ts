// The todobackend security posture as plain policy objects. Kept apart from index.ts because
// `new PolicyPack(...)` starts a gRPC server that never exits: tests and the offline check import
// this module and call each validateResource/validateStack directly.
import { BlockList } from "node:net";
import type {
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";

/** Real Pulumi AWS type tokens; aliases of renamed resources are listed so both spellings match. */
export const Types = {
    rdsInstance: "aws:rds/instance:Instance",
    rdsCluster: "aws:rds/cluster:Cluster",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ecrRepository: "aws:ecr/repository:Repository",
    codebuildProject: "aws:codebuild/project:Project",
    ecsService: "aws:ecs/service:Service",
    awsxFargateService: "awsx:ecs:FargateService",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    buckets: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
    bucketPublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    bucketEncryption: [
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    ],
    policyAttachments: [
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
    ],
    policyDocuments: [
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/groupPolicy:GroupPolicy",
    ],
    role: "aws:iam/role:Role",
} as const;

// ---------------------------------------------------------------------------------------------
// Pure helpers (exported for tests)

/** The stack a URN belongs to: `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string): string {
    const match = /^urn:pulumi:([^:]+)::/.exec(urn);
    return match ? match[1] : "";
}

// RFC 1918, CGNAT, loopback, link-local and IPv6 unique-local/link-local: never reachable from
// the internet, so ingress from them is not "public". node:net's BlockList does the address
// maths so we do not hand-roll bit masks.
const privateRanges: Array<[string, number, "ipv4" | "ipv6"]> = [
    ["10.0.0.0", 8, "ipv4"], ["172.16.0.0", 12, "ipv4"], ["192.168.0.0", 16, "ipv4"],
    ["100.64.0.0", 10, "ipv4"], ["127.0.0.0", 8, "ipv4"], ["169.254.0.0", 16, "ipv4"],
    ["fc00::", 7, "ipv6"], ["fe80::", 10, "ipv6"], ["::1", 128, "ipv6"],
];

/** True when every address of `cidr` lies inside `range` (both "address/prefix"). */
export function cidrWithin(cidr: string, range: string): boolean {
    const [addr, bitsText] = cidr.split("/");
    const [rangeAddr, rangeBitsText] = range.split("/");
    const family = addr.includes(":") ? "ipv6" : "ipv4";
    if (family !== (rangeAddr.includes(":") ? "ipv6" : "ipv4")) return false;
    const bits = Number(bitsText ?? (family === "ipv4" ? 32 : 128));
    const rangeBits = Number(rangeBitsText ?? (family === "ipv4" ? 32 : 128));
    const list = new BlockList();
    list.addSubnet(rangeAddr, rangeBits, family);
    return bits >= rangeBits && list.check(addr, family);
}

/** True for any CIDR that reaches beyond private address space (0.0.0.0/0, ::/0, a public /32...). */
export function isPublicCidr(cidr: string): boolean {
    return !privateRanges.some(([addr, bits]) => cidrWithin(cidr, `${addr}/${bits}`));
}

/** True for 0.0.0.0/0 and ::/0, the whole internet. */
export function isAnywhere(cidr: string): boolean {
    return /^(0\.0\.0\.0|::)\/0$/.test(cidr.trim());
}

/** One ingress permission, normalised from the three ways the AWS provider expresses one. */
export interface Ingress {
    protocol: string;
    fromPort: number;
    toPort: number;
    cidrs: string[];
}

/** Reads every ingress permission a resource declares; empty for anything that is not ingress. */
export function ingressOf(type: string, props: Record<string, any>): Ingress[] {
    const fromRule = (r: Record<string, any>, cidrs: unknown[]): Ingress => ({
        protocol: String(r.protocol ?? r.ipProtocol ?? "-1"),
        fromPort: Number(r.fromPort ?? 0),
        toPort: Number(r.toPort ?? r.fromPort ?? 65535),
        cidrs: cidrs.filter((c): c is string => typeof c === "string"),
    });
    switch (type) {
        case Types.securityGroup:
            return ((props.ingress ?? []) as Record<string, any>[]).map((r) =>
                fromRule(r, [...(r.cidrBlocks ?? []), ...(r.ipv6CidrBlocks ?? [])]));
        case Types.securityGroupRule:
            return props.type === "ingress"
                ? [fromRule(props, [...(props.cidrBlocks ?? []), ...(props.ipv6CidrBlocks ?? [])])]
                : [];
        case Types.ingressRule:
            return [fromRule(props, [props.cidrIpv4, props.cidrIpv6])];
        default:
            return [];
    }
}

/** True when the permission lets traffic reach `port` (protocol -1 means every port). */
export function coversPort(ingress: Ingress, port: number): boolean {
    const all = ingress.protocol === "-1" || ingress.protocol.toLowerCase() === "all";
    return all || (ingress.fromPort <= port && port <= ingress.toPort);
}

/** Ports a permission opens, as text for messages. */
function portText(ingress: Ingress): string {
    if (ingress.protocol === "-1") return "all ports";
    return ingress.fromPort === ingress.toPort ? `port ${ingress.fromPort}` : `ports ${ingress.fromPort}-${ingress.toPort}`;
}

/** Parses an IAM policy document given as JSON text or an object; undefined when not (yet) known. */
export function parsePolicyDocument(policy: unknown): { Statement?: unknown } | undefined {
    if (typeof policy === "string") {
        try {
            return JSON.parse(policy);
        } catch {
            return undefined;
        }
    }
    return typeof policy === "object" && policy !== null ? (policy as { Statement?: unknown }) : undefined;
}

/** True when a document has an Allow statement whose Action is the full wildcard (`*` or `*:*`). */
export function grantsEverything(policy: unknown): boolean {
    const doc = parsePolicyDocument(policy);
    const statements = doc?.Statement === undefined ? [] : [doc.Statement].flat();
    return statements.some((s: any) => {
        if (s?.Effect !== "Allow") return false;
        const actions = [s.Action ?? []].flat();
        return actions.some((a: unknown) => a === "*" || a === "*:*");
    });
}

/** True for the AWS-managed AdministratorAccess policy ARN in any partition. */
export function isAdministratorAccess(arn: unknown): boolean {
    return typeof arn === "string" && /^arn:[\w-]+:iam::aws:policy\/AdministratorAccess$/.test(arn);
}

// ---------------------------------------------------------------------------------------------
// Policies

const stringList = (description: string, items: string[]): PolicyConfigSchema["properties"][string] =>
    ({ type: "array", items: { type: "string" }, default: items, description });

/** The DB must only be reachable through the VPC, and its storage encrypted at rest. */
export const rdsNotPublicAndEncrypted: ResourceValidationPolicy = {
    name: "rds-private-and-encrypted",
    description: "RDS databases are not publicly accessible and their storage is encrypted.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== Types.rdsInstance && args.type !== Types.rdsCluster) return;
        if (args.props.publiclyAccessible === true) {
            report(`Database '${args.name}' is publicly accessible. Fix: set publiclyAccessible: false and reach it from the app's security group only.`);
        }
        // Aurora clusters always encrypt when a KMS key is given; instances inside a cluster
        // inherit the cluster's setting, so only stand-alone instances and clusters are checked.
        if (args.type === Types.rdsInstance && args.props.dbClusterIdentifier) return;
        if (args.props.storageEncrypted !== true) {
            report(`Database '${args.name}' has unencrypted storage. Fix: set storageEncrypted: true (optionally with kmsKeyId).`);
        }
    },
};

function deletionProtection(name: string, level: "mandatory" | "advisory", protectedStacks: boolean): ResourceValidationPolicy {
    return {
        name,
        description: protectedStacks
            ? "Databases in protected stacks (prod) have deletion protection."
            : "Databases in other stacks (dev) should have deletion protection.",
        enforcementLevel: level,
        configSchema: {
            properties: {
                protectedStacks: stringList("Stacks whose databases must have deletion protection; the others get an advisory.", ["prod"]),
            },
        },
        validateResource: (args, report) => {
            if (args.type !== Types.rdsInstance && args.type !== Types.rdsCluster) return;
            const { protectedStacks: stacks } = args.getConfig<{ protectedStacks: string[] }>();
            if (stacks.includes(stackOfUrn(args.urn)) !== protectedStacks) return;
            if (args.props.deletionProtection !== true) {
                report(`Database '${args.name}' in stack '${stackOfUrn(args.urn)}' has no deletion protection. Fix: set deletionProtection: true (and a final snapshot).`);
            }
        },
    };
}

/** Prod databases cannot be deleted by a mistaken update. */
export const rdsDeletionProtection = deletionProtection("rds-deletion-protection", "mandatory", true);
/** The same on other stacks, as advice: dev databases are disposable but losing one still hurts. */
export const rdsDeletionProtectionAdvisory = deletionProtection("rds-deletion-protection-advisory", "advisory", false);

/**
 * In a protected stack (prod) the app is served over HTTPS only: a listener that forwards plain
 * HTTP to it would carry logins and sessions in clear text; HTTP may only redirect.
 */
export const albHttpsInProtectedStacks: ResourceValidationPolicy = {
    name: "alb-https-in-protected-stacks",
    description: "Load balancer listeners of protected stacks (prod) forward only HTTPS to the app; plain HTTP only redirects.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            protectedStacks: stringList("Stacks whose load balancers must serve HTTPS only.", ["prod"]),
        },
    },
    validateResource: (args, report) => {
        if (args.type !== "aws:lb/listener:Listener") return;
        const { protectedStacks } = args.getConfig<{ protectedStacks: string[] }>();
        const stack = stackOfUrn(args.urn);
        if (!protectedStacks.includes(stack)) return;
        const protocol = String(args.props.protocol ?? "HTTP").toUpperCase();
        const actions = (args.props.defaultActions ?? []) as Array<{ type?: string }>;
        if (protocol === "HTTP" && actions.some((a) => a.type !== "redirect")) {
            report(`Listener '${args.name}' in stack '${stack}' forwards plain HTTP to the app. Fix: pulumi config set todobackend:certificateArn <ACM certificate ARN> -s ${stack} (HTTPS on 443, 80 redirects to it).`);
        }
    },
};

/** Only the internet-facing load balancer takes traffic from everywhere, and only on 80/443. */
export const noInternetIngress: ResourceValidationPolicy = {
    name: "no-internet-ingress",
    description: "No security group ingress from 0.0.0.0/0 or ::/0 except to the load balancer on 80/443.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            loadBalancerNamePattern: {
                type: "string",
                default: "(^|-)(alb|lb|load-?balancer)(-|$)",
                description: "Regular expression on the resource name identifying the load balancer's security group and rules.",
            },
            allowedPorts: { type: "array", items: { type: "integer" }, default: [80, 443], description: "Ports the load balancer may open to the internet." },
        },
    },
    validateResource: (args, report) => {
        const { loadBalancerNamePattern, allowedPorts } = args.getConfig<{ loadBalancerNamePattern: string; allowedPorts: number[] }>();
        const isLoadBalancer = new RegExp(loadBalancerNamePattern).test(args.name);
        for (const ingress of ingressOf(args.type, args.props)) {
            const open = ingress.cidrs.filter(isAnywhere);
            if (open.length === 0) continue;
            const allowed = isLoadBalancer && ingress.protocol !== "-1" && ingress.fromPort === ingress.toPort &&
                allowedPorts.includes(ingress.fromPort);
            if (!allowed) {
                report(`Security group '${args.name}' allows ${portText(ingress)} from ${open.join(", ")}. ` +
                    `Fix: only the load balancer may accept ${allowedPorts.join("/")} from the internet; ` +
                    `let other resources accept traffic from the load balancer's or app's security group.`);
            }
        }
    },
};

/** Administration goes through SSM Session Manager, never SSH/RDP from public addresses. */
export const noPublicAdminPorts: ResourceValidationPolicy = {
    name: "no-public-ssh-rdp",
    description: "No SSH (22) or RDP (3389) ingress from any public address.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedCidrs: stringList("Public CIDRs allowed to reach SSH/RDP anyway (e.g. a bastion's address); empty by default.", []),
        },
    },
    validateResource: (args, report) => {
        const { allowedCidrs } = args.getConfig<{ allowedCidrs: string[] }>();
        for (const ingress of ingressOf(args.type, args.props)) {
            const ports = [22, 3389].filter((p) => coversPort(ingress, p));
            const offending = ingress.cidrs.filter((c) => isPublicCidr(c) && !allowedCidrs.some((a) => cidrWithin(c, a)));
            if (ports.length > 0 && offending.length > 0) {
                report(`Security group '${args.name}' opens ${ports.map((p) => (p === 22 ? "SSH (22)" : "RDP (3389)")).join(" and ")} ` +
                    `to ${offending.join(", ")}. Fix: remove the rule and use SSM Session Manager, or add the CIDR to this policy's allowedCidrs.`);
            }
        }
    },
};

/** Least privilege: no principal gets AdministratorAccess or an Action "*" grant. */
export const noAdminIam: ResourceValidationPolicy = {
    name: "no-admin-iam",
    description: "No attachment of AdministratorAccess and no IAM statement allowing Action \"*\" (\"*:*\").",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const t = args.type;
        const p = args.props;
        const arns: unknown[] = (Types.policyAttachments as readonly string[]).includes(t) ? [p.policyArn]
            : t === Types.role ? [...(p.managedPolicyArns ?? [])] : [];
        if (arns.some(isAdministratorAccess)) {
            report(`IAM resource '${args.name}' attaches AdministratorAccess. Fix: attach a policy that grants only the actions this role needs.`);
        }
        const documents: unknown[] = (Types.policyDocuments as readonly string[]).includes(t) ? [p.policy]
            : t === Types.role ? (p.inlinePolicies ?? []).map((i: { policy?: unknown }) => i.policy) : [];
        if (documents.some(grantsEverything)) {
            report(`IAM policy '${args.name}' allows Action "*". Fix: list the specific actions (and resources) the principal needs.`);
        }
    },
};

/** Images are scanned for known vulnerabilities the moment they are pushed. */
export const ecrScanOnPush: ResourceValidationPolicy = {
    name: "ecr-scan-on-push",
    description: "ECR repositories scan images on push.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== Types.ecrRepository) return;
        if (args.props.imageScanningConfiguration?.scanOnPush !== true) {
            report(`ECR repository '${args.name}' does not scan on push. Fix: set imageScanningConfiguration: { scanOnPush: true }.`);
        }
    },
};

/** A public access block is only a block when all four switches are on. */
export const s3PublicAccessBlockComplete: ResourceValidationPolicy = {
    name: "s3-public-access-block-complete",
    description: "S3 public access blocks turn on all four settings.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== Types.bucketPublicAccessBlock) return;
        const off = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]
            .filter((k) => args.props[k] !== true);
        if (off.length > 0) {
            report(`Public access block '${args.name}' leaves ${off.join(", ")} off. Fix: set all four to true.`);
        }
    },
};

/** Links a bucket to the resources that configure it: by property dependency, id or name. */
function configures(resource: { props: Record<string, any>; propertyDependencies?: Record<string, { urn: string }[]> },
    bucket: { urn: string; name: string; props: Record<string, any> }): boolean {
    if ((resource.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn)) return true;
    const ref = resource.props.bucket;
    // Where the id is known (an update, or the offline check, which records the mocks' ids).
    const ids = [bucket.props.id, bucket.props.bucket, bucket.name];
    return typeof ref === "string" && ids.includes(ref);
}

/** Every bucket is private and encrypted, which in provider v7 takes separate resources. */
export const s3BucketsPrivateAndEncrypted: StackValidationPolicy = {
    name: "s3-private-and-encrypted",
    description: "S3 buckets have a public access block and server-side encryption.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const buckets = args.resources.filter((r) => (Types.buckets as readonly string[]).includes(r.type));
        for (const bucket of buckets) {
            const blocked = args.resources.some((r) => r.type === Types.bucketPublicAccessBlock && configures(r, bucket));
            if (!blocked) {
                report(`S3 bucket '${bucket.name}' has no public access block. Fix: add an aws.s3.BucketPublicAccessBlock for it with all four settings true.`, bucket.urn);
            }
            const encrypted = bucket.props.serverSideEncryptionConfiguration !== undefined ||
                args.resources.some((r) => (Types.bucketEncryption as readonly string[]).includes(r.type) && configures(r, bucket));
            if (!encrypted) {
                report(`S3 bucket '${bucket.name}' declares no server-side encryption. Fix: add an aws.s3.BucketServerSideEncryptionConfiguration (aws:kms or AES256).`, bucket.urn);
            }
        }
    },
};

/** Docker-in-Docker needs privileged mode; nothing else may run with it. */
export const codebuildPrivilegedOnlyForImageBuild: ResourceValidationPolicy = {
    name: "codebuild-privileged-only-app-build",
    description: "CodeBuild privileged mode only for the Docker-in-Docker app build project.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            privilegedProjectPattern: {
                type: "string",
                default: "(^|-)(app-?build|build)$",
                description: "Regular expression on the name of the project allowed to run privileged: its CodeBuild project name, or its Pulumi resource name when it has none.",
            },
        },
    },
    validateResource: (args, report) => {
        if (args.type !== Types.codebuildProject || args.props.environment?.privilegedMode !== true) return;
        const { privilegedProjectPattern } = args.getConfig<{ privilegedProjectPattern: string }>();
        // The project name is what the pipeline and the console show; the resource name is a
        // program-internal label (the delivery stack's app build is `builds-app`, named `todobackend-build`).
        const projectName = typeof args.props.name === "string" && args.props.name !== "" ? args.props.name : args.name;
        if (!new RegExp(privilegedProjectPattern).test(projectName)) {
            report(`CodeBuild project '${args.name}' runs in privileged mode. Fix: set environment.privilegedMode: false; only the app image build (Docker-in-Docker) needs it.`);
        }
    },
};

/** Tasks live in private subnets behind NAT; a public IP there is useless and widens exposure. */
export const fargateNoPublicIp: ResourceValidationPolicy = {
    name: "fargate-no-public-ip",
    description: "Fargate tasks (in private subnets) get no public IP.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const fargate = args.type === Types.awsxFargateService ||
            (args.type === Types.ecsService && (args.props.launchType === "FARGATE" ||
                (args.props.capacityProviderStrategies ?? []).some((s: { capacityProvider?: string }) => /^FARGATE/.test(s.capacityProvider ?? ""))));
        if (fargate && args.props.networkConfiguration?.assignPublicIp === true) {
            report(`Fargate service '${args.name}' assigns public IPs to its tasks. Fix: set networkConfiguration.assignPublicIp: false; the tasks reach out through the NAT gateway.`);
        }
    },
};

/** Logs cost money forever unless they expire. */
export const logGroupRetention: ResourceValidationPolicy = {
    name: "log-group-retention",
    description: "CloudWatch log groups have a retention period.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== Types.logGroup) return;
        const days = args.props.retentionInDays;
        if (typeof days !== "number" || days <= 0) {
            report(`Log group '${args.name}' keeps logs forever. Fix: set retentionInDays (the environments use 7).`);
        }
    },
};

/** Resource types that take `tags` and that this project creates; others are not checked. */
export const taggedTypes: readonly string[] = [
    Types.rdsInstance, Types.rdsCluster, Types.securityGroup, Types.ecrRepository, Types.codebuildProject,
    Types.ecsService, Types.logGroup, ...Types.buckets, Types.role, Types.ingressRule,
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", "aws:ecs/cluster:Cluster",
    "aws:ecs/taskDefinition:TaskDefinition", "aws:lambda/function:Function",
    "aws:secretsmanager/secret:Secret", "aws:codepipeline/pipeline:Pipeline", "aws:rds/subnetGroup:SubnetGroup",
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "aws:servicediscovery/service:Service",
    "aws:kms/key:Key", "aws:codestarconnections/connection:Connection", "aws:iam/policy:Policy",
    "aws:sns/topic:Topic", "aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/metricAlarm:MetricAlarm",
];

/** Cost reports and ownership rely on the base tags every component receives. */
export const requiredTags: ResourceValidationPolicy = {
    name: "required-tags",
    description: "Taggable resources carry the required tags.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            tags: stringList("Tag keys every taggable resource must carry.", ["ManagedBy", "Project", "Stack"]),
        },
    },
    validateResource: (args, report) => {
        if (!taggedTypes.includes(args.type)) return;
        const { tags } = args.getConfig<{ tags: string[] }>();
        const present = { ...(args.props.tags ?? {}) };
        const missing = tags.filter((k) => !(k in present));
        if (missing.length > 0) {
            report(`Resource '${args.name}' (${args.type}) lacks tag(s) ${missing.join(", ")}. Fix: pass the stack's baseTags as the component's tags.`);
        }
    },
};

export const resourcePolicies: ResourceValidationPolicy[] = [
    rdsNotPublicAndEncrypted, rdsDeletionProtection, rdsDeletionProtectionAdvisory, albHttpsInProtectedStacks, noInternetIngress,
    noPublicAdminPorts, noAdminIam, ecrScanOnPush, s3PublicAccessBlockComplete,
    codebuildPrivilegedOnlyForImageBuild, fargateNoPublicIp, logGroupRetention, requiredTags,
];
export const stackPolicies: StackValidationPolicy[] = [s3BucketsPrivateAndEncrypted];

/** Every policy of the pack, in the order they are reported. */
export const policies: Array<ResourceValidationPolicy | StackValidationPolicy> = [...resourcePolicies, ...stackPolicies];

export type { ReportViolation };
