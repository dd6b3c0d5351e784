// The service as an OpenID Connect relying party: the authorization code flow with PKCE, and
// asking the provider again who someone is. The protocol (discovery, signatures, nonce, state,
// audience, expiry) is openid-client's; this module only says which questions to ask.
import * as client from "openid-client";
import { AppError } from "../errors";

export interface OidcSettings {
    /** The provider's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`). */
    issuer: URL;
    clientId: string;
    /** Absent: a public client (PKCE alone). */
    clientSecret?: string;
    /** Scopes asked for; `openid` always among them. */
    scopes: readonly string[];
    /** The claim whose groups the role map reads (AUTOMATION_OIDC_ROLES_CLAIM). */
    rolesClaim: string;
    /** The role map file (AUTOMATION_OIDC_ROLE_MAP). */
    roleMapFile: string;
    /** `<public URL>/auth/callback`, registered with the provider. */
    redirectUrl: string;
    /** Where the provider sends someone after signing out of it: the public URL. */
    postLogoutUrl: string;
    /** How long a check of someone's groups stands for reads; changes are always checked anew. */
    recheckMs: number;
    /** A session's longest life, however active. */
    sessionTtlMs: number;
}

/** Claims as the provider states them (the ID token's, or userinfo's). */
export type Claims = Record<string, unknown> & { sub: string };

/** What the provider answered at the end of a sign-in or a refresh. */
export interface ProviderAnswer {
    claims: Claims;
    accessToken: string | null;
    accessExpiresAt: string | null;
    refreshToken: string | null;
    idToken: string | null;
}

/** A question the provider refused: the person's grant is gone (revoked, expired, removed). */
export class ProviderRefused extends Error {}

export const identityProviderUnavailable = (issuer: URL, cause: unknown) =>
    new AppError("IDENTITY_PROVIDER_UNAVAILABLE", 503, `The identity provider ${issuer.origin} does not answer (${describe(cause)}); try again shortly. Tokens (Authorization: Bearer) still work.`, {
        issuer: issuer.href,
    });

function describe(e: unknown): string {
    const err = e as { message?: string; cause?: { code?: string; message?: string }; code?: string; error?: string; error_description?: string };
    return err.error_description ?? err.error ?? err.cause?.code ?? err.cause?.message ?? err.code ?? err.message ?? String(e);
}

/**
 * True for a failure that says the provider is unreachable or broken (no answer, a 5xx, a TLS
 * failure) rather than that it refused or answered something invalid.
 */
function unreachable(e: unknown): boolean {
    for (let x = e as { name?: string; message?: string; code?: unknown; status?: number; cause?: unknown } | undefined, depth = 0; x && depth < 6; x = x.cause as typeof x, depth++) {
        if (x instanceof client.ResponseBodyError || x instanceof client.WWWAuthenticateChallengeError) return x.status >= 500;
        if (x instanceof Response) return x.status >= 500;
        if (x.name === "TimeoutError" || x.name === "AbortError") return true;
        if (x instanceof TypeError && /fetch failed/.test(x.message ?? "")) return true;
        const code = (x as { code?: unknown }).code;
        if (typeof code === "string" && /^(ECONN|ENOTFOUND|EAI_|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|UND_ERR|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code)) return true;
    }
    return false;
}

/** http issuers are accepted for loopback addresses only (a provider on the operator's machine). */
export function issuerProblem(issuer: URL): string | undefined {
    if (issuer.protocol === "https:") return undefined;
    if (issuer.protocol === "http:" && ["127.0.0.1", "[::1]", "localhost"].includes(issuer.hostname)) return undefined;
    return "must be an https URL (http only on 127.0.0.1 or localhost)";
}

export class OidcRelyingParty {
    private configuration?: client.Configuration;
    private discovering?: Promise<client.Configuration>;

    constructor(readonly settings: OidcSettings) {}

    /** The provider's metadata, fetched once it answers; a provider down at start is asked again later. */
    private async config(): Promise<client.Configuration> {
        if (this.configuration) return this.configuration;
        this.discovering ??= (async () => {
            try {
                const s = this.settings;
                const auth = s.clientSecret ? client.ClientSecretBasic(s.clientSecret) : client.None();
                // OpenID Connect lets a client trust an ID token from the token endpoint on TLS alone
                // (Core 3.1.3.7); its signature is checked against the provider's keys as well, so a
                // proxy or middlebox between the two cannot put words in the provider's mouth.
                const execute = [client.enableNonRepudiationChecks, ...(s.issuer.protocol === "http:" ? [client.allowInsecureRequests] : [])];
                const config = await client.discovery(s.issuer, s.clientId, s.clientSecret, auth, { timeout: 10, execute });
                this.configuration = config;
                return config;
            } finally {
                this.discovering = undefined;
            }
        })();
        try {
            return await this.discovering;
        } catch (e) {
            throw identityProviderUnavailable(this.settings.issuer, e);
        }
    }

    /** Where to send someone to sign in, and what their return must prove. */
    async begin(): Promise<{ url: URL; state: string; nonce: string; codeVerifier: string }> {
        const config = await this.config();
        const codeVerifier = client.randomPKCECodeVerifier();
        const state = client.randomState();
        const nonce = client.randomNonce();
        const url = client.buildAuthorizationUrl(config, {
            redirect_uri: this.settings.redirectUrl,
            scope: this.settings.scopes.join(" "),
            code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
            code_challenge_method: "S256",
            state,
            nonce,
        });
        return { url, state, nonce, codeVerifier };
    }

    /**
     * The person the provider vouches for on the return to `callbackUrl`: the code exchanged with
     * the verifier, the ID token's signature, issuer, audience, expiry and nonce checked. The
     * roles claim comes from the ID token, or from userinfo when the provider keeps it there.
     */
    async finish(callbackUrl: URL, expected: { state: string; nonce: string; codeVerifier: string }): Promise<ProviderAnswer> {
        const config = await this.config();
        let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
        try {
            tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: expected.codeVerifier, expectedState: expected.state, expectedNonce: expected.nonce, idTokenExpected: true });
        } catch (e) {
            if (unreachable(e)) throw identityProviderUnavailable(this.settings.issuer, e);
            throw new ProviderRefused(describe(e));
        }
        return this.answer(config, tokens);
    }

    /**
     * Who the person is now: userinfo with the access token while it lasts, then a refresh.
     * ProviderRefused when the provider no longer vouches for them.
     */
    async recheck(s: { subject: string; accessToken: string | null; accessExpiresAt: string | null; refreshToken: string | null; idToken: string | null }, now: Date): Promise<ProviderAnswer> {
        const config = await this.config();
        const accessValid = s.accessToken && (!s.accessExpiresAt || Date.parse(s.accessExpiresAt) - 5000 > now.getTime());
        try {
            if (accessValid) {
                const info = await client.fetchUserInfo(config, s.accessToken!, s.subject);
                return { claims: info as Claims, accessToken: s.accessToken, accessExpiresAt: s.accessExpiresAt, refreshToken: s.refreshToken, idToken: s.idToken };
            }
            if (!s.refreshToken) throw new ProviderRefused("the access token expired and the provider gave no refresh token");
            const answer = await this.answer(config, await client.refreshTokenGrant(config, s.refreshToken), s.refreshToken);
            if (answer.claims.sub !== s.subject) throw new ProviderRefused("the provider answered for another person");
            return answer;
        } catch (e) {
            if (e instanceof ProviderRefused || e instanceof AppError) throw e;
            if (unreachable(e)) throw identityProviderUnavailable(this.settings.issuer, e);
            throw new ProviderRefused(describe(e));
        }
    }

    /** The provider's sign-out page for this session, if it has one. */
    async signOutUrl(idToken: string | null): Promise<string | undefined> {
        try {
            const config = await this.config();
            if (!config.serverMetadata().end_session_endpoint) return undefined;
            return client.buildEndSessionUrl(config, { post_logout_redirect_uri: this.settings.postLogoutUrl, ...(idToken ? { id_token_hint: idToken } : {}) }).href;
        } catch {
            return undefined;
        }
    }

    private async answer(config: client.Configuration, tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers, previousRefresh: string | null = null): Promise<ProviderAnswer> {
        const idClaims = tokens.claims() as Claims | undefined;
        let claims: Claims | undefined = idClaims;
        if (!claims || !(this.settings.rolesClaim in claims)) {
            // Providers keep groups in userinfo rather than the ID token (Okta, Google): ask there.
            const info = (await client.fetchUserInfo(config, tokens.access_token, idClaims?.sub ?? client.skipSubjectCheck)) as Claims;
            claims = { ...idClaims, ...info };
        }
        return {
            claims,
            accessToken: tokens.access_token,
            accessExpiresAt: tokens.expires_in ? new Date(Date.now() + tokens.expires_in * 1000).toISOString() : null,
            refreshToken: tokens.refresh_token ?? previousRefresh,
            idToken: tokens.id_token ?? null,
        };
    }
}
