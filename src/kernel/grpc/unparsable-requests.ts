// connect-es reports a request body that is not valid protobuf as INTERNAL ("parse binary: ...", the
// code it also uses for a response it cannot encode), before any interceptor runs. The bytes came
// from the caller, so callers get INVALID_ARGUMENT instead: gRPC and gRPC-Web through a rewrite of
// the status in the headers or trailers, Connect unary (application/proto, or a GET with
// encoding=proto) through a wrapper of the method's handler that rewrites its JSON error answer.
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import type http from "node:http";
import type http2 from "node:http2";

const UNPARSABLE = /^parse(%20| )binary/;
const UNPARSABLE_PREFIX = /^parse binary:\s*/;
const MAX_STATUS_MESSAGE_CHARS = 1024;
const MAX_STATUS_DETAILS_CHARS = 8192;

/**
 * gRPC and gRPC-Web: rewrites grpc-status 13 "parse binary..." to 3 in the headers (trailers-only
 * answers) or trailers on their way out. Also caps status messages and drops huge details: a message
 * quoting a huge input would make a header block clients refuse (FRAME_SIZE_ERROR, then GOAWAY).
 */
export function blameUnparsableRequests(res: http.ServerResponse | http2.Http2ServerResponse): void {
  const rewrite = (headers: unknown) => {
    if (!headers || typeof headers !== "object") return;
    const fields = headers as Record<string, unknown>;
    const message = String(fields["grpc-message"] ?? "");
    if (String(fields["grpc-status"]) === "13" && UNPARSABLE.test(message)) fields["grpc-status"] = "3";
    if (message.length > MAX_STATUS_MESSAGE_CHARS) fields["grpc-message"] = `${message.slice(0, MAX_STATUS_MESSAGE_CHARS).replace(/%[0-9A-Fa-f]?$/, "")}...`;
    // The status code and message still reach the caller.
    if (String(fields["grpc-status-details-bin"] ?? "").length > MAX_STATUS_DETAILS_CHARS) delete fields["grpc-status-details-bin"];
  };
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => unknown;
  (res as { writeHead: unknown }).writeHead = (...args: unknown[]) => {
    rewrite(args.find((arg) => arg !== null && typeof arg === "object"));
    return writeHead(...args);
  };
  const addTrailers = res.addTrailers.bind(res) as (headers: unknown) => void;
  (res as { addTrailers: unknown }).addTrailers = (headers: unknown) => {
    rewrite(headers);
    addTrailers(headers);
  };
}

/**
 * Connect unary: wraps a method's handler (all protocols) so that a Connect error answer
 * `internal` "parse binary: ..." becomes `invalid_argument` (HTTP 400) naming the expected message, as a JSON body that does
 * not decode already is.
 * gRPC answers (HTTP 200) and every other answer pass through untouched.
 */
export function blameUnparsableConnectRequests(handler: UniversalHandler): UniversalHandler {
  if (handler.method.methodKind !== "unary") return handler;
  const expected = handler.method.input.typeName;
  const wrapped = async (request: UniversalServerRequest) => {
    const response = await handler(request);
    const header = response.header;
    if (response.status !== codeToHttpStatus(Code.Internal) || !header || !response.body) return response;
    if (!/^application\/json/.test(header.get("content-type") ?? "") || header.has("content-encoding")) return response;
    // A Connect unary answer is one buffer already in memory.
    const chunks: Uint8Array[] = [];
    for await (const chunk of response.body) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const error = errorFromJsonBytes(body, undefined, new ConnectError("", Code.Internal));
    if (error.code !== Code.Internal || !UNPARSABLE.test(error.rawMessage)) return { ...response, body: single(body) };
    const reason = error.rawMessage.replace(UNPARSABLE_PREFIX, "");
    const blamed = errorToJsonBytes(new ConnectError(`cannot decode message ${expected} from binary: ${reason}`, Code.InvalidArgument), {});
    header.set("content-length", String(blamed.byteLength));
    return { ...response, status: codeToHttpStatus(Code.InvalidArgument), body: single(blamed) };
  };
  return Object.assign(wrapped, handler);
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
