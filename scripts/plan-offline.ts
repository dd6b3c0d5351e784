// `npm run plan:offline -- <stack> [--config key=value]... [--json]`
//
// What `pulumi preview` would create, without AWS credentials or the Pulumi CLI: evaluates the
// stack's program under Pulumi's runtime mocks (scripts/offline/evaluate.ts) and prints every
// resource by component with its key settings, then the stack outputs. The awsx VPC's children,
// which the mocks cannot evaluate, are listed from awsx's source (scripts/offline/awsxVpc.ts), as
// the offline policy check counts them. Values only AWS knows (IDs, ARNs, DNS names, the AMI) are
// the mocks' stand-ins and are marked †. `--json` prints the resources instead, in the format
// `npm run policy:offline -- <stack> --resources <file>` reads.
import { parseArgs } from "node:util";
import { withAwsxChildren } from "./offline/awsxVpc";
import { EvaluatedResource, Evaluation, evaluateStackFull, overrideFix } from "./offline/evaluate";
import { MOCK_VALUE } from "./offline/mocks";

const PLAN_OPTIONS = { config: { type: "string", multiple: true }, json: { type: "boolean" } } as const;

type Inputs = Record<string, any>;
/** Turns a mock ID into the physical name of the resource it belongs to, for readable references. */
type Resolve = (id: unknown) => string;

const ports = (i: Inputs) => (i.fromPort === i.toPort ? `${i.fromPort}` : `${i.fromPort}-${i.toPort}`);
const list = (v: unknown) => (Array.isArray(v) ? v.join(",") : String(v ?? ""));
const json = (v: unknown): any => (typeof v === "string" ? (() => { try { return JSON.parse(v); } catch { return v; } })() : v);

/** The settings worth reading for each resource type; the name alone for the rest. */
const SUMMARIES: Record<string, (i: Inputs, ref: Resolve) => string> = {
    "awsx:ec2:Vpc": (i) => `cidr=${i.cidrBlock} azs=${i.numberOfAvailabilityZones} nat=${i.natGateways?.strategy}`,
    "aws:ec2/securityGroup:SecurityGroup": (i) => `${i.name}`,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (i, ref) => `${ref(i.securityGroupId)} in ${i.ipProtocol} ${ports(i)} from ${i.cidrIpv4 ?? ref(i.referencedSecurityGroupId)}`,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (i, ref) => `${ref(i.securityGroupId)} out ${i.ipProtocol} ${ports(i)} to ${i.cidrIpv4 ?? ref(i.referencedSecurityGroupId)}`,
    "aws:lb/loadBalancer:LoadBalancer": (i) => `${i.name} ${i.internal ? "internal" : "internet-facing"} idle=${i.idleTimeout}s subnets=${list(i.subnets)}`,
    "aws:lb/targetGroup:TargetGroup": (i) => `${i.name} ${i.protocol}:${i.port} ${i.targetType} deregistration=${i.deregistrationDelay}s`,
    "aws:lb/listener:Listener": (i) => `${i.protocol}:${i.port} → ${(i.defaultActions ?? []).map((a: Inputs) => a.type).join(",")}`,
    "aws:rds/instance:Instance": (i) => `${i.identifier} ${i.engine} ${i.engineVersion} ${i.instanceClass} ${i.allocatedStorage}GiB ${i.storageType}` +
        ` encrypted=${i.storageEncrypted} public=${i.publiclyAccessible} multiAz=${i.multiAz} backups=${i.backupRetentionPeriod}d` +
        ` deletionProtection=${i.deletionProtection} finalSnapshot=${!i.skipFinalSnapshot} managedPassword=${i.manageMasterUserPassword}`,
    "aws:rds/subnetGroup:SubnetGroup": (i) => `${i.name} subnets=${list(i.subnetIds)}`,
    "aws:ecs/cluster:Cluster": (i) => `${i.name}`,
    "aws:ec2/launchTemplate:LaunchTemplate": (i) => `${i.name} ${i.instanceType} ami=${i.imageId} imds=${i.metadataOptions?.httpTokens === "required" ? "v2-only" : "v1+v2"}` +
        ` keyPair=${i.keyName ?? "none"}`,
    "aws:autoscaling/group:Group": (i) => `${i.name} size=${i.minSize}-${i.maxSize} subnets=${list(i.vpcZoneIdentifiers)} scaleInProtection=${i.protectFromScaleIn}`,
    "aws:ecs/capacityProvider:CapacityProvider": (i) => `${i.name} managedScaling=${i.autoScalingGroupProvider?.managedScaling?.status}` +
        ` target=${i.autoScalingGroupProvider?.managedScaling?.targetCapacity}% terminationProtection=${i.autoScalingGroupProvider?.managedTerminationProtection}`,
    "aws:iam/role:Role": (i) => `${i.name ?? ""} trusts ${list([json(i.assumeRolePolicy)?.Statement ?? []].flat().map((s: Inputs) => s?.Principal?.Service ?? s?.Principal?.AWS))}`,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (i) => `${i.role} ← ${i.policyArn}`,
    "aws:iam/rolePolicy:RolePolicy": (i, ref) => `${ref(i.role)}: ${statements(i.policy)}`,
    "aws:iam/policy:Policy": (i) => `${i.name ?? ""}: ${statements(i.policy)}`,
    "aws:ec2/vpc:Vpc": (i) => `cidr=${i.cidrBlock}`,
    "aws:ec2/subnet:Subnet": (i) => `${i.mapPublicIpOnLaunch ? "public" : "private"}`,
    "aws:ec2/route:Route": (i) => `${i.destinationCidrBlock} → ${i.gatewayId ?? i.natGatewayId}`,
    "aws:ecs/taskDefinition:TaskDefinition": (i) => `${i.family} ${list(i.requiresCompatibilities) || "EC2"} network=${i.networkMode ?? "bridge"}` +
        `${i.cpu ? ` cpu=${i.cpu} memory=${i.memory}` : ""} containers=${list((json(i.containerDefinitions) ?? []).map((c: Inputs) => c.name))}`,
    "aws:ecs/service:Service": (i) => `${i.name} desired=${i.desiredCount} ${i.launchType ?? (i.capacityProviderStrategies ?? []).map((s: Inputs) => s.capacityProvider).join(",")}` +
        ` deployment=${i.deploymentMinimumHealthyPercent}/${i.deploymentMaximumPercent}`,
    "aws:cloudwatch/logGroup:LogGroup": (i) => `${i.name} retention=${i.retentionInDays}d`,
    "aws:lambda/function:Function": (i) => `${i.name ?? ""} ${i.runtime} timeout=${i.timeout}s`,
    "aws:appautoscaling/target:Target": (i) => `${i.resourceId} ${i.minCapacity}-${i.maxCapacity}`,
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": (i) => `${i.name}`,
    "aws:servicediscovery/service:Service": (i) => `${i.name} ${(i.dnsConfig?.dnsRecords ?? []).map((r: Inputs) => `${r.type} ttl=${r.ttl}`).join(",")}`,
    "pulumi:pulumi:StackReference": (i) => `${i.name}`,
};

/** An IAM policy's statements as `Allow a,b on r1,r2 [if k=v]`, one after the other. */
export function statements(policy: unknown): string {
    return [json(policy)?.Statement ?? []].flat().map((s: Inputs) => {
        const condition = s.Condition ? ` if ${Object.entries(s.Condition as Record<string, Record<string, unknown>>)
            .flatMap(([op, kv]) => Object.entries(kv).map(([k, v]) => `${k} ${op} ${list(v)}`)).join(" and ")}` : "";
        return `${s.Effect ?? "Allow"} ${list(s.Action)} on ${list(s.Resource)}${condition}`;
    }).join(" | ");
}

/** `text` with every value the mocks made up marked †. */
export function markMockValues(text: string): string {
    return text.replace(new RegExp(MOCK_VALUE.source, "g"), (m) => `${m}†`);
}

/** One line of settings for a resource. */
export function summarize(r: EvaluatedResource, ref: Resolve = String): string {
    const summary = SUMMARIES[r.type];
    if (summary) return summary(r.inputs, ref).trim();
    return typeof r.inputs.name === "string" ? r.inputs.name : "";
}

/** The inventory as text: components in declaration order, their children indented beneath. */
export function renderInventory(stack: string, evaluation: Evaluation): string {
    const { outputs, secretOutputs } = evaluation;
    const resources = withAwsxChildren(evaluation.resources);
    const children = new Map<string | undefined, EvaluatedResource[]>();
    for (const r of resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
    const known = new Set(resources.map((r) => r.urn));
    const names = new Map(resources.filter((r) => r.id).map((r) => [r.id, typeof r.inputs.name === "string" ? r.inputs.name : r.name]));
    const ref: Resolve = (id) => names.get(String(id)) ?? String(id);
    const lines = [`Stack '${stack}' under mocks: ${resources.filter((r) => r.custom !== false).length} resources in ` +
        `${resources.filter((r) => r.custom === false).length} components.`, ""];
    const walk = (r: EvaluatedResource, depth: number) => {
        const settings = summarize(r, ref);
        const listed = "synthesized" in r ? "  (listed from awsx, not evaluated)" : "";
        lines.push(`${"  ".repeat(depth)}${r.type} ${r.name}${settings ? `  ${markMockValues(settings)}` : ""}${r.secretPaths ? `  [secret: ${r.secretPaths.join(", ")}]` : ""}${listed}`);
        for (const c of children.get(r.urn) ?? []) walk(c, depth + 1);
    };
    for (const r of resources.filter((x) => !x.parent || !known.has(x.parent))) walk(r, 0);
    lines.push("", "Outputs:");
    for (const [k, v] of Object.entries(outputs)) lines.push(`  ${k}: ${secretOutputs.includes(k) ? "[secret]" : markMockValues(JSON.stringify(v))}`);
    lines.push("", "† made up by the mocks (IDs, the account, the AMI, generated suffixes); `pulumi preview` with AWS credentials shows the real values.");
    return lines.join("\n");
}

/** `r` with the value at each of its secret paths replaced by "[secret]". */
export function maskSecrets(r: EvaluatedResource): EvaluatedResource {
    const inputs = structuredClone(r.inputs);
    for (const p of r.secretPaths ?? []) {
        const keys = p.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== "");
        let node: any = inputs;
        for (const k of keys.slice(0, -1)) node = node?.[k];
        if (node && keys.length > 0) node[keys[keys.length - 1]] = "[secret]";
    }
    return { ...r, inputs };
}

export function parsePlanArgs(argv: string[]): { stack: string; config: Record<string, string>; json: boolean } {
    const usage = "usage: npm run plan:offline -- <stack> [--config key=value]... [--json]";
    let parsed: ReturnType<typeof parseArgs<{ allowPositionals: true; options: typeof PLAN_OPTIONS }>>;
    try {
        parsed = parseArgs({ args: argv, allowPositionals: true, options: PLAN_OPTIONS });
    } catch (e) {
        throw new Error(`${(e as Error).message}. ${usage}`);
    }
    const [stack, ...extra] = parsed.positionals;
    if (!stack) throw new Error(`no stack given (dev, prod or delivery). ${usage}`);
    if (extra.length > 0) throw new Error(`unexpected argument '${extra[0]}'. ${usage}`);
    const config: Record<string, string> = {};
    for (const pair of parsed.values.config ?? []) {
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new Error(`--config needs key=value, got '${pair}'. ${usage}`);
        config[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    return { stack, config, json: parsed.values.json ?? false };
}

async function main(): Promise<number> {
    let args: ReturnType<typeof parsePlanArgs>;
    try {
        args = parsePlanArgs(process.argv.slice(2));
    } catch (e) {
        console.error((e as Error).message);
        return 2;
    }
    let evaluation: Evaluation;
    try {
        evaluation = await evaluateStackFull(args.stack, { config: args.config });
    } catch (e) {
        throw new Error(overrideFix((e as Error).message, args.stack, args.config));
    }
    console.log(args.json ? JSON.stringify(withAwsxChildren(evaluation.resources).map(maskSecrets), null, 2) : renderInventory(args.stack, evaluation));
    return 0;
}

if (require.main === module) {
    main().then((code) => process.exit(code), (e: unknown) => {
        console.error(`plan:offline failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
    });
}
