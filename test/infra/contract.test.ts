// The one contract every component follows (docs/infra.md, "Components"), checked on the source
// with the TypeScript compiler and by constructing each component with arguments it must refuse.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ts from "typescript";
import { EVALUATION_WAIT_MS, evaluateProgram, startEarly } from "./harness";

const INFRA = path.join(__dirname, "..", "..", "infra");
const refusals = startEarly(evaluateProgram(path.join(__dirname, "programs", "contractRefusals.ts"), "refusals"));

interface ComponentInfo {
    /** Its file, relative to the directory searched. */
    file: string; name: string; doc: string; args?: ts.InterfaceDeclaration;
    /** The args' members, with those of every interface they extend. */
    members: ts.TypeElement[];
    /** Every interface the args extend, directly or through another, as `<file relative to the directory searched>#<name>`. */
    bases: string[];
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

/** The interfaces `decl` extends, each with those it extends in turn; a base that cannot be found fails the test. */
function basesOf(decl: ts.InterfaceDeclaration): ts.InterfaceDeclaration[] {
    const file = decl.getSourceFile().fileName;
    return (decl.heritageClauses ?? []).flatMap((h) => h.types).flatMap((t) => {
        const base = interfaceIn(file, t.expression.getText());
        assert.ok(base, `${decl.name.text} extends ${t.expression.getText()}, which ${file} neither declares nor imports from the program`);
        return [base, ...basesOf(base)];
    });
}

/** The members of `decl` and of every interface it extends, its own first. */
const membersOf = (decl: ts.InterfaceDeclaration): ts.TypeElement[] => [decl, ...basesOf(decl)].flatMap((d) => [...d.members]);

/** Every .ts file under `dir`, at any depth, as paths relative to it. */
function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && fs.statSync(path.join(dir, f)).isFile()).sort();
}

/**
 * Every class extending pulumi.ComponentResource in a file under `dir` (infra/, at any depth, so a
 * component in a new folder is held to the contract too), with its doc, the interface its
 * constructor's `args` is declared with, its public fields and its registered outputs.
 */
function components(dir: string = INFRA): ComponentInfo[] {
    const out: ComponentInfo[] = [];
    for (const file of sourceFiles(dir)) {
        const source = parse(path.join(dir, file));
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
            const argsType = n.members.find(ts.isConstructorDeclaration)?.parameters[1]?.type;
            const args = argsType && ts.isTypeReferenceNode(argsType) ? interfaceIn(path.join(dir, file), argsType.typeName.getText(source)) : undefined;
            const bases = args ? basesOf(args).map((b) => `${path.relative(dir, b.getSourceFile().fileName)}#${b.name.text}`) : [];
            out.push({ file, name: n.name.text, doc, args, members: args ? membersOf(args) : [], bases, fields, registered });
        });
    }
    return out;
}

/** The base every component's args extend, and the one of those that make physical names (infra/lib/componentArgs.ts). */
const BASE = "lib/componentArgs.ts#ComponentArgs";
const NAMED_BASE = "lib/componentArgs.ts#NamedComponentArgs";

const isNamed = (c: ComponentInfo) => c.bases.includes(NAMED_BASE);

/**
 * How each component's args break the contract: an args interface that is not one extending the
 * base (through NamedComponentArgs where it makes physical names), that declares `namePrefix` or
 * `tags` again instead of inheriting them, or that has a field one may reassign.
 */
function argsViolations(all: ComponentInfo[]): string[] {
    const out: string[] = [];
    for (const c of all) {
        if (!c.args) {
            out.push(`${c.file}: ${c.name}'s constructor takes no args interface (\`args: ${c.name}Args\`)`);
            continue;
        }
        if (!c.bases.includes(BASE)) out.push(`${c.file}: ${c.args.name.text} does not extend ComponentArgs or NamedComponentArgs (lib/componentArgs.ts)`);
        const own = c.args.members.map((m) => m.name?.getText()).filter((n) => n === "namePrefix" || n === "tags");
        for (const name of own) out.push(`${c.file}: ${c.args.name.text} declares \`${name}\` again instead of inheriting it`);
        for (const m of c.members) {
            if (!(ts.getCombinedModifierFlags(m as ts.Declaration) & ts.ModifierFlags.Readonly)) out.push(`${c.file}: ${c.name}.${m.name?.getText()} is not readonly`);
        }
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

    it("gives every component's args the base of lib/componentArgs.ts, NamedComponentArgs for exactly those that make physical names, inherited and readonly", () => {
        assert.deepEqual(argsViolations(all), []);
        assert.deepEqual(all.filter(isNamed).map((c) => c.name).sort(), [...NAMING].sort());
    });

    it("takes `tags?: TagsInput` and `namePrefix: string` from the base, and none of the old names", () => {
        for (const c of all) {
            const member = (name: string) => c.members.find((m): m is ts.PropertySignature => ts.isPropertySignature(m) && m.name.getText() === name);
            const tags = member("tags");
            assert.ok(tags && tags.questionToken && tags.type?.getText() === "TagsInput", `${c.name}.tags is \`tags?: TagsInput\``);
            if (isNamed(c)) assert.equal(member("namePrefix")?.type?.getText(), "string", `${c.name}.namePrefix is a string`);
            for (const old of ["envName", "prefix", "projectPrefix", "pipelineName", "keyAlias"]) assert.equal(member(old), undefined, `${c.name}.${old}`);
        }
    });

    it("tells apart a component whose args skip the base, redeclare it or leave a field writable, wherever under infra/ it is", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "contract-"));
        try {
            fs.mkdirSync(path.join(dir, "lib"));
            fs.mkdirSync(path.join(dir, "delivery"));
            fs.copyFileSync(path.join(INFRA, "lib", "componentArgs.ts"), path.join(dir, "lib", "componentArgs.ts"));
            const component = (cls: string, argsType: string) => `/** A component made for the contract's own test. */\n`
                + `export class ${cls} extends pulumi.ComponentResource {\n    constructor(name: string, args: ${argsType}) { super("t:t:${cls}", name, {}); }\n}\n`;
            fs.writeFileSync(path.join(dir, "delivery", "kept.ts"), `import { NamedComponentArgs } from "../lib/componentArgs";\n`
                + `export interface KeptArgs extends NamedComponentArgs { readonly size: number }\n${component("Kept", "KeptArgs")}`);
            fs.writeFileSync(path.join(dir, "delivery", "broken.ts"), `import { TagsInput } from "../config/common";\n`
                + `export interface Options { namePrefix: string; readonly tags?: TagsInput }\n${component("Broken", "Options")}`);
            fs.writeFileSync(path.join(dir, "untyped.ts"), component("Untyped", "{ namePrefix: string }"));
            const found = components(dir);
            assert.deepEqual(found.map((c) => c.name), ["Broken", "Kept", "Untyped"]);
            assert.deepEqual(found.filter(isNamed).map((c) => c.name), ["Kept"]);
            assert.deepEqual(argsViolations(found), [
                "delivery/broken.ts: Options does not extend ComponentArgs or NamedComponentArgs (lib/componentArgs.ts)",
                "delivery/broken.ts: Options declares `namePrefix` again instead of inheriting it",
                "delivery/broken.ts: Options declares `tags` again instead of inheriting it",
                "delivery/broken.ts: Broken.namePrefix is not readonly",
                "untyped.ts: Untyped's constructor takes no args interface (`args: UntypedArgs`)",
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
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

    it("validates a component's name prefix before it registers itself or any child, naming the component, the arg and the fix", async () => {
        const e = await refusals;
        // Every component whose args extend NamedComponentArgs, so a new one fails here until programs/contractRefusals.ts tries it.
        assert.deepEqual(Object.keys(e.outputs).sort(), all.filter(isNamed).map((c) => c.name).sort());
        for (const [component, [bad, long]] of Object.entries(e.outputs as Record<string, [string, string]>)) {
            assert.match(bad, new RegExp(`^${component}: \`namePrefix\` "dev env!" .*Fix:`), component);
            assert.match(long, new RegExp(`^${component}: \`namePrefix\` "todobackend-x+" .*Fix:`), component);
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
