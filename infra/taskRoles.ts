// The pair of IAM roles every ECS task definition here has, and the tag helper its components share.
// A helper rather than a component: the roles belong to the component that owns the task.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { TagsInput } from "./config/common";
import { assumeRolePolicy } from "./lib/deliveryIam";
import { environmentRolePath } from "./lib/environmentDeployIam";


/** `tags` plus `Name: <envName>-<role>`, for a component's children. */
export function namedTags(tags: TagsInput, envName: pulumi.Input<string>): (role: string) => pulumi.Output<Record<string, string>> {
    return (role) => pulumi.all([tags, envName]).apply(([t, env]): Record<string, string> => ({ ...t, Name: `${env}-${role}` }));
}

export interface TaskRolesArgs {
    envName: pulumi.Input<string>;
    /** Middle part of the role names: `<envName>-<kind>-execution`, `<envName>-<kind>-task`. */
    kind: string;
    /** Policy of the role ECS uses to start the task (image pull, logs, secrets). */
    executionPolicy: pulumi.Input<string>;
    /** Policy of the role the task's code runs as. */
    taskPolicy: pulumi.Input<string>;
    tags: TagsInput;
    /**
     * Permissions boundary of the roles this component creates (the delivery stack's
     * `environmentRoleBoundaryArns[<stack>]`, which its deploy role requires). @default - none
     */
    permissionsBoundary?: pulumi.Input<string>;
}

export interface TaskRoles {
    executionRole: aws.iam.Role;
    executionPolicy: aws.iam.RolePolicy;
    taskRole: aws.iam.Role;
}

/** Two roles trusted only by ECS tasks, each with its inline policy, as children `<name>-execution` and `<name>-task` of `parent`. */
export function taskRoles(name: string, args: TaskRolesArgs, parent: pulumi.Resource): TaskRoles {
    const tags = namedTags(args.tags, args.envName);
    const assume = JSON.stringify(assumeRolePolicy("ecs-tasks.amazonaws.com"));
    const role = (suffix: string, policy: pulumi.Input<string>) => {
        const r = new aws.iam.Role(`${name}-${suffix}`, {
            name: pulumi.interpolate`${args.envName}-${args.kind}-${suffix}`, path: pulumi.output(args.envName).apply(environmentRolePath), assumeRolePolicy: assume, permissionsBoundary: args.permissionsBoundary,
            tags: tags(`${args.kind}-${suffix}`),
        }, { parent });
        return { role: r, policy: new aws.iam.RolePolicy(`${name}-${suffix}`, { role: r.id, policy }, { parent }) };
    };
    const execution = role("execution", args.executionPolicy);
    return { executionRole: execution.role, executionPolicy: execution.policy, taskRole: role("task", args.taskPolicy).role };
}
