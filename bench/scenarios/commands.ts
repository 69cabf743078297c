// Benchmark 3: product commands end to end over gRPC: this process (the load generator) → command
// service process → embedded store process (on disk). IncreaseInventory on a pool of products, so
// each command loads its aggregate (snapshot + tail), decides and appends.
import { randomBytes } from "node:crypto";
import { EventStoreDBClient, jsonEvent } from "@eventstore/db-client";
import { Health } from "../../gen/grpc/health/v1/health_pb";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { ADMIN_ROLE, createTokenService } from "../../src/kernel/auth/auth";
import { freePort, gcBetween, readGcPauses, type GcPauses } from "../lib/gc-metrics";
import { unaryCaller } from "../lib/grpc-unary";
import { closedLoop, openLoop, type LoadResult } from "../lib/load";
import { processCpuMillis, startServiceProcess } from "../lib/processes";

export interface CommandLoadOptions {
  connectionString: string;
  dataDir: string;
  products: number;
  ratesPerSecond: number[];
  durationMs: number;
  /** Time at each offered load before the measured run (not counted). */
  warmupMs: number;
  saturationConcurrency: number;
  /** The store's process, for its CPU time per command. */
  storePid?: number;
  /** Rate of the two floor runs (an empty RPC; an append straight to the store); undefined: none. */
  floorRatePerSecond?: number;
}

/** A fixed-rate run: its warm-up apart, and the command service's collections while measured. */
export type RateResult = LoadResult & { warmup?: LoadResult; gc: GcPauses };

/**
 * The two halves of a command's path, each on its own at the same offered rate: an RPC that does
 * nothing (grpc.health.v1 Check on the command service: load generator, HTTP/2, connect-node) and
 * an append straight to the store through the official client from the load generator. A command
 * cannot be faster than the two in sequence.
 */
export interface FloorResult {
  emptyRpc: RateResult;
  storeAppend: LoadResult;
}

/** CPU time per completed command in the saturation run, by process (ms). */
export interface CpuPerCommand {
  commandService: number;
  store?: number;
  loadGenerator: number;
}

export interface CommandLoadResult {
  /** gc: the command service's collections during the measured run (from its /metrics). */
  fixed: RateResult[];
  saturation: LoadResult;
  cpuPerCommand: CpuPerCommand;
  floor?: FloorResult;
}

export async function runCommandLoad(options: CommandLoadOptions): Promise<CommandLoadResult> {
  const secret = randomBytes(32).toString("base64url");
  const metricsPort = await freePort();
  const command = await startServiceProcess(
    "command",
    [],
    {
      EVENTSTORE_CONNECTION_STRING: options.connectionString,
      COMMAND_PORT: "0",
      COMMAND_CONTEXTS: "product",
      AUTH_TOKEN_SECRET: secret,
      DATA_DIR: options.dataDir,
      COMMAND_METRICS_PORT: String(metricsPort),
    },
    /command service listening on (\S+)/,
  );
  try {
    const tokens = createTokenService({ dataDir: options.dataDir, auth: { tokenSecret: secret, tokenTtlSeconds: 3600 } });
    const { token } = await tokens.issue({ subject: "bench", roles: [ADMIN_ROLE] });
    // Setup and load both go through a lean grpc-js caller (see grpc-unary.ts); a deadline per
    // call, so a stalled service cannot keep the benchmark from ending.
    const auth = { authorization: `Bearer ${token}` };
    const createProduct = unaryCaller(command.match[1]!, ProductCommandService.method.createProduct, auth);
    const increaseInventory = unaryCaller(command.match[1]!, ProductCommandService.method.increaseInventory, auth);

    const productIds: string[] = [];
    let created = 0;
    await closedLoop(8, 600_000, async () => {
      const { productId } = await createProduct.call({ name: `Bench product ${created++}`, price: 100n, inventory: 1n }, 30_000);
      productIds.push(productId);
    }, options.products);
    createProduct.close();
    if (productIds.length !== options.products) throw new Error(`created ${productIds.length} of ${options.products} products`);
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    let next = 0;
    const increase = () => increaseInventory.call({ productId: productIds[next++ % productIds.length]!, quantity: 1n }, 30_000);

    await closedLoop(4, Math.min(1000, options.durationMs), increase); // warm up connections and JIT
    const fixed: CommandLoadResult["fixed"] = [];
    for (const rate of options.ratesPerSecond) fixed.push(await atRate(options, metricsUrl, rate, increase));
    const floor = options.floorRatePerSecond === undefined ? undefined : await runFloors(options, command.match[1]!, metricsUrl, options.floorRatePerSecond);
    const cpuOf = (pid: number | undefined) => (pid === undefined ? undefined : processCpuMillis(pid));
    const before = { command: cpuOf(command.child.pid)!, store: cpuOf(options.storePid), generator: process.cpuUsage() };
    const saturation = await closedLoop(options.saturationConcurrency, options.durationMs, increase);
    const generator = process.cpuUsage(before.generator);
    const perCommand = (ms: number) => ms / Math.max(1, saturation.completed);
    const cpuPerCommand: CpuPerCommand = {
      commandService: perCommand(cpuOf(command.child.pid)! - before.command),
      store: before.store === undefined ? undefined : perCommand(cpuOf(options.storePid)! - before.store),
      loadGenerator: perCommand((generator.user + generator.system) / 1000),
    };
    increaseInventory.close();
    return { fixed, saturation, cpuPerCommand, floor };
  } finally {
    await command.stop();
  }
}

/**
 * Open loop at `rate` for the measured duration, after the warm-up at that rate: a service that was
 * idle needs a moment at a new rate (JIT, heap growth, connection windows), so its first seconds
 * are reported apart, not mixed in. `gc`: the command service's collections while measured.
 */
async function atRate(options: CommandLoadOptions, metricsUrl: string, rate: number, call: () => Promise<unknown>): Promise<RateResult> {
  const warmup = options.warmupMs > 0 ? await openLoop(rate, options.warmupMs, call) : undefined;
  const gcBefore = await readGcPauses(metricsUrl);
  const measured = await openLoop(rate, options.durationMs, call);
  return { ...measured, warmup, gc: gcBetween(gcBefore, await readGcPauses(metricsUrl)) };
}

async function runFloors(options: CommandLoadOptions, commandUrl: string, metricsUrl: string, rate: number): Promise<FloorResult> {
  const health = unaryCaller(commandUrl, Health.method.check, {});
  const check = () => health.call({}, 30_000);
  const client = EventStoreDBClient.connectionString(options.connectionString);
  let next = 0;
  const append = () => client.appendToStream(`benchfloor-${next++ % options.products}`, jsonEvent({ type: "FloorMeasured", data: { n: next } }));
  try {
    const emptyRpc = await atRate(options, metricsUrl, rate, check);
    if (options.warmupMs > 0) await openLoop(rate, options.warmupMs, append);
    const storeAppend = await openLoop(rate, options.durationMs, append);
    return { emptyRpc, storeAppend };
  } finally {
    health.close();
    await client.dispose();
  }
}
