/**
 * Environment variables whose values are credentials wherever they appear: the worker's cloud
 * keys, the state passphrase, Pulumi and GitHub tokens, and anything named like a secret.
 */
const CREDENTIAL_ENV =
    /^(AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|AWS_SESSION_TOKEN|AWS_SECURITY_TOKEN|PULUMI_CONFIG_PASSPHRASE|PULUMI_ACCESS_TOKEN|GITHUB_TOKEN|GH_TOKEN|.*_(TOKEN|SECRET|PASSWORD|PASSPHRASE|API_KEY|PRIVATE_KEY))$/;

/** Credential shapes caught even when nobody told the redactor about the value. */
const PATTERNS: RegExp[] = [
    /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
    /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g,
    /\bgh[pousr]_[A-Za-z0-9]{36,}\b/g,
    /\bgithub_pat_[A-Za-z0-9_]{22,}\b/g,
    // This service's own API tokens (see tokens.ts).
    /\btbk_[A-Za-z0-9_-]{43}/g,
    /(\bBearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
];

export const REDACTED = "[secret]";

/** Values shorter than this are not redacted literally: "on" or "1" would shred every log. */
export const MIN_SECRET_LENGTH = 4;

export interface RedactorOptions {
    /** Secret config values and secret outputs of the job's stack. @default [] */
    secrets?: readonly string[];
    /** Worker environment; credential-named variables are treated as secrets. @default {} */
    env?: Readonly<Record<string, string | undefined>>;
}

export interface Redactor {
    redact(text: string): string;
    /** Redacts every string inside a JSON-like value; numbers, booleans and keys are kept. */
    redactDeep<T>(value: T): T;
    /** A redactor that also knows `secrets`, e.g. secret outputs learned after an update. */
    extend(secrets: readonly string[]): Redactor;
}

/** Secrets at least this long are also redacted in their base64, base64url and hex forms. */
export const MIN_ENCODED_SECRET_LENGTH = 8;

/**
 * The literal values a redactor built from `options` removes, for tests and diagnostics: each
 * secret, its JSON-escaped form and, for longer ones, the encodings a program most easily
 * prints it in. No redactor can catch every encoding, which is why secrets a job need not
 * have never reach it (docs/safety.md, "Threat model").
 */
export function secretLiterals(options: RedactorOptions): string[] {
    const literals = new Set<string>();
    const add = (s: string) => {
        if (s.length < MIN_SECRET_LENGTH) return;
        literals.add(s);
        // A secret with quotes, backslashes or newlines appears escaped inside stored JSON.
        const escaped = JSON.stringify(s).slice(1, -1);
        if (escaped !== s) literals.add(escaped);
        if (s.length < MIN_ENCODED_SECRET_LENGTH) return;
        const bytes = Buffer.from(s, "utf8");
        for (const encoded of [bytes.toString("base64"), bytes.toString("base64").replace(/=+$/, ""), bytes.toString("base64url"), bytes.toString("hex")]) literals.add(encoded);
    };
    for (const s of options.secrets ?? []) add(s);
    for (const [k, v] of Object.entries(options.env ?? {})) if (v && CREDENTIAL_ENV.test(k)) add(v);
    // Longest first so a secret containing another is replaced whole.
    return [...literals].sort((a, b) => b.length - a.length);
}

/** The ONE redactor: everything stored, streamed, logged, returned or posted goes through it. */
export function createRedactor(options: RedactorOptions = {}): Redactor {
    const ordered = secretLiterals(options);
    const redact = (text: string): string => {
        let out = text;
        for (const s of ordered) out = out.split(s).join(REDACTED);
        for (const p of PATTERNS) out = out.replace(p, (_m, prefix) => (typeof prefix === "string" && /bearer/i.test(prefix) ? prefix : "") + REDACTED);
        return out;
    };
    const redactDeep = <T>(value: T): T => {
        if (typeof value === "string") return redact(value) as T;
        if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
        if (value && typeof value === "object" && !(value instanceof Date)) {
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
        }
        return value;
    };
    return {
        redact,
        redactDeep,
        extend: (secrets) => createRedactor({ secrets: [...(options.secrets ?? []), ...secrets], env: options.env }),
    };
}
