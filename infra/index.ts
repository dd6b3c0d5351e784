// The todobackend Pulumi program. One project, three stacks: `delivery` (once per account) and
// the environments `dev` and `prod`. The stack's role comes from its config (`todobackend:role`);
// each role's components are wired in its own module so this file stays a dispatcher.
import { readRole } from "./config";
import { deliveryStack } from "./delivery";
import { environmentStack } from "./environment";

export = readRole() === "delivery" ? deliveryStack() : environmentStack();
