// Container health check over grpc.health.v1: exits 0 when the service on this machine answers
// SERVING, 1 otherwise. `node --import tsx scripts/healthcheck.ts PORT [SERVICE]` (SERVICE empty:
// the whole server). Speaks TLS when GRPC_TLS_CERT_FILE is set; it probes its own loopback
// address, so it does not verify the certificate's name.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb";

const TIMEOUT_MS = 3_000;

export async function checkHealth(port: number, service = "", tls = false): Promise<HealthCheckResponse_ServingStatus> {
  const transport = createGrpcTransport({
    baseUrl: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    nodeOptions: tls ? { rejectUnauthorized: false } : undefined,
  });
  const response = await createClient(Health, transport).check({ service }, { timeoutMs: TIMEOUT_MS });
  return response.status;
}

async function main(args: string[]): Promise<number> {
  const [portArg, service = ""] = args;
  const port = Number(portArg);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error("usage: healthcheck PORT [SERVICE]");
    return 2;
  }
  try {
    const status = await checkHealth(port, service, Boolean(process.env.GRPC_TLS_CERT_FILE));
    console.log(HealthCheckResponse_ServingStatus[status]);
    return status === HealthCheckResponse_ServingStatus.SERVING ? 0 : 1;
  } catch (error) {
    console.error(`unhealthy: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
