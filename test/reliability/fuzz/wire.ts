// Raw HTTP/2 requests for fuzzing: gRPC frames we build byte by byte (so they can be malformed)
// and Connect unary JSON or binary bodies (so they can be wrong). Each answers the status code it got.
import http2 from "node:http2";

/** A request not answered by then counts as a failure (code -1), not a hang of the test. */
const ANSWER_TIMEOUT_MS = 10_000;

export interface WireAnswer {
  /** gRPC status code (0 = OK); for Connect, the code mapped to its gRPC number. */
  code: number;
  message: string;
}

const CONNECT_CODES: Record<string, number> = {
  canceled: 1, unknown: 2, invalid_argument: 3, deadline_exceeded: 4, not_found: 5, already_exists: 6, permission_denied: 7,
  resource_exhausted: 8, failed_precondition: 9, aborted: 10, out_of_range: 11, unimplemented: 12, internal: 13,
  unavailable: 14, data_loss: 15, unauthenticated: 16,
};

/** A 5-byte gRPC message prefix (flags, big-endian length) before `payload`; `declaredLength` may lie. */
export function grpcFrame(payload: Uint8Array, options: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(options.compressed ? 1 : 0, 0);
  header.writeUInt32BE(options.declaredLength ?? payload.length, 1);
  return Buffer.concat([header, Buffer.from(payload)]);
}

export class WireClient {
  private current: http2.ClientHttp2Session;

  constructor(private readonly baseUrl: string) {
    this.current = this.connect();
  }

  private connect(): http2.ClientHttp2Session {
    const session = http2.connect(this.baseUrl);
    session.on("error", () => {}); // a reset session shows up as a failed request
    return session;
  }

  /** The connection, replaced when the server has closed it (GOAWAY): later inputs still get tried. */
  private get session(): http2.ClientHttp2Session {
    if (this.current.closed || this.current.destroyed) this.current = this.connect();
    return this.current;
  }

  /** Sends `body` (already framed, any bytes) to a gRPC method; resolves with grpc-status. */
  grpc(path: string, body: Buffer, headers: Record<string, string> = {}): Promise<WireAnswer> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
      let status: string | undefined;
      let message = "";
      let httpStatus: unknown;
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h[":status"] !== undefined) httpStatus = h[":status"];
        if (h["grpc-status"] !== undefined) {
          status = String(h["grpc-status"]);
          message = decodeURIComponent(String(h["grpc-message"] ?? ""));
        }
      };
      stream.setTimeout(ANSWER_TIMEOUT_MS, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      stream.on("response", take);
      stream.on("trailers", take);
      stream.on("data", () => {});
      // A stream the server's answer broke (e.g. an oversized header): a failure to report, not a test crash.
      stream.on("error", (error: Error) => {
        status = "-2";
        message = error.message;
      });
      stream.on("close", () => {
        // gRPC's HTTP mapping: a route the server does not know (404) is UNIMPLEMENTED.
        if (status === undefined && stream.rstCode === http2.constants.NGHTTP2_CANCEL) resolve({ code: -1, message: `no answer within ${ANSWER_TIMEOUT_MS} ms` });
        else if (status === undefined && httpStatus === 404) resolve({ code: 12, message: "HTTP 404" });
        else if (status === undefined) reject(new Error(`${path}: no grpc-status (HTTP ${String(httpStatus)}, stream closed with code ${stream.rstCode})`));
        else resolve({ code: Number(status), message });
      });
      stream.end(body);
    });
  }

  /** Sends `body` (any text) as a Connect unary JSON request; resolves with the Connect code. */
  connectJson(path: string, body: string, headers: Record<string, string> = {}): Promise<WireAnswer> {
    return this.connectUnary(path, "application/json", body, headers);
  }

  /** Sends `body` (any bytes) as a Connect unary binary (application/proto) request. */
  connectProto(path: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<WireAnswer> {
    return this.connectUnary(path, "application/proto", body, headers);
  }

  private connectUnary(path: string, contentType: string, body: string | Uint8Array, headers: Record<string, string>): Promise<WireAnswer> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request({ ":method": "POST", ":path": path, "content-type": contentType, "connect-protocol-version": "1", ...headers });
      let httpStatus = 0;
      const chunks: Buffer[] = [];
      stream.on("response", (h) => (httpStatus = Number(h[":status"])));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.setTimeout(ANSWER_TIMEOUT_MS, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      stream.on("close", () => {
        if (httpStatus === 0) return resolve({ code: -1, message: `no answer within ${ANSWER_TIMEOUT_MS} ms` });
        const text = Buffer.concat(chunks).toString("utf8");
        if (httpStatus === 200) return resolve({ code: 0, message: "" });
        try {
          const error = JSON.parse(text) as { code?: string; message?: string };
          const code = error.code !== undefined ? CONNECT_CODES[error.code] : undefined;
          if (code === undefined) return reject(new Error(`${path}: HTTP ${httpStatus} without a Connect code: ${text.slice(0, 200)}`));
          resolve({ code, message: error.message ?? "" });
        } catch {
          reject(new Error(`${path}: HTTP ${httpStatus}, body not JSON: ${text.slice(0, 200)}`));
        }
      });
      stream.end(body);
    });
  }

  close(): void {
    this.current.close();
  }
}
