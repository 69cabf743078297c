// The supervisor with real (tiny) node child processes.
import { describe, expect, it } from "vitest";
import { startSupervisor, type ChildSpec } from "../../src/kernel/supervisor";

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
});
