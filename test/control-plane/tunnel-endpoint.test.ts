// Where the tunnel agents dial the konnectivity server: read from the exposing Service the seed
// answered with, through the cluster's endpoint strategy.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { IService } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { buildFrame, resolveSpec } from '../../services/core/src/controlplane/index.js';
import { tunnelEndpointOf } from '../../services/worker/src/control-plane/endpoint.js';
import { referenceSpec } from '../core/controlplane/reference.js';

/** The frame's Service as the seed stores it: node ports allocated, a load balancer's address filled in. */
function exposed(strategy: 'NodePort' | 'LoadBalancer', allocate: (port: { name?: string }) => number | undefined): IService & KubernetesObject {
  const service = structuredClone(buildFrame(resolveSpec(referenceSpec(strategy))).exposure);
  for (const port of service.spec?.ports ?? []) {
    const nodePort = allocate(port);
    if (nodePort !== undefined) port.nodePort = nodePort;
  }
  return service as IService & KubernetesObject;
}

describe('tunnelEndpointOf', () => {
  it('is the endpoint host with the node port the seed allocated for `konnectivity` (NodePort)', () => {
    const service = exposed('NodePort', (port) => (port.name === 'konnectivity' ? 31132 : 30443));
    expect(tunnelEndpointOf(service, { host: '192.0.2.10', port: 30443 })).toEqual({ host: '192.0.2.10', port: 31132 });
  });

  it('is the load balancer address with port 8132 (LoadBalancer)', () => {
    const service = exposed('LoadBalancer', (port) => (port.name === 'konnectivity' ? 31132 : 30443));
    expect(tunnelEndpointOf(service, { host: '203.0.113.5', port: 6443 })).toEqual({ host: '203.0.113.5', port: 8132 });
  });

  it('is unknown while the Service has no node port for the tunnel, or no such port at all', () => {
    expect(
      tunnelEndpointOf(
        exposed('NodePort', () => undefined),
        { host: '192.0.2.10', port: 30443 },
      ),
    ).toBeUndefined();
    const old = exposed('NodePort', () => 30443);
    old.spec!.ports = old.spec!.ports!.filter((port) => port.name === 'https');
    expect(tunnelEndpointOf(old, { host: '192.0.2.10', port: 30443 })).toBeUndefined();
  });
});
