// Config is read and validated here, and only here. Each role's keys live in a module of their
// own (environment.ts, delivery.ts); this file decides which one a stack is.
import * as pulumi from "@pulumi/pulumi";

export type StackRole = "delivery" | "environment";

/** Reads `todobackend:role`; defaults to `environment` so a new environment stack needs no role key. */
export function readRole(config: pulumi.Config = new pulumi.Config("todobackend")): StackRole {
    const role = config.get("role") ?? "environment";
    if (role !== "delivery" && role !== "environment") {
        throw new Error(
            `todobackend:role must be "delivery" or "environment", got "${role}". ` +
            `Fix: pulumi config set todobackend:role environment`,
        );
    }
    return role;
}
