// Benchmark sizes: the defaults fit this 2-core machine in a few minutes; every size can be raised
// with a flag (--members 1000000) or the matching environment variable (BENCH_MEMBERS=1000000).
// --quick shrinks everything to a smoke run (seconds), used by test/bench.

export interface BenchOptions {
  quick: boolean;
  out: string;
  events: number;
  tail: number;
  loads: number;
  members: number;
  withdrawnShare: number;
  replaySample: number;
  queryRuns: number;
  products: number;
  rates: number[];
  commandSeconds: number;
  /** Seconds at each offered load before the measured ones (not counted). */
  commandWarmup: number;
  saturationConcurrency: number;
  appends: number;
  appendConcurrency: number[];
  rehydrateRuns: number;
  postgresUrl: string;
  /** The whole run is stopped (and cleaned up) after this long. */
  maxMinutes: number;
}

const DEFAULTS = {
  events: 10_000,
  // Half the shipped SNAPSHOT_EVERY (20): the mean tail while snapshots keep up.
  tail: 10,
  loads: 50,
  members: 1_000_000,
  "withdrawn-share": 0.1,
  "replay-sample": 1000,
  "query-runs": 50,
  products: 200,
  rates: "100,500,1000",
  "command-seconds": 5,
  "command-warmup": 3,
  "saturation-concurrency": 32,
  appends: 1000,
  "append-concurrency": "1,16",
  "rehydrate-runs": 20,
  "postgres-url": "postgresql://postgres@127.0.0.1:5432/postgres",
  "max-minutes": 30,
};

const QUICK: Partial<Record<keyof typeof DEFAULTS, number | string>> = {
  events: 300,
  tail: 5,
  loads: 5,
  members: 2000,
  "replay-sample": 50,
  "query-runs": 5,
  products: 5,
  rates: "20,50",
  "command-seconds": 0.5,
  "command-warmup": 0.2,
  "saturation-concurrency": 4,
  appends: 50,
  "append-concurrency": "1,4",
  "rehydrate-runs": 3,
};

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, defaultOut: string): BenchOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new Error(`unexpected argument "${arg}"`);
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    if (name === "quick") flags.set(name, "true");
    else if (inline !== undefined) flags.set(name, inline);
    else if (i + 1 < argv.length) flags.set(name, argv[++i]!);
    else throw new Error(`--${name} needs a value`);
  }
  const quick = flags.get("quick") === "true" || env.BENCH_QUICK === "1";
  const known = new Set([...Object.keys(DEFAULTS), "quick", "out"]);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name}`);

  const raw = (name: keyof typeof DEFAULTS): string =>
    flags.get(name) ?? env[`BENCH_${name.toUpperCase().replaceAll("-", "_")}`] ?? String((quick ? QUICK[name] : undefined) ?? DEFAULTS[name]);
  const number = (name: keyof typeof DEFAULTS, min: number): number => {
    const value = Number(raw(name));
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number ≥ ${min}, got "${raw(name)}"`);
    return value;
  };
  const list = (name: keyof typeof DEFAULTS): number[] => {
    const values = raw(name).split(",").map(Number);
    if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`--${name} must be a comma-separated list of positive integers`);
    return values;
  };
  const options: BenchOptions = {
    quick,
    out: flags.get("out") ?? env.BENCH_OUT ?? defaultOut,
    events: number("events", 3),
    tail: number("tail", 0),
    loads: number("loads", 1),
    members: number("members", 10),
    withdrawnShare: number("withdrawn-share", 0.001),
    replaySample: number("replay-sample", 1),
    queryRuns: number("query-runs", 1),
    products: number("products", 1),
    rates: list("rates"),
    commandSeconds: number("command-seconds", 0.1),
    commandWarmup: number("command-warmup", 0),
    saturationConcurrency: number("saturation-concurrency", 1),
    appends: number("appends", 1),
    appendConcurrency: list("append-concurrency"),
    rehydrateRuns: number("rehydrate-runs", 1),
    postgresUrl: raw("postgres-url"),
    maxMinutes: number("max-minutes", 0.1),
  };
  if (options.tail > options.events - 2) throw new Error("--tail must be at most --events minus 2");
  if (options.withdrawnShare > 1) throw new Error("--withdrawn-share must be at most 1");
  return options;
}

/** The command line of this run. */
export function commandLine(argv: string[]): string {
  return ["npm run bench", ...(argv.length > 0 ? ["--", ...argv] : [])].join(" ");
}
