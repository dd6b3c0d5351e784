// The arguments every component takes (test/infra/contract.test.ts holds each component's args to
// extending one of these): the stack's tags, and for a component that makes physical names, where
// those names start. Two levels, not one: the network, a private bucket and the delivery images
// let Pulumi or awsx name what they make, and a `namePrefix` they ignored would mislead.
import { TagsInput } from "../config/common";

export interface ComponentArgs {
    /**
     * The stack's base tags (ManagedBy/Project/Stack/Environment), possibly still Outputs. The one
     * tag rule: every taggable child carries them, plus `Name: <namePrefix>-<role>` where the
     * child has a name tag of its own (lib/tags.ts); a child with none gets them as they are.
     * @default - none
     */
    readonly tags?: TagsInput;
}

export interface NamedComponentArgs extends ComponentArgs {
    /**
     * The start of every physical name the component makes: an environment's name, e.g.
     * `todobackend-dev` → `todobackend-dev-alb`, or a delivery part's (`todobackend-pipeline` →
     * `todobackend-pipeline-notifications`). Checked before anything is registered, by
     * `validateNamePrefix` (lib/naming.ts) or a narrower rule of the component's own, with an
     * error naming the component, the arg and the fix; each component's args say what it derives
     * and how long the prefix may be.
     */
    readonly namePrefix: string;
}
