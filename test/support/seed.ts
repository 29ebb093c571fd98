// A real Kubernetes API (kubesim) to register as a seed: the API checks /version over TLS
// with the kubeconfig's client certificate before it admits a seed. Like any real seed it runs
// the namespace and garbage-collector controllers, so a deleted cluster namespace goes away.
import 'reflect-metadata';
import { KubeConfig } from '@kubernetes/client-node';
import { startControllers } from '../../services/sandbox/src/kubesim/controllers/roles.js';
import { createSeed } from '../../services/sandbox/src/kubesim/index.js';

export interface TestSeed {
  url: string;
  kubeconfig: string;
  close(): Promise<void>;
}

export async function startTestSeed(): Promise<TestSeed> {
  const seed = await createSeed({ authorizationModes: ['RBAC'] });
  const config = new KubeConfig();
  config.loadFromString(seed.adminKubeconfig);
  const stopControllers = await startControllers(config, { controllers: ['namespace', 'garbagecollector'], garbageCollectorIntervalMs: 500 });
  return {
    url: seed.url,
    kubeconfig: seed.adminKubeconfig,
    close: async () => {
      await stopControllers();
      await seed.close();
    },
  };
}
