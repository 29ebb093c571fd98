// A seed the test can see into: kubesim with its controllers and a process kubelet, running in
// the test process and registered through the API. The Harbormaster process under test can be
// killed and restarted while the seed and its pods live on, as in production.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { startControllers, WORKLOAD_CONTROLLERS } from '../../services/sandbox/src/kubesim/controllers/roles.js';
import { createSeed, type SeedHandle } from '../../services/sandbox/src/kubesim/index.js';
import { startProcessKubelet, type ProcessKubelet } from '../../services/sandbox/src/kubelet/index.js';

export interface ProcessSeed {
  kubesim: SeedHandle;
  kubelet: ProcessKubelet;
  stateDir: string;
  objects: KubernetesObjectApi;
  read<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<T | undefined>;
  stop(): Promise<void>;
}

export async function startProcessSeed(options: { pods: boolean }): Promise<ProcessSeed> {
  const stateDir = mkdtempSync(join(tmpdir(), 'hm-cp-seed-'));
  const kubesim = await createSeed({ authorizationModes: ['RBAC'] });
  const config = new KubeConfig();
  config.loadFromString(kubesim.adminKubeconfig);
  // The workload controllers make the Pods the kubelet runs; without a kubelet nothing would run them.
  const controllers = ['namespace' as const, 'garbagecollector' as const, ...(options.pods ? WORKLOAD_CONTROLLERS : [])];
  const stopControllers = await startControllers(config, { controllers, garbageCollectorIntervalMs: 500 });
  const kubelet = options.pods
    ? await startProcessKubelet({ kubeconfig: kubesim.adminKubeconfig, stateDir, backoff: { initialMs: 1_000, maxMs: 4_000 }, maxTerminationGraceMs: 2_000 })
    : undefined;
  const objects = KubernetesObjectApi.makeApiClient(config);
  return {
    kubesim,
    kubelet: kubelet as ProcessKubelet,
    stateDir,
    objects,
    async read<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<T | undefined> {
      try {
        return await objects.read<T>({ apiVersion, kind, metadata: { name, namespace } });
      } catch {
        return undefined;
      }
    },
    async stop() {
      await kubelet?.stop();
      await stopControllers();
      await kubesim.close();
      if (!process.env.HM_TEST_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
