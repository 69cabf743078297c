// Operator CLI: mints an access token with this installation's secret (AUTH_TOKEN_SECRET, else
// <DATA_DIR>/token-secret).
//   npm run token -- --admin [--subject NAME] [--ttl SECONDS]
// prints the token on stdout (its expiry goes to stderr), ready for `authorization: Bearer <token>`.
import { parseArgs } from "node:util";
import { ADMIN_ROLE, createTokenService } from "../src/kernel/auth";
import { loadConfig } from "../src/kernel/config";

const USAGE = "usage: npm run token -- --admin [--subject NAME] [--ttl SECONDS]";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      admin: { type: "boolean", default: false },
      subject: { type: "string", default: "operator" },
      ttl: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.admin) throw new Error(`only operator (--admin) tokens are minted here; members log in. ${USAGE}`);
  const subject = values.subject.trim();
  if (subject === "") throw new Error("--subject must not be empty");
  const ttlSeconds = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttlSeconds !== undefined && (!Number.isInteger(ttlSeconds) || ttlSeconds < 1)) throw new Error("--ttl must be a positive integer");

  const tokens = createTokenService(loadConfig());
  const issued = await tokens.issue({ subject, roles: [ADMIN_ROLE] }, { ttlSeconds });
  console.log(issued.token);
  console.error(`admin token for "${subject}", expires ${issued.expiresAt.toISOString()}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
