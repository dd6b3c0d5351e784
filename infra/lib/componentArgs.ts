// The arguments every environment component takes (securityGroups.ts, loadBalancer.ts, ...,
// composed by environment.ts): where its physical names start, and the stack's tags.
import { TagsInput } from "../config/common";

export interface EnvironmentComponentArgs {
    /**
     * The start of every physical name the component makes: the environment's name, e.g.
     * `todobackend-dev` → `todobackend-dev-alb`. Checked by `validateNamePrefix` (lib/naming.ts)
     * before anything is registered; each component's args say what it derives and how long the
     * prefix may be.
     */
    readonly namePrefix: string;
    /**
     * The stack's base tags (ManagedBy/Project/Stack/Environment), possibly still Outputs. Every
     * taggable child carries them, plus `Name: <namePrefix>-<role>` where the child has a name
     * tag of its own (lib/tags.ts). @default - none
     */
    readonly tags?: TagsInput;
}
