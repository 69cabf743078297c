// Why a connect-node RPC costs long young-generation pauses on Node 20: the same async-generator
// loop, compiled by the project's TypeScript once to ES2017 (down-levelled to the __asyncGenerator
// helpers, the form connect-es ships in) and once to ES2022 (native async generators), each run in
// its own `node --trace-gc-nvp` process. The report counts what the scavenges promote: with the
// helpers, objects that are garbage once a loop ends still survive the next scavenge.
// `npm run bench:gc-survival` → bench/results/gc-survival.md
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ts from "typescript";
import { gitRevision, loadAverage, machineDescription } from "./lib/machine";

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

const dir = mkdtempSync(path.join(os.tmpdir(), "eventmall-gc-survival-"));
try {
  const results = [run(dir, "es2017-helpers", ts.ScriptTarget.ES2017), run(dir, "es2022-native", ts.ScriptTarget.ES2022)];
  const rows = results.map((r) => `| ${r.variant} | ${r.scavenges} | ${r.allocatedMb.toFixed(1)} MB | ${r.promotedMb.toFixed(1)} MB | ${((100 * r.promotedMb) / Math.max(r.allocatedMb, 1e-9)).toFixed(1)}% |`);
  const report = [
    "# Young-generation survival: down-levelled vs native async generators",
    "",
    `Command: \`npm run bench:gc-survival\` — ${new Date().toISOString()}, commit ${gitRevision()}, node ${process.version}, TypeScript ${ts.version}.`,
    `Machine: ${machineDescription().join("; ")}. Load average: ${loadAverage()}.`,
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
  rmSync(dir, { recursive: true, force: true });
}
