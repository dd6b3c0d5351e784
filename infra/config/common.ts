// Names and tags every environment resource shares. Physical names derive from the stack
// (`todobackend-dev-cluster`, `todobackend-prod-cluster`) so dev and prod coexist in one account
// (book §8.2, whose stacks were `todobackend-dev` and `todobackend-prod`).
import type * as pulumi from "@pulumi/pulumi";

export const PROJECT = "todobackend";

/** The environment's name prefix: `todobackend-<stack>`, the book's CloudFormation stack name. */
export function environmentName(stack: string): string {
    return `${PROJECT}-${stack}`;
}

/** A physical name `<envName>-<suffix>`, refused when AWS's `maxLength` for that kind would cut it. */
export function physicalName(envName: string, suffix: string, maxLength = 255): string {
    const name = suffix ? `${envName}-${suffix}` : envName;
    if (name.length > maxLength) {
        throw new Error(`the name "${name}" is longer than the ${maxLength} characters AWS allows here. Fix: use a shorter stack name`);
    }
    return name;
}

export type Tags = Record<string, string>;

/** Tags as a component arg: the stack's base tags, possibly still unresolved. */
export type TagsInput = pulumi.Input<Record<string, pulumi.Input<string>>>;

/**
 * The tags the policy pack's `required-tags` demands (ManagedBy, Project, Stack) plus Environment.
 * Components receive them as args and put them on each taggable child's own `tags`, since
 * provider `defaultTags` are invisible to policies that read a resource's inputs.
 */
export function baseTags(stack: string, environment: string): Tags {
    return { Project: PROJECT, Stack: stack, Environment: environment, ManagedBy: "pulumi" };
}
