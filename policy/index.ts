// The policy pack served to the Pulumi engine (`pulumi preview --policy-pack policy`). Only this
// file constructs the PolicyPack, because construction starts the analyzer's gRPC server; the
// policies themselves live in policies.ts so tests and the offline check can load them.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("todobackend-policy", { policies });
