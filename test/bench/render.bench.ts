// Cost of creating a new cluster's PKI and manifests, ECDSA P-256 against RSA-2048.
// Run: npx vitest bench --run test/bench/render.bench.ts
import { bench, describe } from 'vitest';
import { renderCluster, type ControlPlaneSpec } from '../../services/core/src/controlplane/index.js';

const spec: ControlPlaneSpec = {
  clusterId: 'bench1',
  clusterName: 'bench',
  version: '1.36.3',
  serviceCidr: '10.96.0.0/12',
  podCidr: '10.244.0.0/16',
  expose: { strategy: 'LoadBalancer' },
  endpoint: { host: 'bench1.seed.example', port: 6443 },
  etcd: { members: 3 },
};

describe('render a new cluster (PKI + manifests)', () => {
  bench(
    'ECDSA P-256',
    async () => {
      await renderCluster(spec, { keyAlgorithm: 'ecdsa' });
    },
    { iterations: 50, time: 0, warmupIterations: 3, warmupTime: 0 },
  );
  bench(
    'RSA-2048',
    async () => {
      await renderCluster(spec, { keyAlgorithm: 'rsa' });
    },
    { iterations: 2, time: 0, warmupIterations: 0, warmupTime: 0 },
  );
});
