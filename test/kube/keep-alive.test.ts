// KubeClient keeps a small pool of TLS connections per API server (services/kube/src/transport.ts),
// and kubesim answers on kept-alive connections correctly. Connections are counted on the
// server side: every TLS handshake kubesim accepts.
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { KubeClient, MAX_SOCKETS_PER_SERVER, describeApiError } from '../../services/kube/src/index.js';
import { createCa, createSeed, type SeedHandle } from '../../services/sandbox/src/kubesim/index.js';

const TOKEN = 'keepalive-test-token-0123456789';

function configMap(name: string, value: string) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { value } };
}

/** The kubeconfig with its cluster entry changed (CA, TLS verification). */
function withCluster(kubeconfig: string, change: (cluster: Record<string, unknown>) => void): string {
  const document = parse(kubeconfig) as { clusters: Array<{ cluster: Record<string, unknown> }> };
  change(document.clusters[0].cluster);
  return stringify(document);
}

describe('KubeClient connection reuse against kubesim', () => {
  let seed: SeedHandle;

  beforeAll(async () => {
    seed = await createSeed({ authorizationModes: ['RBAC'], staticTokens: [{ token: TOKEN, user: 'token-admin', uid: '1', groups: ['system:masters'] }] });
  });

  afterAll(async () => {
    await seed?.close();
  });

  it('sends many sequential requests with a client certificate over one connection', async () => {
    const client = KubeClient.fromYaml(seed.adminKubeconfig);
    const before = seed.connectionsAccepted();
    for (let index = 0; index < 60; index += 1) {
      const applied = await client.apply(configMap(`sequential-${index % 5}`, String(index)));
      expect(applied.metadata?.name).toBe(`sequential-${index % 5}`);
      expect(await client.read({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: `sequential-${index % 5}` })).toMatchObject({
        data: { value: String(index) },
      });
    }
    expect(seed.connectionsAccepted() - before).toBe(1);
    client.close();
  });

  it('bounds the connections of concurrent requests by the pool size and reuses them', async () => {
    const client = KubeClient.fromYaml(seed.adminKubeconfig);
    const before = seed.connectionsAccepted();
    for (let round = 0; round < 3; round += 1) {
      await Promise.all(Array.from({ length: 100 }, (_, index) => client.apply(configMap(`parallel-${index}`, `${round}`))));
    }
    const opened = seed.connectionsAccepted() - before;
    expect(opened).toBeGreaterThan(1);
    expect(opened).toBeLessThanOrEqual(MAX_SOCKETS_PER_SERVER);
    client.close();
  });

  it('keeps working when the server closes idle connections, with one new connection each time', async () => {
    const client = KubeClient.fromYaml(seed.adminKubeconfig);
    await client.apply(configMap('idle', 'first'));
    for (let round = 0; round < 10; round += 1) {
      const before = seed.connectionsAccepted();
      seed.closeIdleConnections();
      // Give the FIN time to arrive, so this checks reconnecting rather than the race below.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await client.apply(configMap('idle', `round-${round}`));
      await client.read({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'idle' });
      expect(seed.connectionsAccepted() - before).toBe(1);
    }
    client.close();
  });

  it('survives the server closing idle connections while requests keep coming', async () => {
    const client = KubeClient.fromYaml(seed.adminKubeconfig);
    const failures: string[] = [];
    let stop = false;
    const closer = (async () => {
      while (!stop) {
        seed.closeIdleConnections();
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let index = 0; index < 200; index += 1) {
      await client.apply(configMap(`race-${index % 3}`, String(index))).catch((error: unknown) => failures.push(describeApiError(error)));
    }
    stop = true;
    await closer;
    expect(failures).toEqual([]);
    client.close();
  });

  it('reuses connections with bearer-token authentication too', async () => {
    const tokenConfig = seed.kubeconfig({ token: TOKEN }, seed.caPem);
    const client = KubeClient.fromYaml(tokenConfig);
    const before = seed.connectionsAccepted();
    for (let index = 0; index < 20; index += 1) await client.apply(configMap('token', String(index)));
    expect(seed.connectionsAccepted() - before).toBe(1);
    const wrong = KubeClient.fromYaml(seed.kubeconfig({ token: 'not-a-known-token-000000000' }, seed.caPem));
    await expect(wrong.apply(configMap('token', 'x'))).rejects.toMatchObject({ code: 401 });
    client.close();
    wrong.close();
  });

  it('verifies the server against the kubeconfig CA, and skips verification only when told to', async () => {
    const otherCa = await createCa('not-the-seed-ca');
    const untrusted = KubeClient.fromYaml(
      withCluster(seed.adminKubeconfig, (cluster) => {
        cluster['certificate-authority-data'] = Buffer.from(otherCa.certPem).toString('base64');
      }),
    );
    await expect(untrusted.read({ apiVersion: 'v1', kind: 'Namespace', name: 'default' })).rejects.toThrow(/certificate/i);
    const insecure = KubeClient.fromYaml(
      withCluster(seed.adminKubeconfig, (cluster) => {
        delete cluster['certificate-authority-data'];
        cluster['insecure-skip-tls-verify'] = true;
      }),
    );
    expect(await insecure.read({ apiVersion: 'v1', kind: 'Namespace', name: 'default' })).toMatchObject({ metadata: { name: 'default' } });
    untrusted.close();
    insecure.close();
  });

  it('reports API errors as client-node does (404 as absence, 422 with its message)', async () => {
    const client = KubeClient.fromYaml(seed.adminKubeconfig);
    expect(await client.read({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'never-created' })).toBeUndefined();
    expect(await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'never-created' })).toBe(false);
    const invalid = await client
      .apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad..name', namespace: 'default' } })
      .catch((error: unknown) => error);
    expect(describeApiError(invalid)).toMatch(/^HTTP 422: .*bad\.\.name/);
    client.close();
  });
});
