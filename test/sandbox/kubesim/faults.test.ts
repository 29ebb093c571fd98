// kubesim's fault windows, through a real client: a window answers the users it names with a
// 5xx Status (or late) while everyone else is served, and closes on its own.
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeed, type SeedHandle } from '../../../services/sandbox/src/kubesim/index.js';
import { eventually } from '../../support/time.js';

const client = (kubeconfig: string): CoreV1Api => {
  const config = new KubeConfig();
  config.loadFromString(kubeconfig);
  return config.makeApiClient(CoreV1Api);
};

async function statusOf(request: Promise<unknown>): Promise<number> {
  try {
    await request;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

describe('kubesim fault windows', () => {
  let seed: SeedHandle;
  let victim: CoreV1Api;
  let bystander: CoreV1Api;

  beforeAll(async () => {
    seed = await createSeed();
    victim = client(await seed.userKubeconfig('victim', ['system:masters']));
    bystander = client(seed.adminKubeconfig);
  });

  afterAll(async () => {
    await seed?.close();
  });

  it('answers the named users 503 with Retry-After, serves the others, and closes', async () => {
    const before = seed.faults.faultedRequests;
    seed.faults.failFor(1_500, 503, { users: ['victim'] });
    const failed = await victim.listNamespace().catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ApiException);
    expect((failed as ApiException<string>).code).toBe(503);
    expect((failed as ApiException<string>).headers['retry-after']).toBe('1');
    expect(JSON.parse((failed as ApiException<string>).body)).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
    expect(await statusOf(bystander.listNamespace())).toBe(200);
    expect(seed.faults.faultedRequests).toBe(before + 1);
    await eventually(async () => (await statusOf(victim.listNamespace())) === 200, 'the window to close', 10_000, 100);
  });

  it('answers 500 InternalError when asked', async () => {
    seed.faults.failFor(60_000, 500, { users: ['victim'] });
    expect(await statusOf(victim.listNamespace())).toBe(500);
    seed.faults.clear();
    expect(await statusOf(victim.listNamespace())).toBe(200);
  });

  it('holds requests for the delay while a slow window is open', async () => {
    seed.faults.delayFor(60_000, 400);
    const started = Date.now();
    expect(await statusOf(bystander.listNamespace())).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    seed.faults.clear();
  });
});
