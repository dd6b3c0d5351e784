// Tags on a component's children. Components take their tags as `TagsInput` (the stack's base
// tags, possibly still unresolved), so a child's tags are built as an Output.
import * as pulumi from "@pulumi/pulumi";
import { Tags, TagsInput } from "../config/common";

/** `tags` plus the book's `Name` tag (e.g. `todobackend-dev-alb`). */
export function withNameTag(tags: TagsInput | undefined, name: pulumi.Input<string>): pulumi.Output<Tags> {
    return pulumi.all([tags ?? {}, name]).apply(([t, n]): Tags => ({ ...(t as Tags), Name: n }));
}

/** `tags` as they are, resolved (for a child without a `Name` of its own). */
export function plainTags(tags: TagsInput | undefined): pulumi.Output<Tags> {
    return pulumi.output(tags ?? {}).apply((t) => ({ ...(t as Tags) }));
}

/** A function giving `tags` plus `Name: <namePrefix>-<role>`, for a component's children. */
export function namedTags(tags: TagsInput | undefined, namePrefix: string): (role: string) => pulumi.Output<Tags> {
    return (role) => withNameTag(tags, `${namePrefix}-${role}`);
}
