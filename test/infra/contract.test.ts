// The one contract every component follows (docs/infra.md, "Components"), checked on the source
// with the TypeScript compiler and by constructing each component with arguments it must refuse.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { EVALUATION_WAIT_MS, evaluateProgram, startEarly } from "./harness";

const INFRA = path.join(__dirname, "..", "..", "infra");
const refusals = startEarly(evaluateProgram(path.join(__dirname, "programs", "contractRefusals.ts"), "refusals"));

interface ComponentInfo {
    file: string; name: string; doc: string; args?: ts.InterfaceDeclaration;
    /** The args' members, with those of every interface they extend. */
    members: ts.TypeElement[];
    fields: string[]; registered: string[];
}

const parse = (file: string) => ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);

/** Interface `name` as declared in `file`, or as imported into it from another file of the program. */
function interfaceIn(file: string, name: string): ts.InterfaceDeclaration | undefined {
    let found: ts.InterfaceDeclaration | undefined;
    parse(file).forEachChild((n) => {
        if (ts.isInterfaceDeclaration(n) && n.name.text === name) found = n;
        const bindings = ts.isImportDeclaration(n) ? n.importClause?.namedBindings : undefined;
        if (found || !bindings || !ts.isNamedImports(bindings) || !ts.isStringLiteral((n as ts.ImportDeclaration).moduleSpecifier)) return;
        const specifier = ((n as ts.ImportDeclaration).moduleSpecifier as ts.StringLiteral).text;
        const imported = bindings.elements.find((e) => e.name.text === name);
        if (imported && specifier.startsWith(".")) found = interfaceIn(`${path.resolve(path.dirname(file), specifier)}.ts`, (imported.propertyName ?? imported.name).text);
    });
    return found;
}

/** The members of `decl` and of every interface it extends, its own first; a base that cannot be found fails the test. */
function membersOf(decl: ts.InterfaceDeclaration): ts.TypeElement[] {
    const file = decl.getSourceFile().fileName;
    const inherited = (decl.heritageClauses ?? []).flatMap((h) => h.types).flatMap((t) => {
        const base = interfaceIn(file, t.expression.getText());
        assert.ok(base, `${decl.name.text} extends ${t.expression.getText()}, which ${path.relative(INFRA, file)} neither declares nor imports from the program`);
        return membersOf(base);
    });
    return [...decl.members, ...inherited];
}

/** Every class extending pulumi.ComponentResource in infra/*.ts, with its doc, args interface, public fields and registered outputs. */
function components(): ComponentInfo[] {
    const out: ComponentInfo[] = [];
    for (const file of fs.readdirSync(INFRA).filter((f) => f.endsWith(".ts"))) {
        const source = parse(path.join(INFRA, file));
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
            const args = interfaces.get(`${n.name.text}Args`);
            out.push({ file, name: n.name.text, doc, args, members: args ? membersOf(args) : [], fields, registered });
        });
    }
    return out;
}

describe("the component contract", function () {
    this.timeout(EVALUATION_WAIT_MS);
    const all = components();
    const NAMING = ["SecurityGroups", "LoadBalancer", "Database", "Cluster", "XrayDaemon", "Migrations", "AppService", "BuildProjects",
        "DeliveryPipeline", "StateBackend", "Registry", "Monitoring", "PipelineNotifications", "AutomationService"];

    it("finds every component of the program", () => {
        assert.deepEqual(all.map((c) => c.name).sort(), [...NAMING, "DeliveryImages", "Network", "PrivateBucket"].sort());
    });

    it("gives each component a class doc", () => {
        assert.deepEqual(all.filter((c) => !/^\/\*\*[\s\S]{20,}\*\/$/.test(c.doc.trim())).map((c) => c.name), []);
    });

    it("takes `tags?: TagsInput` in every component's args, and `namePrefix` in every one that makes physical names", () => {
        for (const c of all) {
            assert.ok(c.args, `${c.name} has an ${c.name}Args interface`);
            const member = (name: string) => c.members.find((m): m is ts.PropertySignature => ts.isPropertySignature(m) && m.name.getText() === name);
            const tags = member("tags");
            if (c.name !== "DeliveryImages") {
                assert.ok(tags && tags.questionToken && tags.type?.getText() === "TagsInput", `${c.name}.tags is \`tags?: TagsInput\``);
            }
            if (NAMING.includes(c.name)) assert.equal(member("namePrefix")?.type?.getText(), "string", `${c.name}.namePrefix is a string`);
            for (const old of ["envName", "prefix", "projectPrefix", "pipelineName", "keyAlias"]) assert.equal(member(old), undefined, `${c.name}.${old}`);
        }
    });

    it("gives the environment components their namePrefix and tags from one base, EnvironmentComponentArgs, with both readonly", () => {
        const ENVIRONMENT = ["SecurityGroups", "LoadBalancer", "Database", "Cluster", "XrayDaemon", "Migrations", "AppService", "Monitoring"];
        for (const c of all.filter((x) => ENVIRONMENT.includes(x.name))) {
            assert.deepEqual(c.args?.heritageClauses?.flatMap((h) => h.types.map((t) => t.expression.getText())), ["EnvironmentComponentArgs"], c.name);
            const own = c.args!.members.map((m) => m.name?.getText());
            assert.ok(!own.includes("namePrefix") && !own.includes("tags"), `${c.name}Args declares namePrefix or tags again instead of inheriting them`);
            for (const name of ["namePrefix", "tags"]) {
                const m = c.members.find((x) => x.name?.getText() === name);
                assert.ok(m && ts.getCombinedModifierFlags(m as ts.Declaration) & ts.ModifierFlags.Readonly, `${c.name}.${name} is readonly`);
            }
        }
    });

    it("names the unit of every duration or size arg", () => {
        for (const c of all) {
            for (const m of c.members) {
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
