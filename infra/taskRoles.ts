// The pair of IAM roles every ECS task definition here has.
// A helper rather than a component: the roles belong to the component that owns the task.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { TagsInput } from "./config/common";
import { assumeRolePolicy } from "./lib/deliveryIam";
import { environmentRolePath } from "./lib/naming";
import { namedTags } from "./lib/tags";


export interface TaskRolesArgs {
    /** Start of the role names (the component's `namePrefix`); also their IAM path `/<namePrefix>/`. */
    namePrefix: string;
    /** Middle part of the role names: `<namePrefix>-<kind>-execution`, `<namePrefix>-<kind>-task`. */
    kind: string;
    /** Policy of the role ECS uses to start the task (image pull, logs, secrets). */
    executionPolicy: pulumi.Input<string>;
    /** Policy of the role the task's code runs as. */
    taskPolicy: pulumi.Input<string>;
    tags?: TagsInput;
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
    const tags = namedTags(args.tags, args.namePrefix);
    const assume = JSON.stringify(assumeRolePolicy("ecs-tasks.amazonaws.com"));
    const role = (suffix: string, policy: pulumi.Input<string>) => {
        const r = new aws.iam.Role(`${name}-${suffix}`, {
            name: `${args.namePrefix}-${args.kind}-${suffix}`, path: environmentRolePath(args.namePrefix), assumeRolePolicy: assume, permissionsBoundary: args.permissionsBoundary,
            tags: tags(`${args.kind}-${suffix}`),
        }, { parent });
        return { role: r, policy: new aws.iam.RolePolicy(`${name}-${suffix}`, { role: r.id, policy }, { parent }) };
    };
    const execution = role("execution", args.executionPolicy);
    return { executionRole: execution.role, executionPolicy: execution.policy, taskRole: role("task", args.taskPolicy).role };
}
