// Kernel authentication: real HS256 tokens through jose, the installation's secret file, and
// the bearer-header guard with the gRPC statuses clients see.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { SignJWT, decodeJwt } from "jose";
import {
  ADMIN_ROLE,
  authenticate,
  createTokenService,
  loadTokenSecret,
  requireRole,
  SECRET_FILE_NAME,
  TOKEN_ISSUER,
} from "../../src/kernel/auth/auth";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "auth-test-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const SECRET = "s".repeat(32);
const config = (overrides: { tokenSecret?: string; tokenTtlSeconds?: number; dataDir?: string } = {}) => ({
  dataDir: overrides.dataDir ?? tempDir(),
  auth: { tokenSecret: overrides.tokenSecret ?? SECRET, tokenTtlSeconds: overrides.tokenTtlSeconds ?? 3600 },
});

function headers(authorization?: string) {
  const requestHeader = new Headers();
  if (authorization !== undefined) requestHeader.set("authorization", authorization);
  return { requestHeader };
}

async function codeOf(promise: Promise<unknown>): Promise<Code> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error).code;
  }
  throw new Error("expected a failure");
}

describe("token service", () => {
  it("issues a token with sub, roles, iat, exp and iss that verifies back to the caller", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const tokens = createTokenService(config({ tokenTtlSeconds: 600 }), { clock: () => now });
    const issued = await tokens.issue({ subject: "m-1", roles: ["member"] });
    expect(issued.expiresAt.toISOString()).toBe("2030-01-01T00:10:00.000Z");
    const claims = decodeJwt(issued.token);
    expect(claims).toMatchObject({ sub: "m-1", roles: ["member"], iss: TOKEN_ISSUER, iat: now.getTime() / 1000, exp: now.getTime() / 1000 + 600 });
    await expect(tokens.verify(issued.token)).resolves.toEqual({ subject: "m-1", roles: ["member"] });
  });

  it("rejects an expired token with UNAUTHENTICATED", async () => {
    let now = new Date("2030-01-01T00:00:00Z");
    const tokens = createTokenService(config({ tokenTtlSeconds: 60 }), { clock: () => now });
    const { token } = await tokens.issue({ subject: "m-1", roles: [] });
    now = new Date("2030-01-01T00:01:01Z");
    expect(await codeOf(tokens.verify(token))).toBe(Code.Unauthenticated);
  });

  it("rejects a token once it expires even though it verified (and was remembered) before", async () => {
    let now = new Date("2030-01-01T00:00:00Z");
    const tokens = createTokenService(config({ tokenTtlSeconds: 60 }), { clock: () => now });
    const { token } = await tokens.issue({ subject: "m-1", roles: ["member"] });
    await expect(tokens.verify(token)).resolves.toEqual({ subject: "m-1", roles: ["member"] });
    now = new Date("2030-01-01T00:00:59Z");
    await expect(tokens.verify(token)).resolves.toEqual({ subject: "m-1", roles: ["member"] });
    now = new Date("2030-01-01T00:01:00Z");
    expect(await codeOf(tokens.verify(token))).toBe(Code.Unauthenticated);
  });

  it("rejects tokens signed with another secret, tampered, of another issuer or algorithm, or garbage", async () => {
    const tokens = createTokenService(config());
    const other = createTokenService(config({ tokenSecret: "o".repeat(32) }));
    const foreign = (await other.issue({ subject: "m-1", roles: [ADMIN_ROLE] })).token;
    expect(await codeOf(tokens.verify(foreign))).toBe(Code.Unauthenticated);

    const genuine = (await tokens.issue({ subject: "m-1", roles: [] })).token;
    const [header, , signature] = genuine.split(".");
    const forgedPayload = Buffer.from(JSON.stringify({ sub: "m-1", roles: [ADMIN_ROLE], iss: TOKEN_ISSUER, iat: 1, exp: 9999999999 })).toString("base64url");
    expect(await codeOf(tokens.verify(`${header}.${forgedPayload}.${signature}`))).toBe(Code.Unauthenticated);

    const key = new TextEncoder().encode(SECRET);
    const wrongIssuer = await new SignJWT({ roles: [] }).setProtectedHeader({ alg: "HS256" }).setSubject("x").setIssuer("someone").setIssuedAt().setExpirationTime("1h").sign(key);
    expect(await codeOf(tokens.verify(wrongIssuer))).toBe(Code.Unauthenticated);
    const wrongAlgorithm = await new SignJWT({ roles: [] }).setProtectedHeader({ alg: "HS512" }).setSubject("x").setIssuer(TOKEN_ISSUER).setIssuedAt().setExpirationTime("1h").sign(new TextEncoder().encode("k".repeat(64)));
    expect(await codeOf(tokens.verify(wrongAlgorithm))).toBe(Code.Unauthenticated);
    const rolesNotAList = await new SignJWT({ roles: "admin" }).setProtectedHeader({ alg: "HS256" }).setSubject("x").setIssuer(TOKEN_ISSUER).setIssuedAt().setExpirationTime("1h").sign(key);
    expect(await codeOf(tokens.verify(rolesNotAList))).toBe(Code.Unauthenticated);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${forgedPayload}.`;
    expect(await codeOf(tokens.verify(unsigned))).toBe(Code.Unauthenticated);
    for (const garbage of ["", "abc", "a.b.c", "\u0000".repeat(10)]) {
      expect(await codeOf(tokens.verify(garbage))).toBe(Code.Unauthenticated);
    }
  });

  it("refuses a configured secret shorter than 32 characters", () => {
    expect(() => createTokenService(config({ tokenSecret: "short" }))).toThrow(/at least 32/);
  });
});

describe("installation secret file", () => {
  it("creates <DATA_DIR>/token-secret with mode 0600 once, and every later service shares it", async () => {
    const dataDir = path.join(tempDir(), "nested");
    const first = createTokenService(config({ tokenSecret: "", dataDir }));
    const file = path.join(dataDir, SECRET_FILE_NAME);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const content = readFileSync(file, "utf8");
    const second = createTokenService(config({ tokenSecret: "", dataDir }));
    expect(readFileSync(file, "utf8")).toBe(content);
    const { token } = await first.issue({ subject: "op", roles: [ADMIN_ROLE] });
    await expect(second.verify(token)).resolves.toEqual({ subject: "op", roles: [ADMIN_ROLE] });
  });

  it("the file's content works as AUTH_TOKEN_SECRET elsewhere", async () => {
    const dataDir = tempDir();
    const secret = loadTokenSecret(config({ tokenSecret: "", dataDir }));
    const fromFile = createTokenService(config({ tokenSecret: "", dataDir }));
    const fromEnv = createTokenService(config({ tokenSecret: secret }));
    const { token } = await fromFile.issue({ subject: "op", roles: [] });
    await expect(fromEnv.verify(token)).resolves.toMatchObject({ subject: "op" });
  });
});

describe("authenticate and requireRole", () => {
  const tokens = createTokenService({ dataDir: "/nonexistent", auth: { tokenSecret: SECRET, tokenTtlSeconds: 60 } });

  it("reads the bearer token from the authorization header", async () => {
    const { token } = await tokens.issue({ subject: "m-9", roles: ["member"] });
    await expect(authenticate(headers(`Bearer ${token}`), tokens)).resolves.toEqual({ subject: "m-9", roles: ["member"] });
    await expect(authenticate(headers(`bearer  ${token} `), tokens)).resolves.toMatchObject({ subject: "m-9" });
  });

  it("answers UNAUTHENTICATED for a missing, malformed or bad header", async () => {
    const { token } = await tokens.issue({ subject: "m-9", roles: [] });
    for (const value of [undefined, "", "Bearer", `Basic ${token}`, `Bearer ${token} extra`, "Bearer nonsense"]) {
      expect(await codeOf(authenticate(headers(value), tokens))).toBe(Code.Unauthenticated);
    }
  });

  it("requireRole answers PERMISSION_DENIED without the role", async () => {
    expect(() => requireRole({ subject: "a", roles: [ADMIN_ROLE] }, ADMIN_ROLE)).not.toThrow();
    let code: Code | undefined;
    try {
      requireRole({ subject: "m", roles: ["member"] }, ADMIN_ROLE);
    } catch (error) {
      code = ConnectError.from(error).code;
    }
    expect(code).toBe(Code.PermissionDenied);
  });
});
