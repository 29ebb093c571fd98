// How the apiserver is reached: an internal Service for the components in the seed and an
// external one, per expose strategy, for users and worker nodes.
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServicePort } from 'kubernetes-models/v1/ServicePort';
import type { IServiceSpec } from 'kubernetes-models/v1/ServiceSpec';
import { componentLabels, metadata, selectorLabels } from './common.js';
import { KONNECTIVITY_AGENT_PORT } from './konnectivity.js';
import { APISERVER_PORT, type ResolvedSpec } from './spec.js';

export const INTERNAL_APISERVER_SERVICE = 'apiserver';
export const EXTERNAL_APISERVER_SERVICE = 'apiserver-external';
/** The external Service's port the tunnel agents dial; `https` stays the first port. */
export const KONNECTIVITY_SERVICE_PORT = 'konnectivity';

export function buildInternalApiserverService(spec: ResolvedSpec): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(spec, INTERNAL_APISERVER_SERVICE, componentLabels(spec, 'kube-apiserver')),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(spec, 'kube-apiserver'),
      ports: [{ name: 'https', port: APISERVER_PORT, targetPort: APISERVER_PORT, protocol: 'TCP' }],
    },
  };
}

export function buildExternalApiserverService(spec: ResolvedSpec): IService {
  const port: IServicePort = { name: 'https', port: APISERVER_PORT, targetPort: APISERVER_PORT, protocol: 'TCP' };
  // Agents reach the konnectivity servers the way users reach the apiservers; with NodePort the
  // seed allocates its node port, which the worker reads back.
  const tunnel: IServicePort = { name: KONNECTIVITY_SERVICE_PORT, port: KONNECTIVITY_AGENT_PORT, targetPort: KONNECTIVITY_AGENT_PORT, protocol: 'TCP' };
  const common: IServiceSpec = { selector: selectorLabels(spec, 'kube-apiserver'), externalTrafficPolicy: 'Cluster' };
  const serviceSpec: IService['spec'] =
    spec.expose.strategy === 'NodePort'
      ? { ...common, type: 'NodePort', ports: [{ ...port, ...(spec.expose.nodePort === undefined ? {} : { nodePort: spec.expose.nodePort }) }, tunnel] }
      : { ...common, type: 'LoadBalancer', ports: [port, tunnel] };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(spec, EXTERNAL_APISERVER_SERVICE, componentLabels(spec, 'kube-apiserver')),
    spec: serviceSpec,
  };
}
