// Tokens for tests: a token service with a fresh random secret, and a client interceptor
// that sends a bearer token with every call.
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import type { Interceptor } from "@connectrpc/connect";
import { ADMIN_ROLE, createTokenService, type TokenService, type TokenServiceOptions } from "../../src/kernel/auth/auth";

export function testTokenService(ttlSeconds = 3600, options: TokenServiceOptions = {}): TokenService {
  // The secret is given, so dataDir is never touched.
  return createTokenService({ dataDir: tmpdir(), auth: { tokenSecret: randomBytes(32).toString("base64url"), tokenTtlSeconds: ttlSeconds } }, options);
}

export async function adminToken(tokens: TokenService, subject = "test-operator"): Promise<string> {
  return (await tokens.issue({ subject, roles: [ADMIN_ROLE] })).token;
}

/** Adds "authorization: Bearer <token>" to every request (the token may be swapped later). */
export function bearer(token: string | (() => string)): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${typeof token === "function" ? token() : token}`);
    return next(request);
  };
}
