// The one contract every component follows (docs/infra.md, "Components"), checked on the source
// with the TypeScript compiler and by constructing each component with arguments it must refuse.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { EVALUATION_WAIT_MS, evaluateProgram, startEarly } from "./harness";

const INFRA = path.join(__dirname, "..", "..", "infra");
const refusals = startEarly(evaluateProgram(path.join(__dirname, "programs", "contractRefusals.ts"), "refusals"));

interface ComponentInfo { file: string; name: string; doc: string; args?: ts.InterfaceDeclaration; fields: string[]; registered: string[] }

/** Every class extending pulumi.ComponentResource in infra/*.ts, with its doc, args interface, public fields and registered outputs. */
function components(): ComponentInfo[] {
    const out: ComponentInfo[] = [];
    for (const file of fs.readdirSync(INFRA).filter((f) => f.endsWith(".ts"))) {
        const source = ts.createSourceFile(file, fs.readFileSync(path.join(INFRA, file), "utf8"), ts.ScriptTarget.Latest, true);
        const interfaces = new Map<string, ts.InterfaceDeclaration>();
        source.forEachChild((n) => { if (ts.isInterfaceDeclaration(n)) interfaces.set(n.name.text, n); });
        source.forEachChild((n) => {
            if (!ts.isClassDeclaration(n) || !n.name) return;
            if (!n.heritageClauses?.some((h) => h.types.some((t) => t.expression.getText(source) === "pulumi.ComponentResource"))) return;
            const doc = ts.getJSDocCommentsAndTags(n).map((d) => d.getText(source)).join("\n");
            const fields = n.members.filter((m): m is ts.PropertyDeclaration => ts.isPropertyDeclaration(m)
                && !m.modifiers?.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword)).map((m) => m.name.getText(source));
            const registered: string[] = [];
            const visit = (node: ts.Node) => {
                if (ts.isCallExpression(node) && node.expression.getText(source) === "this.registerOutputs" && node.arguments[0] && ts.isObjectLiteralExpression(node.arguments[0])) {
                    for (const p of node.arguments[0].properties) registered.push(p.name!.getText(source));
                }
                node.forEachChild(visit);
            };
            n.forEachChild(visit);
            out.push({ file, name: n.name.text, doc, args: interfaces.get(`${n.name.text}Args`), fields, registered });
        });
    }
    return out;
}

describe("the component contract", function () {
    this.timeout(EVALUATION_WAIT_MS);
    const all = components();
    const NAMING = ["SecurityGroups", "LoadBalancer", "Database", "Cluster", "XrayDaemon", "Migrations", "AppService", "BuildProjects",
        "DeliveryPipeline", "StateBackend", "Registry", "Monitoring", "PipelineNotifications"];

    it("finds every component of the program", () => {
        assert.deepEqual(all.map((c) => c.name).sort(), [...NAMING, "DeliveryImages", "Network", "PrivateBucket"].sort());
    });

    it("gives each component a class doc", () => {
        assert.deepEqual(all.filter((c) => !/^\/\*\*[\s\S]{20,}\*\/$/.test(c.doc.trim())).map((c) => c.name), []);
    });

    it("takes `tags?: TagsInput` in every component's args, and `namePrefix` in every one that makes physical names", () => {
        for (const c of all) {
            assert.ok(c.args, `${c.name} has an ${c.name}Args interface`);
            const member = (name: string) => c.args!.members.find((m): m is ts.PropertySignature => ts.isPropertySignature(m) && m.name.getText() === name);
            const tags = member("tags");
            if (c.name !== "DeliveryImages") {
                assert.ok(tags && tags.questionToken && tags.type?.getText() === "TagsInput", `${c.name}.tags is \`tags?: TagsInput\``);
            }
            if (NAMING.includes(c.name)) assert.equal(member("namePrefix")?.type?.getText(), "string", `${c.name}.namePrefix is a string`);
            for (const old of ["envName", "prefix", "projectPrefix", "pipelineName", "keyAlias"]) assert.equal(member(old), undefined, `${c.name}.${old}`);
        }
    });

    it("names the unit of every duration or size arg", () => {
        for (const c of all) {
            for (const m of c.args?.members ?? []) {
                const name = m.name?.getText() ?? "";
                if (/(Timeout|Delay|Storage|Retention|Interval|Duration|MaxAge)$/.test(name)) {
                    assert.fail(`${c.name}.${name} has no unit in its name (Seconds, GiB, Days)`);
                }
            }
        }
    });

    it("registers exactly the outputs each component exposes", () => {
        for (const c of all) assert.deepEqual([...c.registered].sort(), [...c.fields].sort(), c.name);
    });

    it("validates a component's name prefix before it registers itself or any child, naming the arg and the fix", async () => {
        const e = await refusals;
        assert.deepEqual(Object.keys(e.outputs).sort(), [...NAMING].sort());
        for (const [component, [bad, long]] of Object.entries(e.outputs as Record<string, [string, string]>)) {
            assert.match(bad, /`namePrefix` "dev env!" .*Fix:/, component);
            assert.match(long, /`namePrefix` "todobackend-x+" .*Fix:/, component);
        }
        assert.deepEqual(e.resources.map((r) => r.type), [], "nothing was registered");
    });

    it("dispatches the program's stacks with static imports, no require()", () => {
        const index = fs.readFileSync(path.join(INFRA, "index.ts"), "utf8");
        assert.doesNotMatch(index, /require\(/);
        assert.match(index, /^import \{ deliveryStack \} from "\.\/delivery";$/m);
        assert.match(index, /^import \{ environmentStack \} from "\.\/environment";$/m);
    });
});
