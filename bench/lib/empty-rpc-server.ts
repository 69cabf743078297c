// A server for bench/gc-survival.ts that answers grpc.health.v1.Health/Check and nothing else,
// either through connect-node (`connect`) or straight from node:http2 with the same bytes on the
// wire (`http2`), so that the two differ only in the server's own code. Prints "listening <port>".
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus, HealthCheckResponseSchema } from "../../gen/grpc/health/v1/health_pb";

const mode = process.argv[2];
const answer = toBinary(HealthCheckResponseSchema, create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus.SERVING }));

function plainHandler(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
  req.on("data", () => {});
  req.on("end", () => {
    const framed = Buffer.alloc(5 + answer.length);
    framed.writeUInt32BE(answer.length, 1);
    framed.set(answer, 5);
    res.writeHead(200, { "content-type": "application/grpc+proto" });
    res.addTrailers({ "grpc-status": "0" });
    res.end(framed);
  });
}

const connectHandler = connectNodeAdapter({
  routes(router) {
    router.service(Health, { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) });
  },
});

if (mode !== "connect" && mode !== "http2") throw new Error(`usage: empty-rpc-server.ts connect|http2`);
const server = http2.createServer(mode === "connect" ? (connectHandler as never) : plainHandler);
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
process.on("SIGTERM", () => process.exit(0));
