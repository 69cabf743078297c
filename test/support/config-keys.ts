// The environment variables src/kernel/process/config.ts reads: names passed to env(), intEnv(), listEnv().
import { readFileSync } from "node:fs";
import path from "node:path";

export function configKeys(): string[] {
  const source = readFileSync(path.resolve(import.meta.dirname, "../../src/kernel/process/config.ts"), "utf8");
  return [...new Set([...source.matchAll(/\b(?:env|intEnv|listEnv|optionalListEnv)\(\s*"([A-Z0-9_]+)"/g)].map((m) => m[1]!))].sort();
}
