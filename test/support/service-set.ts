// The service processes of a fault scenario (store, command service, query service, projector):
// started with their settings, SIGKILLed and started again on the same ports and files, and
// watched for deaths nobody planned. Shared by the crash and read-database-outage scenarios.
import net from "node:net";
import { startService, type ServiceProcess } from "./processes";

export type ServiceName = "eventstore" | "command" | "query" | "projector";

const READY_LINE: Record<ServiceName, RegExp> = {
  eventstore: /eventstore listening on/,
  command: /command service listening/,
  query: /query service listening/,
  projector: /"msg":"projector started"/,
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ServiceSet<Name extends ServiceName> {
  readonly running = new Map<Name, ServiceProcess>();
  /** Every process started, in order (a restarted service appears once per start). */
  readonly started: Array<{ name: Name; service: ServiceProcess }> = [];
  /** Processes that died without being killed by us. */
  readonly unplannedExits: string[] = [];
  private readonly killedByUs = new Set<ServiceProcess>();
  private stopping = false;

  constructor(
    /** Each service's environment, asked for at every start (ports and files stay the same). */
    private readonly env: Record<Name, () => Record<string, string>>,
    private readonly onReady: (name: Name) => void = () => undefined,
  ) {}

  async start(name: Name): Promise<ServiceProcess> {
    const service = startService(name, this.env[name]());
    this.running.set(name, service);
    this.started.push({ name, service });
    void service.exited.then((how) => {
      if (!this.killedByUs.has(service) && this.running.get(name) === service && !this.stopping) {
        this.unplannedExits.push(`${name} exited (${String(how)}): ${service.lines.slice(-5).join(" | ")}`);
      }
    });
    await service.waitFor(READY_LINE[name], 90_000);
    this.onReady(name);
    return service;
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(name: Name): Promise<void> {
    const service = this.running.get(name)!;
    this.killedByUs.add(service);
    service.child.kill("SIGKILL");
    await service.exited;
  }

  /** Starts again every service whose process is not running. */
  async ensureRunning(): Promise<void> {
    for (const [name, service] of [...this.running]) {
      if (service.child.exitCode !== null || service.child.signalCode !== null) await this.start(name);
    }
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.running.values()].map((service) => service.stop(5_000)));
  }
}
