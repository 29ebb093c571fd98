// What a control plane needs before its PKI can be issued: the namespace, and the Service that
// exposes the apiserver, whose address the apiserver certificate names. The worker applies these
// first and reads the endpoint from the Service.
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IService } from 'kubernetes-models/v1/Service';
import { baseLabels } from './common.js';
import type { ApplyGroup } from './component.js';
import { buildExternalApiserverService } from './expose.js';
import type { ResolvedSpec } from './spec.js';

export function buildNamespace(spec: ResolvedSpec): INamespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: spec.namespace, labels: { ...baseLabels(spec), 'pod-security.kubernetes.io/enforce': 'baseline' } },
  };
}

export function namespaceGroup(spec: ResolvedSpec): ApplyGroup {
  return { name: 'namespace', objects: [buildNamespace(spec)], awaits: [], frame: true };
}

export interface ControlPlaneFrame {
  namespace: ApplyGroup;
  /** Its address (LoadBalancer ingress, or a seed node and the node port) is the endpoint. */
  exposure: IService;
}

export function buildFrame(spec: ResolvedSpec): ControlPlaneFrame {
  return { namespace: namespaceGroup(spec), exposure: buildExternalApiserverService(spec) };
}
