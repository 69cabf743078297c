// A lean unary gRPC caller for load generation: @grpc/grpc-js with @bufbuild/protobuf
// serialization. It needs ~0.6 ms of CPU per call here against ~1 ms for connect-node's client,
// and the load generator shares the machine's cores with the services it measures.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";

export interface UnaryCaller<M extends DescMethodUnary> {
  call(request: MessageInitShape<M["input"]>, timeoutMs: number): Promise<MessageShape<M["output"]>>;
  close(): void;
}

export function unaryCaller<M extends DescMethodUnary>(baseUrl: string, method: M, headers: Record<string, string>): UnaryCaller<M> {
  const url = new URL(baseUrl);
  const Client = grpc.makeGenericClientConstructor({}, "");
  const client = new Client(url.host, url.protocol === "https:" ? grpc.credentials.createSsl() : grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
  const path = `/${method.parent.typeName}/${method.name}`;
  const serialize = (message: MessageInitShape<M["input"]>) => Buffer.from(toBinary(method.input, create(method.input, message)));
  const deserialize = (bytes: Buffer) => fromBinary(method.output, bytes) as MessageShape<M["output"]>;
  return {
    call: (request, timeoutMs) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(path, serialize, deserialize, request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) =>
          error ? reject(error) : resolve(response!),
        );
      }),
    close: () => client.close(),
  };
}
