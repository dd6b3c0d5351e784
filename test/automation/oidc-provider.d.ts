// oidc-provider ships no types; identityProvider.ts describes the little of it the tests use.
declare module "oidc-provider";
