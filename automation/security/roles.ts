/**
 * Roles are a strict ladder: each role can do everything the roles below it can.
 * viewer reads; operator starts previews, refreshes and updates that need no approval;
 * approver approves or rejects previews; admin destroys, unlocks and repairs.
 */
export const ROLES = ["viewer", "operator", "approver", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
    return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/** True when `held` ranks at or above `required`. */
export function hasRole(held: Role, required: Role): boolean {
    return ROLES.indexOf(held) >= ROLES.indexOf(required);
}

/**
 * How a caller was authenticated: "token" a bearer token (machines, scripts), "session" a person
 * signed in through the identity provider (`sso:` names), "webhook" a verified GitHub delivery,
 * "system" what the service starts itself (schedules, dependencies).
 */
export const VIAS = ["token", "session", "webhook", "system"] as const;
export type Via = (typeof VIAS)[number];

/** Who made a request: every mutating request and audit entry is attributed to one. */
export interface Principal {
    name: string;
    role: Role;
    via: Via;
}

/** True for a person or machine whose role is looked up now (tokens, sessions), rather than a delivery or the service. */
export const actsWithOwnRole = (via: Via) => via === "token" || via === "session";
