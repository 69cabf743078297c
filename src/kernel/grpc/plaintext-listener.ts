// One plaintext port for both HTTP/2 prior knowledge (gRPC clients) and HTTP/1.1 (curl, fetch,
// gRPC-Web). Node 20's http2.createServer ignores allowHTTP1 without TLS, so each connection's
// first bytes decide which server gets it.
import net from "node:net";
import http from "node:http";
import http2 from "node:http2";

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const SNIFF_TIMEOUT_MS = 10_000;

function couldBeHttp2(head: Buffer): boolean {
  const n = Math.min(head.length, HTTP2_PREFACE.length);
  return head.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
}

export function createPlaintextListener(
  handler: (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void,
  onSocket: (socket: net.Socket) => void,
): { listener: net.Server; h2: http2.Http2Server; h1: http.Server } {
  const h2 = http2.createServer({}, handler);
  const h1 = http.createServer(handler);
  const listener = net.createServer((socket) => {
    onSocket(socket);
    // Sockets handed over by hand miss the servers' own setup: without this, Nagle's algorithm
    // holds back the small frames of an answer (headers, message, trailers) until an ACK arrives.
    socket.setNoDelay(true);
    socket.on("error", () => socket.destroy());
    // Read in paused mode: HTTP/2 takes over the socket's handle and only picks up bytes still
    // buffered in the stream, so nothing may be left flowing to a "data" listener.
    let head = Buffer.alloc(0);
    const onReadable = () => {
      for (let chunk: Buffer | null; (chunk = socket.read()) !== null; ) head = Buffer.concat([head, chunk]);
      if (head.length === 0) return;
      // "PRI" can only start the HTTP/2 preface; wait until the bytes seen settle it either way.
      if (couldBeHttp2(head) && head.length < HTTP2_PREFACE.length) return;
      socket.off("readable", onReadable);
      socket.setTimeout(0);
      socket.off("timeout", giveUp);
      socket.unshift(head);
      (couldBeHttp2(head) ? h2 : h1).emit("connection", socket);
    };
    socket.on("readable", onReadable);
    // A connection that never says which protocol it speaks only holds a file descriptor.
    const giveUp = () => socket.destroy();
    socket.setTimeout(SNIFF_TIMEOUT_MS);
    socket.on("timeout", giveUp);
  });
  return { listener, h2, h1 };
}
