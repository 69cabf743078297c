// The supervisor with real (tiny) node child processes.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { startSupervisor, type ChildSpec } from "../../src/kernel/process/supervisor";

// A child that prints its ready line (with an address built from its env), reports SIGTERM, and
// exits on it unless told to ignore it.
function child(name: string, options: { ignoreTerm?: boolean; dieAfterMs?: number; env?: ChildSpec["env"] } = {}): ChildSpec {
  const script = `
    process.on("SIGTERM", () => {
      console.log("got SIGTERM");
      if (!${Boolean(options.ignoreTerm)}) process.exit(0);
    });
    console.log("ready at mem://${name}/" + (process.env.UPSTREAM ?? "none"));
    ${options.dieAfterMs === undefined ? "" : `setTimeout(() => process.exit(3), ${options.dieAfterMs});`}
    setInterval(() => {}, 1000);
  `;
  return { name, command: process.execPath, args: ["-e", script], readyLine: /ready at (\S+)/, env: options.env };
}

describe("supervisor", () => {
  it("starts in order, passes earlier addresses on, prefixes output and stops in reverse order", async () => {
    const lines: string[] = [];
    const supervisor = await startSupervisor({
      children: [child("a"), child("b", { env: (addresses) => ({ UPSTREAM: addresses.a! }) })],
      output: (line) => lines.push(line),
    });
    expect(supervisor.addresses).toEqual({ a: "mem://a/none", b: "mem://b/mem://a/none" });
    await supervisor.stop();
    const stops = lines.filter((line) => line.endsWith("got SIGTERM"));
    expect(stops).toEqual(["[b] got SIGTERM", "[a] got SIGTERM"]);
  });

  it("kills a child that ignores SIGTERM after the stop timeout", async () => {
    const lines: string[] = [];
    const supervisor = await startSupervisor({
      children: [child("stubborn", { ignoreTerm: true })],
      output: (line) => lines.push(line),
      stopTimeoutMs: 300,
    });
    await supervisor.stop();
    expect(lines).toContain("[stubborn] got SIGTERM");
    expect(lines.some((line) => line.includes("stubborn did not stop"))).toBe(true);
  });

  it("stops the others and reports the failure when a child dies on its own", async () => {
    const lines: string[] = [];
    const supervisor = await startSupervisor({
      children: [child("steady"), child("fragile", { dieAfterMs: 300 })],
      output: (line) => lines.push(line),
    });
    const exit = await supervisor.failed;
    expect(exit).toEqual({ name: "fragile", code: 3, signal: null });
    expect(lines).toContain("[steady] got SIGTERM");
  });

  it("rejects, after stopping what it started, when a child exits before it is ready", async () => {
    const lines: string[] = [];
    const broken: ChildSpec = { name: "broken", command: process.execPath, args: ["-e", "process.exit(2)"], readyLine: /never/ };
    await expect(
      startSupervisor({ children: [child("first"), broken], output: (line) => lines.push(line) }),
    ).rejects.toThrow(/broken exited before it was ready/);
    expect(lines).toContain("[first] got SIGTERM");
  });

  it("waits for gRPC health SERVING, over plaintext and over TLS with a self-signed certificate", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "supervisor-grpc-"));
    try {
      const cert = path.join(dir, "cert.pem");
      const key = path.join(dir, "key.pem");
      await promisify(execFile)("openssl", [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
        "-keyout", key, "-out", cert,
      ]);
      const script = path.join(dir, "grpc-child.mts");
      const serverModule = path.resolve(import.meta.dirname, "../../src/kernel/grpc/server.ts");
      await fs.writeFile(
        script,
        `import { startGrpcServer } from ${JSON.stringify(serverModule)};
         const tls = process.env.CERT ? { certFile: process.env.CERT, keyFile: process.env.KEY! } : undefined;
         const server = await startGrpcServer({ name: "child", port: 0, services: [], tls });
         console.log("child listening on " + server.url);
         process.on("SIGTERM", () => server.close().then(() => process.exit(0)));`,
      );
      const grpcChild = (name: string, env: Record<string, string>): ChildSpec => ({
        name,
        command: process.execPath,
        args: ["--import", "tsx", script],
        readyLine: /child listening on (\S+)/,
        grpcHealth: true,
        env: () => env,
      });
      const supervisor = await startSupervisor({
        children: [grpcChild("plain", {}), grpcChild("secure", { CERT: cert, KEY: key })],
        cwd: path.resolve(import.meta.dirname, "../.."),
        output: () => {},
      });
      expect(supervisor.addresses.plain).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(supervisor.addresses.secure).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      await supervisor.stop();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
