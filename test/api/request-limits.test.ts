// An oversized URL or header block gets an answer (414 / 431 as problem+json), never a reset
// connection. Raw sockets, because a client library would hide how the connection ended.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { TestServer } from '../support/server.js';
import { eventually, scaled } from '../support/time.js';

interface RawExchange {
  /** Everything the server sent before the connection ended. */
  received: string;
  /** How the connection ended on our side: undefined for an orderly close, else the socket error code. */
  error: string | undefined;
}

/** Sends `request` in one write and reads until the server closes (or the deadline passes). */
function exchange(baseUrl: string, request: string): Promise<RawExchange> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const deadline = setTimeout(() => {
      error = 'deadline';
      socket.destroy();
    }, scaled(10_000));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (caught: NodeJS.ErrnoException) => (error = caught.code ?? caught.message));
    socket.on('close', () => {
      clearTimeout(deadline);
      resolve({ received: Buffer.concat(chunks).toString('latin1'), error });
    });
    socket.on('connect', () => socket.write(request));
  });
}

function parse(received: string): { status: number; headers: string; body: { code?: string; status?: number; instance?: string } | undefined } {
  const [head = '', body = ''] = received.split('\r\n\r\n', 2);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  let parsed: { code?: string; status?: number } | undefined;
  try {
    parsed = JSON.parse(body) as { code?: string; status?: number };
  } catch {
    parsed = undefined;
  }
  return { status, headers: head.toLowerCase(), body: parsed };
}

describe('request line and header limits', () => {
  let server: TestServer;

  beforeAll(async () => {
    ensureBuilt();
    server = await TestServer.start({ backend: 'pglite' });
  }, scaled(120_000));

  afterAll(async () => {
    await server?.destroy();
  });

  // Each case runs several times: a reset loses the answer only when it wins a race with it.
  const ROUNDS = 5;

  it('answers a 100 KB URL with 414 problem+json, not a reset', async () => {
    const request = `GET /api/v1/projects?filter=${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
    for (let round = 0; round < ROUNDS; round += 1) {
      const { received, error } = await exchange(server.baseUrl, request);
      const answer = parse(received);
      expect({ error, status: answer.status, code: answer.body?.code, problemStatus: answer.body?.status }).toEqual({
        error: undefined,
        status: 414,
        code: 'uri_too_long',
        problemStatus: 414,
      });
      expect(answer.headers).toContain('content-type: application/problem+json');
    }
  });

  it('answers a 64 KB header with 431 problem+json, not a reset', async () => {
    const request = `GET /api/v1/me HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'b'.repeat(64 * 1024)}\r\n\r\n`;
    for (let round = 0; round < ROUNDS; round += 1) {
      const { received, error } = await exchange(server.baseUrl, request);
      const answer = parse(received);
      expect({ error, status: answer.status, code: answer.body?.code, problemStatus: answer.body?.status }).toEqual({
        error: undefined,
        status: 431,
        code: 'request_header_fields_too_large',
        problemStatus: 431,
      });
      expect(answer.headers).toContain('content-type: application/problem+json');
    }
  });

  it('answers a URL over the limit that the parser still takes with 414, without echoing it', async () => {
    const query = 'c'.repeat(10 * 1024);
    const { received, error } = await exchange(server.baseUrl, `GET /api/v1/projects?q=${query} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    const answer = parse(received);
    expect({ error, status: answer.status, code: answer.body?.code }).toEqual({ error: undefined, status: 414, code: 'uri_too_long' });
    expect(received).not.toContain(query.slice(0, 100));
  });

  it('still serves requests within the limits, on the same server', async () => {
    const { received, error } = await exchange(
      server.baseUrl,
      `GET /healthz?x=${'d'.repeat(4 * 1024)} HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'e'.repeat(8 * 1024)}\r\nConnection: close\r\n\r\n`,
    );
    expect({ error, status: parse(received).status }).toEqual({ error: undefined, status: 200 });
  });

  it('logs what it refused before parsing', async () => {
    await eventually(() => /"status":431,"code":"request_header_fields_too_large".*http request refused unparsed/.test(server.log), 'the refusal log line');
    expect(server.log).toMatch(/"status":414,"code":"uri_too_long","parserError":"HPE_HEADER_OVERFLOW".*http request refused unparsed/);
  });
});
