// Bearer-token authentication shared by every service: HS256 JWTs (jose) with the claims
// sub, roles, iat, exp and iss "eventmall". All processes of one installation share the
// signing secret: AUTH_TOKEN_SECRET, else <DATA_DIR>/token-secret (created on first use).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { HandlerContext } from "@connectrpc/connect";
import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";
import { permissionDenied, unauthenticated, unavailable } from "../grpc/errors";

export const TOKEN_ISSUER = "eventmall";
const ALGORITHM = "HS256";
/** Tokens verified once are trusted until they expire: an HMAC check per call costs more than the call. */
const VERIFIED_TOKENS_KEPT = 10_000;
/** HS256 wants a key of at least 256 bits. */
export const MIN_SECRET_LENGTH = 32;
export const SECRET_FILE_NAME = "token-secret";

/** Who is calling, as a verified token says. */
export interface Caller {
  /** The token's sub claim (an account id, or an operator name for operator tokens). */
  subject: string;
  roles: readonly string[];
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

export interface TokenService {
  issue(caller: Caller, options?: { ttlSeconds?: number }): Promise<IssuedToken>;
  /** Resolves the caller of a valid token; throws UNAUTHENTICATED for anything else. */
  verify(token: string): Promise<Caller>;
}

export interface TokenServiceConfig {
  dataDir: string;
  auth: { tokenSecret: string; tokenTtlSeconds: number };
}

export interface TokenServiceOptions {
  /** Current time, for tests; defaults to the system clock. */
  clock?: () => Date;
}

export function createTokenService(config: TokenServiceConfig, options: TokenServiceOptions = {}): TokenService {
  const clock = options.clock ?? (() => new Date());
  const key = new TextEncoder().encode(loadTokenSecret(config));
  const defaultTtl = config.auth.tokenTtlSeconds;
  if (!Number.isInteger(defaultTtl) || defaultTtl < 1) throw new Error("token TTL must be at least 1 second");
  const verified = new LRUCache<string, { caller: Caller; expiresAtMs: number }>({ max: VERIFIED_TOKENS_KEPT });

  return {
    async issue(caller, issueOptions) {
      const ttl = issueOptions?.ttlSeconds ?? defaultTtl;
      const issuedAt = Math.floor(clock().getTime() / 1000);
      const expiresAtSeconds = issuedAt + ttl;
      const token = await new SignJWT({ roles: [...caller.roles] })
        .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
        .setSubject(caller.subject)
        .setIssuer(TOKEN_ISSUER)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAtSeconds)
        .sign(key);
      return { token, expiresAt: new Date(expiresAtSeconds * 1000) };
    },

    async verify(token) {
      const known = verified.get(token);
      if (known && clock().getTime() < known.expiresAtMs) return known.caller;
      verified.delete(token);
      let payload;
      try {
        ({ payload } = await jwtVerify(token, key, {
          issuer: TOKEN_ISSUER,
          algorithms: [ALGORITHM],
          requiredClaims: ["sub", "exp", "iat"],
          currentDate: clock(),
        }));
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw unauthenticated("access token expired", "TOKEN_EXPIRED");
        throw unauthenticated("invalid access token", "TOKEN_INVALID");
      }
      const roles = payload.roles;
      if (typeof payload.sub !== "string" || payload.sub === "" || !isStringArray(roles)) {
        throw unauthenticated("invalid access token", "TOKEN_INVALID");
      }
      const caller = { subject: payload.sub, roles };
      verified.set(token, { caller, expiresAtMs: payload.exp! * 1000 });
      return caller;
    },
  };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/**
 * The configured secret, or the installation's secret file, created atomically (write a temp
 * file, then link it into place) so processes starting together all end up with the same one.
 */
export function loadTokenSecret(config: TokenServiceConfig): string {
  const configured = config.auth.tokenSecret;
  if (configured !== "") {
    if (configured.length < MIN_SECRET_LENGTH) {
      throw new Error(`AUTH_TOKEN_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
    }
    return configured;
  }
  const file = path.join(config.dataDir, SECRET_FILE_NAME);
  const existing = readSecretFile(file);
  if (existing !== undefined) return existing;

  fs.mkdirSync(config.dataDir, { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  fs.writeFileSync(temp, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  try {
    fs.linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
  const secret = readSecretFile(file);
  if (secret === undefined) throw new Error(`token secret file ${file} is empty or too short`);
  return secret;
}

function readSecretFile(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const secret = text.trim();
  if (secret.length < MIN_SECRET_LENGTH) throw new Error(`token secret file ${file} is empty or too short`);
  return secret;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The verified caller of a request (authorization: Bearer <token>); UNAUTHENTICATED otherwise. */
export async function authenticate(context: Pick<HandlerContext, "requestHeader">, tokens: TokenService): Promise<Caller> {
  const header = context.requestHeader.get("authorization");
  if (header === null || header.trim() === "") throw unauthenticated("missing access token (authorization: Bearer <token>)", "TOKEN_MISSING");
  const match = BEARER.exec(header.trim());
  if (!match) throw unauthenticated("authorization header must be 'Bearer <token>'", "TOKEN_INVALID");
  return tokens.verify(match[1]!);
}

/** Which subjects are revoked, and whether that is known yet (src/kernel/auth/revocations.ts). */
export interface RevocationCheck {
  has(subject: string): boolean;
  readonly loaded: boolean;
}

/**
 * The same tokens, minus those of revoked subjects: UNAUTHENTICATED (reason TOKEN_REVOKED) although
 * signature and expiry are fine; consulted on every call, cached tokens included. Until the
 * revocations are loaded no token is vouched for: UNAVAILABLE (fail closed; retry later).
 */
export function refusingRevoked(tokens: TokenService, revocations: RevocationCheck): TokenService {
  return {
    issue: (caller, options) => tokens.issue(caller, options),
    async verify(token) {
      const caller = await tokens.verify(token);
      if (!revocations.loaded) throw unavailable("token revocations are not loaded yet (event store unreachable); retry later");
      if (revocations.has(caller.subject)) throw unauthenticated("access token revoked", "TOKEN_REVOKED");
      return caller;
    },
  };
}

export function hasRole(caller: Caller, role: string): boolean {
  return caller.roles.includes(role);
}

/** Throws PERMISSION_DENIED unless the caller has the role. */
export function requireRole(caller: Caller, role: string): void {
  if (!hasRole(caller, role)) throw permissionDenied(`this operation requires the ${role} role`, "ROLE_REQUIRED");
}

/** The role of installation operators: what only administrators may do requires it. */
export const ADMIN_ROLE = "admin";
