// Decoding Pulumi's wire form of inputs: secrets unwrapped with their paths, references flattened.
import * as assert from "node:assert/strict";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { plain } from "../../scripts/offline/wire";

const secret = (value: unknown) => ({ [rpc.specialSigKey]: rpc.specialSecretSig, value });

describe("offline wire decoding", () => {
    it("unwraps secrets at any depth and records where they were", () => {
        const paths: string[] = [];
        const out = plain({ a: secret("p"), list: [{ env: secret({ k: "v" }) }], open: "x" }, "", paths);
        assert.deepEqual(out, { a: "p", list: [{ env: { k: "v" } }], open: "x" });
        assert.deepEqual(paths, ["a", "list[0].env"]);
    });

    it("reads secret output values and resource references", () => {
        const paths: string[] = [];
        const out = plain({
            o: { [rpc.specialSigKey]: rpc.specialOutputValueSig, value: 3, secret: true },
            ref: { [rpc.specialSigKey]: rpc.specialResourceSig, urn: "urn:x", id: "sg-1" },
            refNoId: { [rpc.specialSigKey]: rpc.specialResourceSig, urn: "urn:y" },
        }, "", paths);
        assert.deepEqual(out, { o: 3, ref: "sg-1", refNoId: "urn:y" });
        assert.deepEqual(paths, ["o"]);
    });

    it("shows values unknown at evaluation time as <unknown>", () => {
        assert.deepEqual(plain({ a: rpc.unknownValue, b: { [rpc.specialSigKey]: rpc.specialOutputValueSig } }, "", []), { a: "<unknown>", b: "<unknown>" });
    });
});
