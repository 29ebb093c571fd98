// A real Kubernetes API (kubesim) to register as a seed: the API checks /version over TLS
// with the kubeconfig's client certificate before it admits a seed.
import { createSeed } from '../../services/sandbox/src/kubesim/index.js';

export interface TestSeed {
  url: string;
  kubeconfig: string;
  close(): Promise<void>;
}

export async function startTestSeed(): Promise<TestSeed> {
  const seed = await createSeed({ authorizationModes: ['RBAC'] });
  return { url: seed.url, kubeconfig: seed.adminKubeconfig, close: () => seed.close() };
}
