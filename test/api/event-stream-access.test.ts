// An event stream is authorised when it opens but may stay open for hours. Losing access (the
// membership removed, the token revoked) must end it within seconds, with nothing more sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { projectWithRoles } from '../support/fixtures.js';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { TestServer } from '../support/server.js';
import { scaled } from '../support/time.js';

interface OpenStream {
  /** Everything received until the server ended the stream. */
  ended: Promise<string>;
  /** Resolves once `text` has arrived. */
  received(text: string): Promise<void>;
  close(): void;
}

describe('event streams and lost access', () => {
  let server: TestServer;
  let seed: TestSeed;
  let projectId: string;
  let tokens: Awaited<ReturnType<typeof projectWithRoles>>['tokens'];
  let clusterId: string;
  const streams: OpenStream[] = [];

  async function open(token: string): Promise<OpenStream> {
    const controller = new AbortController();
    const response = await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/clusters/${clusterId}/events/stream`, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let text = '';
    const waiters: Array<{ text: string; resolve: () => void }> = [];
    const ended = (async () => {
      for (;;) {
        const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (chunk.done) return text;
        text += new TextDecoder().decode(chunk.value);
        for (const waiter of waiters.filter((candidate) => text.includes(candidate.text))) waiter.resolve();
      }
    })();
    const stream: OpenStream = {
      ended,
      received: (wanted) => (text.includes(wanted) ? Promise.resolve() : new Promise((resolve) => waiters.push({ text: wanted, resolve }))),
      close: () => controller.abort(),
    };
    streams.push(stream);
    return stream;
  }

  /** The stream's end, or a failure after `ms` (quiet-machine budget, scaled). */
  function endWithin(stream: OpenStream, ms: number): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the stream was still open after ${scaled(ms)} ms`)), scaled(ms));
    });
    return Promise.race([stream.ended, timeout]).finally(() => clearTimeout(timer));
  }

  async function userIdOf(token: string): Promise<string> {
    return (await server.request<{ id: string }>('GET', '/api/v1/me', { token })).body.id;
  }

  beforeAll(async () => {
    ensureBuilt();
    seed = await startTestSeed();
    server = await TestServer.start({ backend: 'pglite' });
    await server.request('POST', '/api/v1/seeds', { body: { name: 'sandbox', kubeconfig: seed.kubeconfig, maxClusters: 3 } });
    ({ projectId, tokens } = await projectWithRoles(server, 'streams'));
    clusterId = (await server.request<{ id: string }>('POST', `/api/v1/projects/${projectId}/clusters`, { body: { name: 'watched' } })).body.id;
  }, scaled(120_000));

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await server?.destroy();
    await seed?.close();
  }, scaled(60_000));

  it('ends a viewer’s stream once the viewer is removed from the project', async () => {
    const stream = await open(tokens.viewer);
    await stream.received('event: cluster\n');
    const removed = await server.request('DELETE', `/api/v1/projects/${projectId}/members/${await userIdOf(tokens.viewer)}`);
    expect(removed.status).toBe(204);
    const text = await endWithin(stream, 10_000);
    expect(text).toContain('event: access-revoked\ndata: {"code":"access_revoked"');
    // Nothing follows the revocation notice.
    expect(text.slice(text.indexOf('event: access-revoked')).match(/^event: /gm)).toHaveLength(1);
    expect(
      (
        await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/clusters/${clusterId}/events/stream`, {
          headers: { authorization: `Bearer ${tokens.viewer}` },
        })
      ).status,
    ).toBe(404);
  });

  it('ends an editor’s stream once the editor’s token is revoked', async () => {
    const stream = await open(tokens.editor);
    await stream.received('event: cluster\n');
    const own = await server.request<{ items: Array<{ id: string }> }>('GET', '/api/v1/tokens', { token: tokens.editor });
    expect(own.body.items).toHaveLength(1);
    const revoked = await server.request('DELETE', `/api/v1/tokens/${own.body.items[0].id}`, { token: tokens.editor });
    expect(revoked.status).toBe(204);
    const text = await endWithin(stream, 10_000);
    expect(text).toContain('event: access-revoked');
  });

  it('keeps the stream of a caller who still has access', async () => {
    const stream = await open(tokens.owner);
    await stream.received('event: cluster\n');
    const outcome = await Promise.race([stream.ended.then(() => 'ended'), new Promise((resolve) => setTimeout(() => resolve('open'), 5_000))]);
    expect(outcome).toBe('open');
    stream.close();
  });
});
