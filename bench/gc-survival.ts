// Why a connect-node RPC costs long young-generation pauses on Node 20, in two parts.
// 1. An empty unary RPC (grpc.health.v1 Check) at a fixed rate against a server that answers it
//    through connect-node and against one that answers the same bytes from node:http2
//    (lib/empty-rpc-server.ts), each in its own `node --trace-gc-nvp` process: latency, scavenges,
//    what they promote.
// 2. The same async-generator loop, compiled by the project's TypeScript once to ES2017
//    (down-levelled to the __asyncGenerator helpers, the form connect-es ships in) and once to
//    ES2022 (native async generators): with the helpers, objects that are garbage once a loop ends
//    still survive the next scavenge.
// `npm run bench:gc-survival` → bench/results/gc-survival.md
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ts from "typescript";
import { Health } from "../gen/grpc/health/v1/health_pb";
import { unaryCaller } from "./lib/grpc-unary";
import { ms } from "./lib/histogram";
import { closedLoop, openLoop, type LoadResult } from "./lib/load";
import { gitRevision, loadAverage, machineDescription } from "./lib/machine";
import { killAllStarted, startScriptProcess } from "./lib/processes";

const RPC_RATE = Number(process.env.BENCH_GC_RATE ?? 500);
const RPC_SECONDS = Number(process.env.BENCH_GC_RPC_SECONDS ?? 5);

const SECONDS = Number(process.env.BENCH_GC_SECONDS ?? 4);

// Each tick drains a few short async iterations over a freshly built payload, then lets go of it.
const LOOP = `
export async function* items(source) { for (const item of source) yield item; }
export async function drain(source) { let n = 0; for await (const item of items(source)) n += item.length ?? 1; return n; }
`;
const DRIVER = (module: string) => `
import { drain } from "./${module}";
const until = Date.now() + ${SECONDS * 1000};
const tick = setInterval(() => {
  for (let i = 0; i < 5; i++) void drain([Array.from({ length: 50 }, (_, n) => ({ n })), [1], [2]]);
  if (Date.now() > until) clearInterval(tick);
}, 1);
`;

interface Survival {
  variant: string;
  scavenges: number;
  allocatedMb: number;
  promotedMb: number;
}

function run(dir: string, variant: string, target: ts.ScriptTarget): Survival {
  const module = `loop-${variant}.mjs`;
  writeFileSync(path.join(dir, module), ts.transpileModule(LOOP, { compilerOptions: { target, module: ts.ModuleKind.ESNext } }).outputText);
  writeFileSync(path.join(dir, `driver-${variant}.mjs`), DRIVER(module));
  const trace = execFileSync(process.execPath, ["--trace-gc-nvp", path.join(dir, `driver-${variant}.mjs`)], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const scavenges = trace.split("\n").filter((line) => / gc=s /.test(line));
  const sum = (field: string) => scavenges.reduce((total, line) => total + Number(line.match(new RegExp(` ${field}=(\\d+)`))?.[1] ?? 0), 0) / 1e6;
  return { variant, scavenges: scavenges.length, allocatedMb: sum("allocated"), promotedMb: sum("promoted") };
}

interface ServerRun {
  server: string;
  load: LoadResult;
  scavenges: number;
  meanPauseMs: number;
  promotedPerScavengeMb: number;
  markCompacts: number;
}

const field = (line: string, name: string) => Number(line.match(new RegExp(` ${name}=([\\d.]+)`))?.[1] ?? 0);

/** Starts the server in `mode`, warms it up, then measures RPC_SECONDS at RPC_RATE; GC from its trace during the measured part only. */
async function measureServer(mode: "connect" | "http2"): Promise<ServerRun> {
  const lines: string[] = [];
  const server = await startScriptProcess(`empty-rpc-${mode}`, path.join("bench", "lib", "empty-rpc-server.ts"), [mode], {}, /^listening (\d+)/, {
    nodeArgs: ["--trace-gc-nvp"],
    onLine: (line) => lines.push(line),
  });
  try {
    const check = unaryCaller(`http://127.0.0.1:${server.match[1]}`, Health.method.check, {});
    const call = () => check.call({}, 30_000);
    await closedLoop(4, 1000, call);
    await openLoop(RPC_RATE, 2000, call);
    const from = lines.length;
    const load = await openLoop(RPC_RATE, RPC_SECONDS * 1000, call);
    const measured = lines.slice(from);
    check.close();
    const scavenges = measured.filter((line) => / gc=s /.test(line));
    return {
      server: mode === "connect" ? "connect-node (connectNodeAdapter)" : "node:http2, same bytes",
      load,
      scavenges: scavenges.length,
      meanPauseMs: scavenges.reduce((total, line) => total + field(line, "pause"), 0) / Math.max(1, scavenges.length),
      promotedPerScavengeMb: scavenges.reduce((total, line) => total + field(line, "promoted"), 0) / Math.max(1, scavenges.length) / 1e6,
      markCompacts: measured.filter((line) => / gc=mc /.test(line)).length,
    };
  } finally {
    await server.stop();
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), "eventmall-gc-survival-"));
try {
  const servers = [await measureServer("connect"), await measureServer("http2")];
  const serverRows = servers.map(
    (r) =>
      `| ${r.server} | ${r.load.completed} of ${r.load.sent} | ${ms(r.load.latency.p50Ms)} | ${ms(r.load.latency.p99Ms)} | ${r.scavenges} | ${r.meanPauseMs.toFixed(1)} ms | ${r.promotedPerScavengeMb.toFixed(2)} MB | ${r.markCompacts} |`,
  );
  const results = [run(dir, "es2017-helpers", ts.ScriptTarget.ES2017), run(dir, "es2022-native", ts.ScriptTarget.ES2022)];
  const rows = results.map((r) => `| ${r.variant} | ${r.scavenges} | ${r.allocatedMb.toFixed(1)} MB | ${r.promotedMb.toFixed(1)} MB | ${((100 * r.promotedMb) / Math.max(r.allocatedMb, 1e-9)).toFixed(1)}% |`);
  const report = [
    "# Young-generation survival: connect-node vs node:http2, down-levelled vs native async generators",
    "",
    `Command: \`npm run bench:gc-survival\` — ${new Date().toISOString()}, commit ${gitRevision()}, node ${process.version}, TypeScript ${ts.version}.`,
    `Machine: ${machineDescription().join("; ")}. Load average: ${loadAverage()}.`,
    "",
    `## 1. An empty RPC at ${RPC_RATE}/s`,
    "",
    `grpc.health.v1.Health/Check from this process (the lean grpc-js caller of benchmark 3, open loop, latency from the scheduled send time) for ${RPC_SECONDS} s after 3 s of warm-up, against a server process (bench/lib/empty-rpc-server.ts) that answers through connect-node or writes the same bytes from node:http2. Scavenges and mark-compacts are the server's during the measured seconds (--trace-gc-nvp).`,
    "",
    "| server | done | p50 | p99 | scavenges | mean scavenge pause | promoted per scavenge | mark-compacts |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...serverRows,
    "",
    "## 2. One loop, down-levelled vs native",
    "",
    `The same loop (bench/gc-survival.ts: an async generator drained with for await, five times a millisecond for ${SECONDS} s), compiled to ES2017 (TypeScript's __asyncGenerator helpers, the form @connectrpc/connect ships in) and to ES2022 (native). Figures are the sums over the run's scavenges from --trace-gc-nvp.`,
    "",
    "| variant | scavenges | allocated | promoted | promoted / allocated |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
  writeFileSync(path.join(import.meta.dirname, "results", "gc-survival.md"), report);
  process.stdout.write(`${report}\nwritten to bench/results/gc-survival.md\n`);
} finally {
  killAllStarted();
  rmSync(dir, { recursive: true, force: true });
}
