// The README's commands, as written, against a started suite: the "Try it" block (buf curl and the
// Connect curl example; grpcurl lines too when grpcurl is installed), the shop scenario and the
// "Order lifecycle" wait. The blocks are read from README.md, never copied here, so the README
// cannot drift from the code. The one change made to them: the default ports 50051/50052 (checked
// to be the configuration's defaults) become the ports the test suite got.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/kernel/process/config";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { pollUntil, startSuite, type RunningSuite } from "./suite";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

/** The ```sh blocks of each `## ` section of the README, by section title. */
function shellBlocksBySection(markdown: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let title = "";
  for (const part of markdown.split(/^(## .*)$/m)) {
    if (part.startsWith("## ")) title = part.slice(3).trim();
    else for (const match of part.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) sections.set(title, [...(sections.get(title) ?? []), match[1]!]);
  }
  return sections;
}

/** A block's commands, continuation lines joined; comments and blank lines dropped. */
function commandsOf(block: string): string[] {
  return block
    .split(/(?<!\\)\n/)
    .map((command) => command.trim())
    .filter((command) => command !== "" && !command.startsWith("#"));
}

const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
const blocks = shellBlocksBySection(readme);
const [tryIt, shopScenario] = blocks.get("Try it") ?? [];
const [waitForOutcome] = blocks.get("Order lifecycle") ?? [];

async function hasGrpcurl(): Promise<boolean> {
  return run("bash", ["-c", "command -v grpcurl"]).then(
    () => true,
    () => false,
  );
}

describe("the README's commands, as written, against a started suite", () => {
  let suite: RunningSuite;
  let readDb: ReadDb;
  let toSuite: (script: string) => string;

  /** Runs the commands in one shell (they share variables); returns what each one printed. */
  const bash = async (commands: string[]) => {
    // curl prints no newline after its JSON: the marker starts with one.
    const script = commands.map((command, i) => `printf '\\n@@@ ${i}\\n'\n${toSuite(command)}`).join("\n");
    const { stdout } = await run("bash", ["-euo", "pipefail", "-c", script], { cwd: repoRoot, env: suite.env, timeout: 120_000 });
    const printed = new Map<string, string>();
    for (const [, index, text] of stdout.matchAll(/^@@@ (\d+)\n([\s\S]*?)(?=^@@@ |(?![\s\S]))/gm)) printed.set(commands[Number(index)]!, text!);
    expect([...printed.keys()]).toEqual(commands);
    return printed;
  };
  /** The output of the one command that contains `text`. */
  const outputOf = (printed: Map<string, string>, text: string) => {
    const matching = [...printed].filter(([command]) => command.includes(text));
    expect(matching, `exactly one command contains ${text}`).toHaveLength(1);
    return matching[0]![1];
  };
  /** Every call (curl, buf curl, grpcurl) printed something, and no error. */
  const expectEveryCallAnswered = (printed: Map<string, string>) => {
    for (const [command, output] of printed) {
      if (!/^(curl|npx buf curl|grpcurl)\b/.test(command)) continue;
      expect(output.trim(), command).not.toBe("");
      expect(output, command).not.toMatch(/"code":\s*"/);
    }
  };

  beforeAll(async () => {
    suite = await startSuite();
    readDb = await openReadDb(`file:${path.join(suite.env.DATA_DIR!, "read.db")}`);
    const address = (url: string) => new URL(url).host;
    toSuite = (script) => script.replaceAll("127.0.0.1:50051", address(suite.commandUrl)).replaceAll("127.0.0.1:50052", address(suite.queryUrl));
  }, 180_000);
  afterAll(async () => {
    await readDb?.$disconnect();
    await suite?.stop();
  }, 60_000);

  it("finds the blocks, naming the configuration's default ports", () => {
    expect(tryIt && shopScenario && waitForOutcome).toBeTruthy();
    const saved = { COMMAND_PORT: process.env.COMMAND_PORT, QUERY_PORT: process.env.QUERY_PORT, EVENTMALL_HOST: process.env.EVENTMALL_HOST };
    for (const name of Object.keys(saved)) delete process.env[name];
    try {
      const config = loadConfig();
      expect(`${config.host}:${config.command.port}`).toBe("127.0.0.1:50051");
      expect(`${config.host}:${config.query.port}`).toBe("127.0.0.1:50052");
    } finally {
      for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
    }
    // Every grpcurl example has a buf curl one beside it, for machines without grpcurl.
    const commands = commandsOf(tryIt!);
    expect(commands.filter((c) => c.startsWith("npx buf curl")).length).toBeGreaterThanOrEqual(commands.filter((c) => c.startsWith("grpcurl")).length);
  });

  it("runs the Try it block: token, (grpcurl,) buf curl listing, creating and listing, Connect JSON curl", async () => {
    const grpcurl = await hasGrpcurl();
    const commands = commandsOf(tryIt!).filter((command) => grpcurl || !command.startsWith("grpcurl"));
    const printed = await bash(commands);
    expectEveryCallAnswered(printed);
    expect(outputOf(printed, "--list-services")).toContain("eventmall.product.v1.ProductCommandService\n");
    expect(outputOf(printed, "--list-methods")).toMatch(/eventmall\.product\.v1\.ProductCommandService[./]CreateProduct/);
    expect(outputOf(printed, '"name":"Mouse"')).toMatch(/"productId":\s*"[0-9a-f-]{36}"/);
    expect(outputOf(printed, "npx buf curl --protocol grpc --http2-prior-knowledge -d '{\"page_size\":5}'")).toMatch(/"products":/);
    const connect = outputOf(printed, "curl -s -H 'content-type: application/json'");
    expect(JSON.parse(connect)).toMatchObject({ products: expect.arrayContaining([expect.objectContaining({ name: "Mouse" })]) });
  }, 180_000);

  it("runs the shop scenario and the Order lifecycle wait: the order ends CONFIRMED", async () => {
    // A person types these seconds after creating products: let the read models have them first.
    await pollUntil(async () => ((await readDb.orderCatalogProduct.count()) > 0 && (await readDb.product.count()) > 0 ? true : undefined), "products in the read models");
    const printed = await bash([...commandsOf(shopScenario!), ...commandsOf(waitForOutcome!)]);
    expectEveryCallAnswered(printed);
    expect(outputOf(printed, "RegisterMember")).toMatch(/"memberId":\s*"[0-9a-f-]{36}"/);
    expect(outputOf(printed, "PlaceOrder")).toMatch(/"orderId":\s*"[0-9a-f-]{36}".*"positionToken":/);
    expect(outputOf(printed, "ListMemberOrders")).toMatch(/"orders":\[\{"orderId"/);
    expect(JSON.parse(outputOf(printed, "GetOrder"))).toMatchObject({ order: { status: "ORDER_STATUS_CONFIRMED" } });
  }, 180_000);
});
