// The answers of /v1/tokens: a token as listed (never its secret or hash), as created (with its
// secret, this once) and as revoked.
import { z } from "zod";
import type { ListedToken } from "../../security/tokenAdmin";
import { ROLES } from "../../security/roles";
import type { TokenInfo } from "../../security/tokens";
import { instant } from "./recovery";
import { component, fits } from "./registry";

const d = (description: string) => ({ description });

const tokenInfo = {
    name: z.string(),
    role: z.enum(ROLES),
    createdAt: instant().optional(),
    expiresAt: instant().optional().meta(d("Absent: never expires.")),
    expired: z.boolean(),
};

export const TokenSchema = component(
    "Token",
    z.strictObject({
        ...tokenInfo,
        lastUsedAt: instant().nullable().meta(d("Recorded at most once a minute per token; null: not used since it was created or rotated.")),
    }),
);
export const TokenListSchema = component("TokenList", z.strictObject({ tokens: z.array(TokenSchema) }));
export const CreatedTokenSchema = component(
    "CreatedToken",
    z.strictObject({ ...tokenInfo, token: z.string().meta(d("The secret, shown this once: only its hash is stored.")), replaced: z.boolean().meta(d("Whether it rotated a token of the same name.")) }),
);
export const RevokedTokenSchema = component("RevokedToken", z.strictObject({ ...tokenInfo, revoked: z.literal(true) }));

fits<ListedToken, z.infer<typeof TokenSchema>>();
fits<TokenInfo, Omit<z.infer<typeof RevokedTokenSchema>, "revoked">>();
