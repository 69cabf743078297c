// What a listen address exposes: loopback addresses are reachable from this machine only; anything
// else (a wildcard such as 0.0.0.0 or ::, or an interface address) from the network.
import net from "node:net";

/** True for localhost, 127.0.0.0/8 and ::1 (also as ::ffff:127.x.y.z). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost") return true;
  if (net.isIPv4(bare)) return bare.startsWith("127.");
  if (net.isIPv6(bare)) return bare === "::1" || /^::ffff:127\./.test(bare) || bare === "0:0:0:0:0:0:0:1";
  return false;
}

/** 0.0.0.0 or :: (every interface). */
export function isWildcardHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  return bare === "0.0.0.0" || bare === "::" || bare === "0:0:0:0:0:0:0:0";
}

/** The address a client on this machine dials to reach a server listening on `host`. */
export function dialableHost(host: string): string {
  if (!isWildcardHost(host)) return host;
  return host.includes(":") ? "[::1]" : "127.0.0.1";
}

/** host:port as it appears in a URL (IPv6 in brackets). */
export function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
