// @peculiar/x509 (used by kubesim's PKI) needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubernetesSeedClient, type SeedClient } from '../../../../services/sandbox/src/kubelet/index.js';
import type { SeedKind, SeedObjects } from '../../../../services/sandbox/src/kubelet/index.js';
import { startControllers, WORKLOAD_CONTROLLERS } from '../../../../services/sandbox/src/kubesim/controllers/roles.js';
import { createSeed } from '../../../../services/sandbox/src/kubesim/index.js';
import { ensureBuilt } from '../../../support/build.js';
import { scaled } from '../../../support/time.js';

const here = fileURLToPath(new URL('.', import.meta.url));
export const FIXTURE_APP = resolve(here, '../fixtures/test-app.mjs');
export const TEST_APP_BINARIES = { 'test-app': { path: process.execPath, leadingArgs: [FIXTURE_APP] } };

export interface TestSeed {
  client: SeedClient;
  kubeconfig: string;
  createNamespace(name: string): Promise<void>;
  deleteNamespace(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A kubesim seed driven through @kubernetes/client-node, plus kubesim's namespace,
 * garbage-collector and workload controllers: a seed is an API server and a controller manager
 * (Deployments, ReplicaSets, StatefulSets and Endpoints are its work; the kubelet runs the Pods),
 * and namespace deletion must cascade as in a real cluster.
 */
export async function startTestSeed(): Promise<TestSeed> {
  const handle = await createSeed();
  const config = new KubeConfig();
  config.loadFromString(handle.adminKubeconfig);
  const core = config.makeApiClient(CoreV1Api);
  const stopControllers = await startControllers(config, {
    controllers: ['namespace', 'garbagecollector', ...WORKLOAD_CONTROLLERS],
    garbageCollectorIntervalMs: 500,
  });
  return {
    client: KubernetesSeedClient.fromYaml(handle.adminKubeconfig),
    kubeconfig: handle.adminKubeconfig,
    createNamespace: async (name) => {
      await core.createNamespace({ body: { metadata: { name } } });
    },
    deleteNamespace: async (name) => {
      await core.deleteNamespace({ name });
    },
    stop: async () => {
      await stopControllers();
      await handle.close();
    },
  };
}

/**
 * Read, change, write back (PUT with the read resourceVersion). A 409 means a controller wrote
 * the object (usually its status) in between: read again and retry, as client-go's
 * RetryOnConflict does. Any other error, or a fifth conflict, fails.
 */
export async function updateRetryingConflicts<K extends SeedKind>(
  client: SeedClient,
  kind: K,
  namespace: string,
  name: string,
  change: (current: SeedObjects[K]) => SeedObjects[K],
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await client.get(kind, namespace, name);
    if (!current) throw new Error(`${kind} ${namespace}/${name} missing`);
    try {
      await client.replace(kind, change(current));
      return;
    } catch (error) {
      if ((error as { code?: number }).code !== 409 || attempt === 5) throw error;
    }
  }
}

export function temporaryStateDir(label: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `kubelet-${label}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(scaled(3_000)) });
  return { status: response.status, body: await response.json() };
}

/** Builds dist/ (child processes run from there) unless the global setup already did. */
export async function buildDist(): Promise<void> {
  ensureBuilt();
}
