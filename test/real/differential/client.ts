// A bare HTTPS client for the differential suite: it sends exactly the bytes the corpus names
// (no client library defaults), as a client certificate, a bearer token or nobody.
import { request as httpsRequest } from 'node:https';

export type Identity = { kind: 'cert'; certPem: string; keyPem: string } | { kind: 'token'; token: string } | { kind: 'anonymous' };

export interface WireRequest {
  method: string;
  path: string;
  contentType?: string;
  body?: string;
  /** Read the response as a stream of watch events (newline-delimited JSON). */
  watch?: boolean;
}

export interface WireResponse {
  status: number;
  body: unknown;
  /** Watch streams: every event, in order. */
  events?: Array<{ type: string; object: unknown }>;
}

export function send(baseUrl: string, identity: Identity, wire: WireRequest, timeoutMs = 15_000): Promise<WireResponse> {
  const url = new URL(wire.path, baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'hm-differential/1.0' };
    if (wire.body !== undefined) {
      headers['Content-Type'] = wire.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(wire.body));
    }
    if (identity.kind === 'token') headers.Authorization = `Bearer ${identity.token}`;
    const req = httpsRequest(
      url,
      {
        method: wire.method,
        headers,
        rejectUnauthorized: false,
        agent: false,
        ...(identity.kind === 'cert' ? { cert: identity.certPem, key: identity.keyPem } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (wire.watch && status === 200) {
            const events = text
              .split('\n')
              .filter((line) => line.trim() !== '')
              .map((line) => JSON.parse(line) as { type: string; object: unknown });
            resolve({ status, body: undefined, events });
            return;
          }
          let body: unknown = text;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            // plain text (healthz)
          }
          resolve({ status, body });
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`${wire.method} ${wire.path}: no answer in ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    if (wire.body !== undefined) req.write(wire.body);
    req.end();
  });
}
