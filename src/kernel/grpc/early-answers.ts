// A server may answer before it has read the whole request: a message over readMaxBytes is refused
// as soon as its length prefix (or content-length) shows it, and the rest of the upload is never
// read. The caller must then be told to stop sending, or the upload stalls on flow control and the
// call stays open until the client gives up (the raw HTTP/2 client of the fuzz test: ~20 s; grpc-js:
// until the server shut down).
import http2 from "node:http2";
import type http from "node:http";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

export function stopUnreadUploads(req: Request, res: Response): void {
  if ("stream" in req) {
    // HTTP/2 (RFC 9113 §8.1): once the response is complete, RST_STREAM NO_ERROR ends the request
    // side; clients keep the answer they already have. The compat layer always asks for trailers,
    // and sends them in its own (earlier) listener, so by then the whole answer is queued.
    const stream = req.stream;
    stream.once("wantTrailers", () => {
      setImmediate(() => {
        if (req.complete || stream.closed || stream.destroyed) return;
        stream.close(http2.constants.NGHTTP2_NO_ERROR);
        // Node would then wait for the readable side to be drained, which the compat layer keeps
        // paused (its request object is gone): release the stream now, the frames are queued.
        stream.destroy();
      });
    });
    return;
  }
  // HTTP/1.1 cannot interrupt one request without the connection: tell the client not to reuse it
  // (Node closes it after the answer) rather than leave it with an upload in an unknown state.
  const h1 = res as http.ServerResponse;
  const writeHead = h1.writeHead.bind(h1) as (...args: unknown[]) => http.ServerResponse;
  (h1 as { writeHead: unknown }).writeHead = (...args: unknown[]) => {
    if (!req.complete) h1.shouldKeepAlive = false;
    return writeHead(...args);
  };
}
