// The todobackend Pulumi program. One project, three stacks: `delivery` (once per account) and
// the environments `dev` and `prod`. The stack's role comes from its config (`todobackend:role`);
// each role's components are wired in its own module so this file stays a dispatcher.
import { readRole } from "./config";

export = readRole() === "delivery"
    ? require("./delivery").deliveryStack()
    : require("./environment").environmentStack();
