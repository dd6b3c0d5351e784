// How components name what they make: the one rule for a name prefix, and the IAM path an
// environment's roles live under (which the deploy roles are fenced to, environmentDeployIam.ts).

/**
 * The one rule for a component's `namePrefix`: the start of every physical name it makes
 * (`todobackend-dev` → `todobackend-dev-alb`). Letters, digits and hyphens (the narrowest set the
 * names share: ALB and target group names allow no more), starting with a letter, at most
 * `maxLength` so the longest name the component derives still fits AWS's limit.
 */
export function validateNamePrefix(arg: string, value: string, opts: { maxLength: number; component?: string }): void {
    const who = opts.component ? `${opts.component}: ` : "";
    if (typeof value !== "string" || !/^[A-Za-z][A-Za-z0-9-]*$/.test(value)) {
        throw new Error(`${who}\`${arg}\` "${String(value)}" must start with a letter and hold only letters, digits and hyphens. Fix: use a stack name like "dev" or "prod-eu"`);
    }
    if (value.length > opts.maxLength) {
        throw new Error(`${who}\`${arg}\` "${value}" is longer than ${opts.maxLength} characters, so the names made from it would exceed AWS's limits. Fix: use a shorter stack name`);
    }
}

/** IAM path of an environment's roles and instance profiles: `/todobackend-dev/`. */
export function environmentRolePath(envName: string): string {
    if (!/^[A-Za-z0-9+=,.@_-]+$/.test(envName)) {
        throw new Error(`envName "${envName}" cannot be an IAM path segment. Fix: use letters, digits and + = , . @ _ - only`);
    }
    return `/${envName}/`;
}
