// An informer stopped before its first list succeeded: whoever waits for its cache is told so
// (instead of hanging the controller's shutdown, or going on with an empty cache), and one
// that synced keeps answering at once.
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, silentLogger } from '../../../services/sandbox/src/kubesim/controllers/client.js';
import { Informer, InformerStoppedError } from '../../../services/sandbox/src/kubesim/controllers/informer.js';
import { createSeed, type SeedHandle } from '../../../services/sandbox/src/kubesim/index.js';

async function clientFor(kubeconfig: string): Promise<KubeClient> {
  const config = new KubeConfig();
  config.loadFromString(kubeconfig);
  return KubeClient.fromKubeConfig(config);
}

describe('Informer stop before sync', () => {
  let seed: SeedHandle;

  beforeAll(async () => {
    seed = await createSeed({ authorizationModes: ['RBAC'] });
  });

  afterAll(async () => {
    await seed?.close();
  });

  it('rejects the waiters of an informer that never listed, and later ones at once', async () => {
    // This identity may not list Secrets: every list fails and the informer keeps retrying.
    const informer = new Informer(await clientFor(await seed.userKubeconfig('no-rights')), '/api/v1/secrets', () => undefined, silentLogger);
    const stop = new AbortController();
    const running = informer.run(stop.signal);
    const waiting = informer.hasSynced();
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop.abort();
    await expect(waiting).rejects.toBeInstanceOf(InformerStoppedError);
    await running;
    await expect(informer.hasSynced()).rejects.toBeInstanceOf(InformerStoppedError);
  });

  it('keeps a synced informer synced after it stops', async () => {
    const informer = new Informer(await clientFor(seed.adminKubeconfig), '/api/v1/namespaces', () => undefined, silentLogger);
    const stop = new AbortController();
    const running = informer.run(stop.signal);
    await informer.hasSynced();
    expect(informer.items().length).toBeGreaterThan(0);
    stop.abort();
    await running;
    await expect(informer.hasSynced()).resolves.toBeUndefined();
  });
});
