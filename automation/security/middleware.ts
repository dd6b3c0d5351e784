import type { NextFunction, Request, RequestHandler, Response } from "express";
import { forbidden, unauthenticated } from "../errors";
import { Principal, Role, hasRole } from "./roles";
import { TokenVerifier } from "./tokens";

/** Where `authenticate` leaves the caller; routes and the audit log read it from here. */
export function principalOf(res: Response): Principal | undefined {
    return res.locals.principal as Principal | undefined;
}

/**
 * Resolves `Authorization: Bearer <token>` to a principal or fails with 401. Errors are
 * passed to `next` so the core's error handler renders them like every other error.
 */
export function authenticate(tokens: TokenVerifier): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
        const header = req.get("authorization");
        const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
        if (!match) {
            next(unauthenticated("send Authorization: Bearer <token>; create a token with npm run token"));
            return;
        }
        const principal = tokens.verify(match[1]);
        if (!principal) {
            // An expired token is told so, with how to rotate it (401 TOKEN_EXPIRED).
            next(tokens.refusal?.(match[1]) ?? unauthenticated("the bearer token is not known to this service"));
            return;
        }
        res.locals.principal = principal;
        next();
    };
}

/**
 * Sets the principal when the request carries a known token and otherwise lets it through
 * untouched, for middleware that only wants to know who is calling (rate limiting, audit)
 * on routes whose own authentication comes later or is not a token (webhooks).
 */
export function identify(tokens: TokenVerifier): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
        const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get("authorization") ?? "");
        const principal = match ? tokens.verify(match[1]) : undefined;
        if (principal) res.locals.principal = principal;
        next();
    };
}

/** Fails with 403 unless the authenticated principal ranks at or above `role`. */
export function requireRole(role: Role): RequestHandler {
    return (_req: Request, res: Response, next: NextFunction) => {
        const principal = principalOf(res);
        if (!principal) {
            next(unauthenticated("this route needs an authenticated caller"));
            return;
        }
        if (!hasRole(principal.role, role)) {
            next(forbidden(`this action needs role ${role}; ${principal.name} has ${principal.role}`, { required: role, held: principal.role }));
            return;
        }
        next();
    };
}
