// A token secret for service processes started by a test, and an operator (admin) token signed with it.
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import type { Interceptor } from "@connectrpc/connect";
import { ADMIN_ROLE, createTokenService } from "../../src/kernel/auth/auth";

export async function operatorCredentials(): Promise<{ secret: string; token: string; asOperator: Interceptor }> {
  const secret = randomBytes(32).toString("base64url");
  const tokens = createTokenService({ dataDir: tmpdir(), auth: { tokenSecret: secret, tokenTtlSeconds: 3600 } });
  const { token } = await tokens.issue({ subject: "test-operator", roles: [ADMIN_ROLE] });
  const asOperator: Interceptor = (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  return { secret, token, asOperator };
}
