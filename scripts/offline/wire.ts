// Pulumi's wire form of resource inputs (what the engine receives) as plain JSON for tests,
// `plan:offline` and the policy runner.
import * as rpc from "@pulumi/pulumi/runtime/rpc";

/**
 * Turns the wire form of a resource's inputs into plain JSON. Secrets are unwrapped (policies must
 * see the value) and their paths recorded so tests can assert that something IS a secret.
 */
export function plain(value: unknown, path: string, secretPaths: string[]): unknown {
    if (Array.isArray(value)) return value.map((v, i) => plain(v, `${path}[${i}]`, secretPaths));
    if (value === null || typeof value !== "object") return value === rpc.unknownValue ? "<unknown>" : value;
    const obj = value as Record<string, unknown>;
    const sig = obj[rpc.specialSigKey];
    if (sig === rpc.specialSecretSig) {
        secretPaths.push(path);
        return plain(obj.value, path, secretPaths);
    }
    if (sig === rpc.specialOutputValueSig) {
        if (obj.secret) secretPaths.push(path);
        return "value" in obj ? plain(obj.value, path, secretPaths) : "<unknown>";
    }
    if (sig === rpc.specialResourceSig) return obj.id ?? obj.urn;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
        if (k === rpc.specialSigKey) continue;
        out[k] = plain(v, path ? `${path}.${k}` : k, secretPaths);
    }
    return out;
}
