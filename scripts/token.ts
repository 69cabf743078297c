// Operator CLI: mints an access token with this installation's secret (AUTH_TOKEN_SECRET, else
// <DATA_DIR>/token-secret).
//   npm run token -- --admin [--subject NAME] [--ttl SECONDS]
//   npm run token -- --role reports [--subject NAME] [--ttl SECONDS]   (report readers, no admin rights)
// prints the token on stdout (its expiry goes to stderr), ready for `authorization: Bearer <token>`.
import { parseArgs } from "node:util";
import { ADMIN_ROLE, createTokenService } from "../src/kernel/auth/auth";
import { loadConfig } from "../src/kernel/process/config";
import { REPORTS_ROLE } from "../src/report/queries";

const USAGE = "usage: npm run token -- (--admin | --role reports) [--subject NAME] [--ttl SECONDS]";
/** Roles an operator token may carry ("member" comes only from Login). */
const OPERATOR_ROLES = [ADMIN_ROLE, REPORTS_ROLE];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      admin: { type: "boolean", default: false },
      role: { type: "string", multiple: true, default: [] },
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
  const roles = [...new Set([...(values.admin ? [ADMIN_ROLE] : []), ...values.role])];
  const unknown = roles.filter((role) => !OPERATOR_ROLES.includes(role));
  if (unknown.length > 0) throw new Error(`unknown role ${unknown.join(", ")}: operator tokens carry ${OPERATOR_ROLES.join(" or ")}. ${USAGE}`);
  if (roles.length === 0) throw new Error(`only operator tokens (--admin, --role reports) are minted here; members log in. ${USAGE}`);
  const subject = values.subject.trim();
  if (subject === "") throw new Error("--subject must not be empty");
  const ttlSeconds = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttlSeconds !== undefined && (!Number.isInteger(ttlSeconds) || ttlSeconds < 1)) throw new Error("--ttl must be a positive integer");

  const tokens = createTokenService(loadConfig());
  const issued = await tokens.issue({ subject, roles }, { ttlSeconds });
  console.log(issued.token);
  console.error(`${roles.join("+")} token for "${subject}", expires ${issued.expiresAt.toISOString()}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
