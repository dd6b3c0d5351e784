export * from "./roles";
export * from "./tokens";
export * from "./middleware";
export * from "./redact";
export * from "./signature";
export * from "./rateLimit";
