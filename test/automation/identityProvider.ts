// A real OpenID provider (oidc-provider, the certified Node implementation) started in the test
// process over HTTPS with a certificate made for the test, which this process is told to trust
// as an operator's NODE_EXTRA_CA_CERTS would. Its login page signs in whoever is named in the
// form; the people, their groups and the tampering of its token answers are the test's to set.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { exportJWK, generateKeyPair, type JWK } from "jose";

export interface Person {
    name: string;
    email: string;
    groups: string[];
    /** The preferred_username the provider states; its subject when absent. Some providers let people choose it. */
    username?: string;
}

export interface IdentityProvider {
    issuer: string;
    clientId: string;
    clientSecret: string;
    /** sub → person; edit it to move someone between groups or remove them. */
    people: Map<string, Person>;
    /** The provider's signing key, for minting tokens it would sign (expired ones). */
    signingKey: { privateJwk: JWK; kid: string };
    /** Rewrites the ID token of the next token answers while set (a man in the middle, a provider gone wrong). */
    tamperIdToken?: (idToken: string) => Promise<string> | string;
    /** The certificate's file, for a browser or a child process to trust. */
    caFile: string;
    /** Token endpoint requests seen, by grant type. */
    grants: string[];
    /** Userinfo requests seen. */
    userinfoCalls: number;
    close(): Promise<void>;
}

/** A certificate for 127.0.0.1 and localhost, made once per process. */
function testCertificate(): { key: string; cert: string; file: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "idp-cert-"));
    execFileSync("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
        "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
        "-subj", "/CN=test identity provider", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ], { stdio: "ignore" });
    return { key: fs.readFileSync(path.join(dir, "key.pem"), "utf8"), cert: fs.readFileSync(path.join(dir, "cert.pem"), "utf8"), file: path.join(dir, "cert.pem") };
}

const trusted = new Set<string>();
/** What NODE_EXTRA_CA_CERTS does for a service process, done for this one (the service runs in it). */
function trustInThisProcess(cert: string): void {
    if (trusted.has(cert)) return;
    trusted.add(cert);
    tls.setDefaultCACertificates([...tls.getCACertificates("default"), ...trusted]);
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
    let body = "";
    for await (const chunk of req) body += chunk;
    return new URLSearchParams(body);
}

export async function startIdentityProvider(opts: { redirectUris: string[]; people?: Record<string, Person>; accessTokenTtlSeconds?: number }): Promise<IdentityProvider> {
    // oidc-provider is an ES module; Node 22 loads it from CommonJS.
    const { default: Provider } = (await import("oidc-provider")) as unknown as { default: new (issuer: string, config: object) => OidcProvider };
    const certificate = testCertificate();
    trustInThisProcess(certificate.cert);
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: "test-key-1", alg: "RS256", use: "sig" };

    let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
    const server = createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => handle(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const idp: IdentityProvider = {
        issuer,
        clientId: "automation-service",
        clientSecret: "a-client-secret-of-the-test-provider",
        people: new Map(Object.entries(opts.people ?? {})),
        signingKey: { privateJwk, kid: privateJwk.kid },
        caFile: certificate.file,
        grants: [],
        userinfoCalls: 0,
        close: () => new Promise((r) => server.close(() => r())),
    };
    const provider = new Provider(issuer, {
        clients: [
            {
                client_id: idp.clientId,
                client_secret: idp.clientSecret,
                redirect_uris: opts.redirectUris,
                grant_types: ["authorization_code", "refresh_token"],
                response_types: ["code"],
                token_endpoint_auth_method: "client_secret_basic",
            },
        ],
        findAccount: async (_ctx: unknown, sub: string) => {
            const person = idp.people.get(sub);
            // Someone removed from the provider has no account: their tokens answer nothing more.
            if (!person) return undefined;
            return { accountId: sub, claims: async () => ({ sub, name: person.name, preferred_username: person.username ?? sub, email: person.email, groups: [...idp.people.get(sub)!.groups] }) };
        },
        claims: { openid: ["sub"], profile: ["name", "preferred_username"], email: ["email"], groups: ["groups"] },
        scopes: ["openid", "profile", "email", "groups", "offline_access"],
        pkce: { required: () => true },
        features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
        interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
        jwks: { keys: [privateJwk] },
        cookies: { keys: ["cookie-key-of-the-test-provider"] },
        ttl: { AccessToken: opts.accessTokenTtlSeconds ?? 3600, IdToken: 3600, RefreshToken: 86_400, Session: 86_400, Grant: 86_400, Interaction: 600, AuthorizationCode: 60 },
        conformIdTokenClaims: false,
        issueRefreshToken: async () => true,
    });
    provider.proxy = false;
    provider.use(async (ctx, next) => {
        if (ctx.path === "/me") idp.userinfoCalls += 1;
        await next();
        if (ctx.path === "/token" && ctx.method === "POST") {
            const body = ctx.body as { id_token?: string } | undefined;
            idp.grants.push(String((ctx as unknown as { oidc?: { params?: { grant_type?: string } } }).oidc?.params?.grant_type ?? "?"));
            if (body?.id_token && idp.tamperIdToken) body.id_token = await idp.tamperIdToken(body.id_token);
        }
    });
    const callback = provider.callback();
    handle = (req, res) => {
        const url = new URL(req.url ?? "/", issuer);
        const m = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
        if (!m) return void callback(req, res);
        void (async () => {
            try {
                if (req.method === "GET") {
                    const details = await provider.interactionDetails(req, res);
                    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(
                        `<!doctype html><title>Sign in to the test provider</title><form method="post" action="/interaction/${escape(details.uid)}/login">` +
                            `<label>User <input name="login" autofocus></label><button type="submit">Sign in</button></form>`,
                    );
                    return;
                }
                const form = await readForm(req);
                const sub = form.get("login") ?? "";
                if (!idp.people.has(sub)) {
                    res.writeHead(403, { "content-type": "text/plain" }).end(`no such person: ${sub}`);
                    return;
                }
                const details = await provider.interactionDetails(req, res);
                const grant = new provider.Grant({ accountId: sub, clientId: idp.clientId });
                const scope = String((details.params as { scope?: string }).scope ?? "openid");
                grant.addOIDCScope(scope);
                await provider.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: false });
            } catch (e) {
                res.writeHead(500, { "content-type": "text/plain" }).end(String(e));
            }
        })();
    };
    return idp;
}

/** The slice of oidc-provider's API the test provider uses. */
interface OidcProvider {
    proxy: boolean;
    use(mw: (ctx: { path: string; method: string; body: unknown }, next: () => Promise<void>) => Promise<void>): void;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ uid: string; params: Record<string, unknown> }>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: object, opts: object): Promise<void>;
    Grant: new (o: { accountId: string; clientId: string }) => { addOIDCScope(s: string): void; save(): Promise<string> };
}

/** A browser's cookie handling, enough for a sign-in over fetch: cookies by host and path, all ports alike. */
export class CookieJar {
    private readonly cookies = new Map<string, { value: string; path: string }>();
    /** Every Set-Cookie line received, in order, for tests of the cookies' attributes. */
    readonly setCookies: string[] = [];
    store(res: Response): void {
        for (const line of res.headers.getSetCookie()) {
            this.setCookies.push(line);
            const [pair, ...attrs] = line.split(";");
            const eq = pair.indexOf("=");
            const name = pair.slice(0, eq).trim();
            const value = pair.slice(eq + 1).trim();
            const cookiePath = attrs.map((a) => a.trim()).find((a) => /^path=/i.test(a))?.slice(5) ?? "/";
            const expired = attrs.some((a) => /^max-age=0$/i.test(a.trim()) || (/^expires=/i.test(a.trim()) && Date.parse(a.trim().slice(8)) < Date.now()));
            if (expired || value === "") this.cookies.delete(name);
            else this.cookies.set(name, { value, path: cookiePath });
        }
    }
    header(url: string): string {
        const p = new URL(url).pathname;
        return [...this.cookies].filter(([, c]) => p.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`).join("; ");
    }
    get(name: string): string | undefined {
        return this.cookies.get(name)?.value;
    }
    set(name: string, value: string, cookiePath = "/"): void {
        this.cookies.set(name, { value, path: cookiePath });
    }
}

/** Follows a sign-in from the service's /auth/login through the provider's login form and back; returns the last answer. */
export async function signIn(serviceUrl: string, login: string, jar = new CookieJar(), startPath = "/auth/login"): Promise<{ jar: CookieJar; last: Response; visited: string[] }> {
    const visited: string[] = [];
    const go = async (url: string, init: RequestInit = {}): Promise<Response> => {
        visited.push(url);
        const res = await fetch(url, { ...init, redirect: "manual", headers: { ...(init.headers as Record<string, string>), cookie: jar.header(url) } });
        jar.store(res);
        return res;
    };
    // The service's answer to the provider's return is what the caller wants, not the page it leads to.
    const isReturn = (url: string) => url.startsWith(new URL("/auth/callback", serviceUrl).toString());
    let res = await go(new URL(startPath, serviceUrl).toString());
    for (let hop = 0; hop < 20; hop++) {
        const location = res.headers.get("location");
        if (isReturn(visited[visited.length - 1])) return { jar, last: res, visited };
        if (res.status >= 300 && res.status < 400 && location) {
            res = await go(new URL(location, visited[visited.length - 1]).toString());
            continue;
        }
        const page = res.status === 200 && (res.headers.get("content-type") ?? "").includes("text/html") ? await res.clone().text() : "";
        const form = /<form method="post" action="([^"]+)"/.exec(page);
        if (form && page.includes("test provider")) {
            res = await go(new URL(form[1].replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c))), visited[visited.length - 1]).toString(), {
                method: "POST",
                body: new URLSearchParams({ login }).toString(),
                headers: { "content-type": "application/x-www-form-urlencoded" },
            });
            continue;
        }
        return { jar, last: res, visited };
    }
    throw new Error(`sign-in did not finish: ${visited.join(" → ")}`);
}

/** A port free now, for a service whose public URL the provider must know before it starts. */
export async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));
    return port;
}

/** The service's settings that sign people in through `idp`, the service reached at 127.0.0.1:`port`. */
export function signInEnv(idp: IdentityProvider, port: number, roleMap: string): Record<string, string> {
    return {
        PORT: String(port),
        AUTOMATION_PUBLIC_URL: `http://127.0.0.1:${port}`,
        AUTOMATION_OIDC_ISSUER: idp.issuer,
        AUTOMATION_OIDC_CLIENT_ID: idp.clientId,
        AUTOMATION_OIDC_CLIENT_SECRET: idp.clientSecret,
        AUTOMATION_OIDC_ROLE_MAP: roleMap,
        AUTOMATION_OIDC_SCOPES: "openid profile email groups offline_access",
    };
}
