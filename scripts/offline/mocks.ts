// Realistic mock state for the AWS resources and invokes this program uses. Under
// `pulumi.runtime.setMocks` a resource's outputs are whatever we return here, so components that
// read `vpc.privateSubnetIds`, `db.endpoint` or a StackReference's outputs see values shaped like
// the real provider's rather than echoes of their own inputs.
import type { MockCallArgs, MockCallResult, MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime";

export const MOCK_ACCOUNT = "123456789012";

/**
 * Values only the mocks make up (ids, the account, the AMI, digests, generated suffixes): the
 * offline plan marks them so nobody mistakes them for what AWS will answer.
 */
export const MOCK_VALUE = new RegExp([
    MOCK_ACCOUNT, "\\b[\\w-]+-id\\b", "\\bsubnet-(?:public|private)-\\d+\\b", "\\bvpc-[\\w-]+\\b", "\\bami-0123456789abcdef0\\b",
    "0123456789abcdef", "abcdefghijkl", "-1234567890(?=\\.)", "sha256:(?:ab)+", "AbCdEf", "-version-1\\b", "Z0123456789MOCK", "mock-random-[\\w-]+", "mock-deployed-1", "\\bigw-1\\b", "\\b(?:eipalloc|nat|rtb|rtbassoc|r)-[\\w-]+\\b",
].join("|"));

/** Outputs of the delivery stack as an environment stack's StackReference sees them. */
export function deliveryOutputs(region: string): Record<string, unknown> {
    const registry = `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com`;
    return {
        appRepositoryUrl: `${registry}/docker-in-aws/todobackend`,
        xrayImage: `${registry}/docker-in-aws/xray@sha256:${"ab".repeat(32)}`,
        xrayRepositoryUrl: `${registry}/docker-in-aws/xray`,
        buildImageRepositoryUrl: `${registry}/docker-in-aws/codebuild`,
        environmentRoleBoundaryArns: Object.fromEntries(["dev", "prod"].map((env) => [env, `arn:aws:iam::${MOCK_ACCOUNT}:policy/todobackend-${env}-boundary`])),
    };
}

/** "aws:ecs/service:Service" → "ecs"; ARNs carry the real service prefix. */
function arnService(type: string): string {
    const mod = /^aws:([a-z0-9]+)\//.exec(type)?.[1] ?? "mock";
    return ({ alb: "elasticloadbalancing", lb: "elasticloadbalancing", cloudwatch: "logs", autoscaling: "autoscaling",
        servicediscovery: "servicediscovery", secretsmanager: "secretsmanager", appautoscaling: "application-autoscaling" } as Record<string, string>)[mod] ?? mod;
}

/** The tag a stack's own StackReference reports as deployed (its output appImageTag) under the mocks. */
export const MOCK_DEPLOYED_TAG = "mock-deployed-1";

export interface MockOptions {
    region: string;
    /** The stack evaluated: a StackReference to itself reads its deployed tag. */
    stack?: string;
    /** StackReference outputs by referenced stack name; unlisted names get `deliveryOutputs`. */
    stackOutputs?: Record<string, Record<string, unknown>>;
}

export function createMocks(opts: MockOptions) {
    const { region } = opts;
    const arn = (type: string, name: string) => `arn:aws:${arnService(type)}:${region}:${MOCK_ACCOUNT}:${name}`;
    // The resource part of an ARN as AWS forms it, for the types whose policies are checked with
    // an IAM evaluator (test/infra/iam), which refuses ARNs of the wrong shape.
    const resourceArn = (type: string, name: string, inputs: Record<string, any>): string => {
        const path = typeof inputs.path === "string" ? inputs.path : "/";
        switch (type) {
            case "aws:iam/role:Role": return `arn:aws:iam::${MOCK_ACCOUNT}:role${path}${name}`;
            case "aws:iam/instanceProfile:InstanceProfile": return `arn:aws:iam::${MOCK_ACCOUNT}:instance-profile${path}${name}`;
            case "aws:iam/policy:Policy": return `arn:aws:iam::${MOCK_ACCOUNT}:policy${path}${name}`;
            case "aws:cloudwatch/logGroup:LogGroup": return arn(type, `log-group:${name}`);
            case "aws:ecs/cluster:Cluster": return arn(type, `cluster/${name}`);
            case "aws:ecs/capacityProvider:CapacityProvider": return arn(type, `capacity-provider/${name}`);
            case "aws:ecr/repository:Repository": return arn(type, `repository/${name}`);
            case "aws:lambda/function:Function": return arn(type, `function:${name}`);
            case "aws:codebuild/project:Project": return arn(type, `project/${name}`);
            case "aws:codestarconnections/connection:Connection": return `arn:aws:codestar-connections:${region}:${MOCK_ACCOUNT}:connection/${name}`;
            case "aws:kms/key:Key": return arn(type, `key/${name}`);
            case "aws:rds/instance:Instance": return arn(type, `db:${inputs.identifier ?? name}`);
            case "aws:rds/subnetGroup:SubnetGroup": return arn(type, `subgrp:${name}`);
            case "aws:lb/loadBalancer:LoadBalancer": return arn(type, `loadbalancer/app/${name}/0123456789abcdef`);
            case "aws:lb/targetGroup:TargetGroup": return arn(type, `targetgroup/${name}/0123456789abcdef`);
            case "aws:cloudwatch/eventRule:EventRule": return `arn:aws:events:${region}:${MOCK_ACCOUNT}:rule/${name}`;
            case "aws:cloudwatch/metricAlarm:MetricAlarm": return `arn:aws:cloudwatch:${region}:${MOCK_ACCOUNT}:alarm:${name}`;
            default: return arn(type, name);
        }
    };
    const azs = ["a", "b", "c"].map((s) => `${region}${s}`);

    function newResource(a: MockResourceArgs): MockResourceResult {
        const inputs = a.inputs ?? {};
        const name: string = typeof inputs.name === "string" ? inputs.name : a.name;
        const id = `${a.name}-id`;
        const state: Record<string, unknown> = { ...inputs, arn: resourceArn(a.type, name, inputs), name };
        switch (a.type) {
            case "pulumi:pulumi:StackReference":
                return { id: inputs.name, state: { name: inputs.name, secretOutputNames: [], outputs: opts.stackOutputs?.[inputs.name]
                    ?? (opts.stack && inputs.name.endsWith(`/${opts.stack}`) ? { appImageTag: MOCK_DEPLOYED_TAG } : deliveryOutputs(region)) } };
            case "awsx:ec2:Vpc": {
                const n = Number(inputs.numberOfAvailabilityZones ?? (inputs.availabilityZoneNames?.length || 2));
                const ids = (kind: string) => Array.from({ length: n }, (_, i) => `subnet-${kind}-${i}`);
                Object.assign(state, { vpcId: `vpc-${a.name}`, publicSubnetIds: ids("public"), privateSubnetIds: ids("private"), isolatedSubnetIds: [] });
                break;
            }
            case "aws:lb/loadBalancer:LoadBalancer":
                Object.assign(state, { dnsName: `${name}-1234567890.${region}.elb.amazonaws.com`, arnSuffix: `app/${name}/0123456789abcdef`, zoneId: "Z35SXDOTRQ7X7K" });
                break;
            case "aws:lb/targetGroup:TargetGroup":
                state.arnSuffix = `targetgroup/${name}/0123456789abcdef`;
                break;
            case "aws:rds/instance:Instance": {
                const address = `${inputs.identifier ?? a.name}.abcdefghijkl.${region}.rds.amazonaws.com`;
                Object.assign(state, { address, port: inputs.port ?? 3306, endpoint: `${address}:${inputs.port ?? 3306}`,
                    masterUserSecrets: inputs.manageMasterUserPassword
                        ? [{ secretArn: `arn:aws:secretsmanager:${region}:${MOCK_ACCOUNT}:secret:rds!db-${a.name}-AbCdEf`, secretStatus: "active", kmsKeyId: "" }]
                        : [] });
                break;
            }
            case "aws:secretsmanager/secretVersion:SecretVersion":
                state.versionId = `${a.name}-version-1`;
                break;
            case "aws:secretsmanager/secret:Secret": {
                // A name prefix gets a generated suffix from the provider, then Secrets Manager's own.
                const secretName = typeof inputs.namePrefix === "string" ? `${inputs.namePrefix}0123456789abcdef` : name;
                Object.assign(state, { name: secretName, arn: `arn:aws:secretsmanager:${region}:${MOCK_ACCOUNT}:secret:${secretName}-AbCdEf` });
                break;
            }
            case "aws:ecr/repository:Repository":
                state.repositoryUrl = `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${inputs.name}`;
                break;
            case "aws:s3/bucket:Bucket":
            case "aws:s3/bucketV2:BucketV2":
                state.bucket = inputs.bucket ?? `${a.name}-bucket`;
                // S3 ARNs carry neither region nor account.
                state.arn = `arn:aws:s3:::${state.bucket}`;
                break;
            case "aws:kms/key:Key":
                state.keyId = "key-1";
                break;
            case "awsx:ecr:Image":
                state.imageUri = `${inputs.repositoryUrl}@sha256:abc`;
                break;
            case "aws:ec2/launchTemplate:LaunchTemplate":
                Object.assign(state, { latestVersion: 1, defaultVersion: 1 });
                break;
            case "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace":
                state.hostedZone = "Z0123456789MOCK";
                break;
            case "aws:lambda/function:Function":
                state.invokeArn = `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${state.arn}/invocations`;
                break;
            case "aws:lambda/invocation:Invocation":
                state.result = JSON.stringify({ exitCode: 0 });
                break;
            case "random:index/randomPassword:RandomPassword":
                // The random provider makes the value once, at create; the mock's stand-in names its resource.
                state.result = `mock-random-${a.name}`;
                break;
            case "aws:ecs/taskDefinition:TaskDefinition":
                Object.assign(state, { arn: arn(a.type, `task-definition/${inputs.family}:1`), revision: 1 });
                break;
        }
        return { id, state };
    }

    function call(a: MockCallArgs): MockCallResult {
        const inputs = a.inputs ?? {};
        switch (a.token) {
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                return { id: region, names: azs, zoneIds: azs.map((_, i) => `use1-az${i + 1}`), state: "available" };
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { id: MOCK_ACCOUNT, accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/mock`, userId: "AIDAMOCK" };
            case "aws:index/getRegion:getRegion":
                return { id: region, name: region, region, description: region, endpoint: `ec2.${region}.amazonaws.com` };
            case "aws:index/getPartition:getPartition":
                return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
            case "aws:ssm/getParameter:getParameter":
                return { id: inputs.name, name: inputs.name, type: "String", value: "ami-0123456789abcdef0", insecureValue: "ami-0123456789abcdef0",
                    arn: `arn:aws:ssm:${region}::parameter${inputs.name}`, version: 1, withDecryption: true };
            case "aws:secretsmanager/getRandomPassword:getRandomPassword":
                return { ...inputs, id: "random", randomPassword: "mock-random-password-0123456789abcdef" };
            case "aws:ec2/getVpc:getVpc":
                return { id: inputs.id ?? "vpc-default", cidrBlock: "172.31.0.0/16", arn: arn("aws:ec2/", `vpc/${inputs.id}`) };
            default:
                return inputs;
        }
    }

    return { newResource, call };
}
