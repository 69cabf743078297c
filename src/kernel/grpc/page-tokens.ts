// Page tokens of keyset-paged list queries: base64url JSON of the last row's sort key and id,
// plus a scope (what the token was issued for: a filter and sort, a caller) so that a token is
// refused when reused with another query. Opaque to clients; every refusal is INVALID_ARGUMENT
// on page_token.
import type { ConnectError } from "@connectrpc/connect";
import { invalidArgument } from "./errors";

export interface PageTokenOptions<Key extends string> {
  /** The RPC's name, for "not a token issued by <method>". */
  method: string;
  /** The cursor's fields, each a string. */
  keys: readonly Key[];
  /** The token's field holding the scope (default "s"). */
  scopeKey?: string;
  /** Description when the scope differs, e.g. "was issued to another caller". */
  wrongScope: string;
}

export interface PageTokens<Key extends string> {
  encode(cursor: Record<Key, string>, scope: string): string;
  /** The cursor of a token issued for `scope`; throws INVALID_ARGUMENT otherwise. */
  decode(token: string, scope: string): Record<Key, string>;
  /** The error for a token whose fields do not parse (a context's own cursor checks). */
  notIssuedHere(): ConnectError;
}

export function pageTokens<Key extends string>(options: PageTokenOptions<Key>): PageTokens<Key> {
  const scopeKey = options.scopeKey ?? "s";
  const bad = (description: string) => invalidArgument([{ field: "page_token", description }]);
  const notIssuedHere = () => bad(`not a token issued by ${options.method}`);
  return {
    encode: (cursor, scope) => Buffer.from(JSON.stringify({ ...cursor, [scopeKey]: scope })).toString("base64url"),
    decode(token, scope) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
      } catch {
        throw notIssuedHere();
      }
      if (!parsed || typeof parsed !== "object") throw notIssuedHere();
      const fields = parsed as Record<string, unknown>;
      if ([...options.keys, scopeKey].some((key) => typeof fields[key] !== "string")) throw notIssuedHere();
      if (fields[scopeKey] !== scope) throw bad(options.wrongScope);
      return Object.fromEntries(options.keys.map((key) => [key, fields[key]])) as Record<Key, string>;
    },
    notIssuedHere,
  };
}
