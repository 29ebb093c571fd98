// Limits on the request line and the headers, answered as problem+json instead of a reset
// connection. Node's parser refuses a request line plus headers above `maxHeaderSize` before
// Express sees anything; by default it then writes a bare 431 and destroys the socket while the
// client is still sending, and the unread bytes make the kernel answer with RST, which throws
// the 431 away. Here the parser's refusal gets a problem (414 when the request line is what
// overflowed, 431 otherwise), the socket is half-closed and what the client still sends is read
// and dropped until it closes, so the answer arrives. URLs longer than MAX_URL_BYTES but within
// the parser's limit are refused by `urlLengthMiddleware` before any routing.
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import { sendProblem, type Problem } from './problem.filter.js';

/** The longest request target (path and query) answered; nginx's default buffer is 8 KB too. */
export const MAX_URL_BYTES = 8 * 1024;
/** Request line plus headers. Set on the server itself, so NODE_OPTIONS=--max-http-header-size cannot change it. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** How long a refused client may keep sending before its connection is cut. */
const DRAIN_MS = 5_000;

const METHOD_START = /^[A-Z]+ \S/;

const uriTooLong = (): Problem => ({
  type: 'https://harbormaster.dev/problems/uri_too_long',
  title: 'URI too long',
  status: 414,
  detail: `the request target exceeds ${MAX_URL_BYTES} bytes`,
  code: 'uri_too_long',
});

const headersTooLarge = (): Problem => ({
  type: 'https://harbormaster.dev/problems/request_header_fields_too_large',
  title: 'request header fields too large',
  status: 431,
  detail: `the request line and headers exceed ${MAX_HEADER_BYTES} bytes`,
  code: 'request_header_fields_too_large',
});

export function urlLengthMiddleware(request: Request, response: Response, next: NextFunction): void {
  if (Buffer.byteLength(request.originalUrl) <= MAX_URL_BYTES) {
    next();
    return;
  }
  // The problem's `instance` and the request log would echo the whole URL: keep its start only.
  request.originalUrl = request.originalUrl.slice(0, 64);
  request.url = request.url.slice(0, 64);
  sendProblem(response, request, uriTooLong());
}

/** Installs the header limit and answers what the parser refuses; call before the server listens. */
export function installRequestLimits(server: Server, onRefused: (problem: Problem, error: Error) => void): void {
  // Node reads this per connection (http.createServer's option); @types/node leaves the property out.
  (server as Server & { maxHeaderSize?: number }).maxHeaderSize = MAX_HEADER_BYTES;
  const answered = new WeakSet<Duplex>();
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Duplex) => {
    // The parser keeps reporting errors for what arrives after the first; one answer is enough.
    if (answered.has(socket)) return;
    answered.add(socket);
    const problem = error.code === 'HPE_HEADER_OVERFLOW' ? overflowProblem(error.rawPacket) : badRequest(error);
    if (!problem || !socket.writable) {
      socket.destroy();
      return;
    }
    onRefused(problem, error);
    const body = JSON.stringify(problem);
    socket.end(
      `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    // Keep reading (and dropping) until the client closes, or RST would discard the answer.
    socket.on('data', () => undefined);
    socket.resume();
    setTimeout(() => socket.destroy(), DRAIN_MS).unref();
  });
}

/**
 * The parser says only that the request line and headers together overflowed. The chunk it was
 * reading tells which: a request line still without its end is a URI too long, anything else is
 * the headers. A chunk from the middle of either (a client sending in small pieces) reads as headers.
 */
function overflowProblem(rawPacket: unknown): Problem {
  if (!Buffer.isBuffer(rawPacket)) return headersTooLarge();
  const head = rawPacket.subarray(0, MAX_HEADER_BYTES + 16).toString('latin1');
  const lineEnd = head.indexOf('\n');
  if (METHOD_START.test(head) && (lineEnd === -1 || lineEnd > MAX_URL_BYTES)) return uriTooLong();
  return headersTooLarge();
}

/** Other parse errors get the 400 Node would send, as a problem; a connection reset mid-request gets nothing. */
function badRequest(error: NodeJS.ErrnoException): Problem | undefined {
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return undefined;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      type: 'https://harbormaster.dev/problems/request_timeout',
      title: 'request timeout',
      status: 408,
      detail: 'the request took too long to arrive',
      code: 'request_timeout',
    };
  }
  return {
    type: 'https://harbormaster.dev/problems/bad_request',
    title: 'bad request',
    status: 400,
    detail: 'the request is not valid HTTP/1.1',
    code: 'bad_request',
  };
}
