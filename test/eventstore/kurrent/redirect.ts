// Setup file of vitest.kurrent.config.ts: every module of this process that asks for
// @eventstore/db-client gets @kurrent/kurrentdb-client instead — the tests, src/kernel, and the
// embedded store, which loads the client's generated gRPC stubs with require(). The two clients
// cannot share one process (both register the same google-protobuf message names), so the old
// one must never load: its package entry becomes ./client.ts, its generated/ files the new
// client's generated/kurrentdb/protocols/v1 files (the same .proto files, some renamed).
import { registerHooks } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const OLD = `${path.sep}node_modules${path.sep}@eventstore${path.sep}db-client${path.sep}`;
const shim = pathToFileURL(path.join(import.meta.dirname, "client.ts")).href;
const renamed: Record<string, string> = {
  persistent: "persistentsubscriptions",
  projections: "projectionmanagement",
  users: "usermanagement",
};

function redirect(oldPath: string): string {
  const inside = oldPath.slice(oldPath.lastIndexOf(OLD) + OLD.length);
  const generated = /^generated[\\/]([a-z]+)(_grpc)?_pb\.js$/.exec(inside);
  if (!generated) return shim;
  const [, name, grpc] = generated;
  const file = `${renamed[name!] ?? name}${grpc ?? ""}_pb.js`;
  return pathToFileURL(path.join(import.meta.dirname, "../../../node_modules/@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1", file)).href;
}

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (!resolved.url.startsWith("file:")) return resolved;
    const file = fileURLToPath(resolved.url);
    if (!file.includes(OLD)) return resolved;
    const url = redirect(file);
    return { ...resolved, url, format: url.endsWith(".ts") ? "module-typescript" : "commonjs", shortCircuit: true };
  },
});
