// Secure mode: TLS from certificate files (EventStoreDB's CertificateFile / CertificatePrivateKeyFile)
// and basic authentication of the default users, admin and ops, whose passwords come from
// configuration (there is no default password in secure mode). As on EventStoreDB 24.10 with its
// defaults, a call without credentials is refused (AllowAnonymousStreamAccess=false), bad credentials
// get UNAUTHENTICATED, and discovery (Gossip, ServerFeatures) stays open.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { Metadata, ServerCredentials, ServerInterceptingCall, status, type ServerInterceptor } from "@grpc/grpc-js";

export interface SecurityOptions {
  certificateFile: string;
  certificatePrivateKeyFile: string;
  adminPassword: string;
  opsPassword: string;
}

/** A secure-mode setting that is missing or unusable: the store does not start. */
export class InvalidSecurityConfiguration extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidSecurityConfiguration";
  }
}

const OPEN_SERVICES = ["/event_store.client.gossip.", "/event_store.client.server_features."];

export type Caller = { kind: "user"; name: string } | { kind: "anonymous" } | { kind: "invalid" };

const digest = (text: string) => createHash("sha256").update(text).digest();

export class Users {
  private readonly passwords: Map<string, Buffer>;

  constructor(options: Pick<SecurityOptions, "adminPassword" | "opsPassword">) {
    for (const [name, password] of [["admin", options.adminPassword], ["ops", options.opsPassword]] as const) {
      if (!password) throw new InvalidSecurityConfiguration(`secure mode needs a password for the ${name} user (no default password in secure mode)`);
    }
    this.passwords = new Map([
      ["admin", digest(options.adminPassword)],
      ["ops", digest(options.opsPassword)],
    ]);
  }

  /** Who sent a call, from its `authorization: Basic base64(user:password)` header. */
  caller(metadata: Metadata): Caller {
    const header = metadata.get("authorization")[0]?.toString();
    if (!header) return { kind: "anonymous" };
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
    if (!match) return { kind: "invalid" };
    const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return { kind: "invalid" };
    const name = decoded.slice(0, colon);
    const expected = this.passwords.get(name);
    return expected && timingSafeEqual(expected, digest(decoded.slice(colon + 1))) ? { kind: "user", name } : { kind: "invalid" };
  }
}

/** The user name a call's basic-auth header names (no check: use after the interceptor), "" without one. */
export function userNameOf(metadata: Metadata): string {
  const header = metadata.get("authorization")[0]?.toString() ?? "";
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!match) return "";
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  return decoded.includes(":") ? decoded.slice(0, decoded.indexOf(":")) : "";
}

function refusal(code: status, details: string): { code: status; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  if (code === status.PERMISSION_DENIED) metadata.set("exception", "access-denied");
  return { code, details, metadata };
}

export function authenticate(users: Users): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            if (OPEN_SERVICES.some((prefix) => method.path.startsWith(prefix))) return nextMetadata(metadata);
            const caller = users.caller(metadata);
            if (caller.kind === "user") return nextMetadata(metadata);
            if (caller.kind === "invalid") call.sendStatus(refusal(status.UNAUTHENTICATED, "Bad username or password."));
            else call.sendStatus(refusal(status.PERMISSION_DENIED, "Access denied: credentials are required."));
          },
        });
      },
    });
}

export function tlsCredentials(options: SecurityOptions): ServerCredentials {
  let certificate: Buffer;
  let key: Buffer;
  try {
    certificate = readFileSync(options.certificateFile);
    key = readFileSync(options.certificatePrivateKeyFile);
  } catch (error) {
    throw new InvalidSecurityConfiguration(`cannot read the certificate or its key: ${(error as Error).message}`);
  }
  return ServerCredentials.createSsl(null, [{ cert_chain: certificate, private_key: key }], false);
}
