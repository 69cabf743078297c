// docs/configuration.md's table must name every environment variable src/kernel/process/config.ts reads,
// and nothing that it does not (so the README's table stays true as settings are added).
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configKeys } from "../support/config-keys";

const root = path.resolve(import.meta.dirname, "../..");

function documentedKeys(): string[] {
  const doc = readFileSync(path.join(root, "docs/configuration.md"), "utf8");
  return [...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]!).sort();
}

describe("configuration table", () => {
  it("finds the settings in config.ts", () => {
    expect(configKeys()).toEqual(expect.arrayContaining(["READ_DATABASE_URL", "EVENTSTORE_CONNECTION_STRING", "GRPC_TLS_CERT_FILE"]));
  });

  it("documents exactly the variables config.ts reads, once each", () => {
    const documented = documentedKeys();
    expect(new Set(documented).size).toBe(documented.length);
    expect(documented).toEqual(configKeys());
  });
});
