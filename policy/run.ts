// Runs the pack's policies in-process over a list of resources, the way the Pulumi engine's
// analyzer would: config defaults from each policy's schema, overrides in the CLI's
// `--policy-pack-config` format, and enforcement levels per policy. The offline check and the
// tests share it so both exercise exactly the policy objects the pack serves.
import type {
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { policies as packPolicies } from "./policies";

/** A resource as a program declares it: what the offline evaluation yields. */
export interface DeclaredResource {
    type: string;
    name: string;
    urn: string;
    parent?: string;
    inputs: Record<string, unknown>;
    /** The ID the mocks gave it, when the evaluation records one; lets stack policies link resources by ID. */
    id?: string;
}

/**
 * Policy config in the format of `pulumi preview --policy-pack-config <file>`: per policy name
 * (or `all`) either an enforcement level or an object with `enforcementLevel` and config values.
 */
export type PackConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

export interface Violation {
    policy: string;
    enforcementLevel: EnforcementLevel;
    resource?: { name: string; type: string; urn: string };
    message: string;
}

type AnyPolicy = ResourceValidationPolicy | StackValidationPolicy;

/** The enforcement level and config values a policy runs with under `config`. */
export function resolvePolicyConfig(policy: AnyPolicy, config: PackConfig = {}): { level: EnforcementLevel; values: Record<string, unknown> } {
    const defaults = Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {})
        .filter(([, schema]) => "default" in schema)
        .map(([key, schema]) => [key, (schema as { default: unknown }).default]));
    const entry = (e: PackConfig[string] | undefined) => (typeof e === "string" ? { enforcementLevel: e } : e ?? {});
    const { enforcementLevel: allLevel } = entry(config.all);
    const { enforcementLevel, ...values } = entry(config[policy.name]);
    const unknownKeys = Object.keys(values).filter((k) => !(k in (policy.configSchema?.properties ?? {})));
    if (unknownKeys.length > 0) {
        throw new Error(`policy config for '${policy.name}' has unknown key(s) ${unknownKeys.join(", ")}; ` +
            `known: ${Object.keys(policy.configSchema?.properties ?? {}).join(", ") || "none"}`);
    }
    return { level: enforcementLevel ?? allLevel ?? policy.enforcementLevel ?? "advisory", values: { ...defaults, ...values } };
}

class NotApplicable extends Error {}

/** Runs every policy over `resources` and returns the violations, mandatory and advisory alike. */
export async function runPolicies(resources: DeclaredResource[], options: { config?: PackConfig; policies?: AnyPolicy[] } = {}): Promise<Violation[]> {
    const violations: Violation[] = [];
    const stackTags: ReadonlyMap<string, string> = new Map();
    const notApplicable = (reason?: string): never => { throw new NotApplicable(reason); };
    const unsupported = (): never => { throw new Error("isType/asType are not available offline; compare args.type"); };
    const opts = { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] };

    const byUrn = new Map<string, PolicyResource>();
    const policyResources: PolicyResource[] = resources.map((r) => {
        const pr = {
            type: r.type, name: r.name, urn: r.urn, opts,
            // Bridged providers report `id` among a resource's outputs; offline we only have the mock's.
            props: (r.id === undefined ? r.inputs : { id: r.id, ...r.inputs }) as Record<string, any>,
            dependencies: [], propertyDependencies: {}, isType: unsupported, asType: unsupported,
        } as unknown as PolicyResource;
        byUrn.set(r.urn, pr);
        return pr;
    });
    resources.forEach((r, i) => {
        if (r.parent) (policyResources[i] as { parent?: PolicyResource }).parent = byUrn.get(r.parent);
    });

    for (const policy of options.policies ?? packPolicies) {
        const { level, values } = resolvePolicyConfig(policy, options.config);
        if (level === "disabled") continue;
        const getConfig = <T extends object>() => values as T;
        try {
            if ("validateResource" in policy && policy.validateResource) {
                const validations = [policy.validateResource].flat();
                for (const r of policyResources) {
                    const args = { ...r, stackTags, getConfig, notApplicable } as unknown as ResourceValidationArgs;
                    const report = (message: string) => violations.push({
                        policy: policy.name, enforcementLevel: level, resource: { name: r.name, type: r.type, urn: r.urn }, message,
                    });
                    for (const validate of validations) {
                        try {
                            await validate(args, report);
                        } catch (e) {
                            if (!(e instanceof NotApplicable)) throw e;
                        }
                    }
                }
            }
            if ("validateStack" in policy && policy.validateStack) {
                const args: StackValidationArgs = { resources: policyResources, stackTags, getConfig, notApplicable };
                await policy.validateStack(args, (message, urn) => {
                    const r = urn ? byUrn.get(urn) : undefined;
                    violations.push({ policy: policy.name, enforcementLevel: level, resource: r && { name: r.name, type: r.type, urn: r.urn }, message });
                });
            }
        } catch (e) {
            if (!(e instanceof NotApplicable)) throw e;
        }
    }
    return violations;
}
