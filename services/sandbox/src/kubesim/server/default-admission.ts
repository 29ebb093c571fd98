// Default-on admission plugins of the real kube-apiserver that kubesim models:
// - TaintNodesByCondition (plugin/pkg/admission/nodetaint): a new Node gets the
//   node.kubernetes.io/not-ready:NoSchedule taint; the node-lifecycle controller removes it once
//   the Node's conditions say it is ready.
// - PodTopologyLabels (plugin/pkg/admission/podtopologylabels): a pod bound to a Node (by
//   pods/binding, or created with spec.nodeName) gets the Node's topology labels.
// - CertificateSubjectRestriction (plugin/pkg/admission/certificates/subjectrestriction): a CSR
//   for the kube-apiserver-client signer may not ask for the system:masters group.
import * as x509 from '@peculiar/x509';
import type { KubeObject } from '../contracts.js';
import type { ResourceInfo } from '../registry/resources.js';
import { ApiError } from './errors.js';
import { findResourceByPlural } from '../registry/resources.js';
import type { AdmissionCheck, ObjectStore } from './store.js';
import { scalarText } from '../../text.js';

export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';

function forbidden(info: ResourceInfo, name: string, why: string): ApiError {
  const qualified = info.group ? `${info.plural}.${info.group}` : info.plural;
  return new ApiError(403, 'Forbidden', `${qualified} "${name}" is forbidden: ${why}`, { name, group: info.group, kind: info.plural });
}

export const taintNodesByCondition: AdmissionCheck = async (info, object, old) => {
  if (old || info.group !== '' || info.kind !== 'Node') return;
  const spec = (object.spec ?? {}) as { taints?: Array<{ key?: string; effect?: string }> };
  const taints = spec.taints ?? [];
  if (taints.some((taint) => taint.key === NOT_READY_TAINT && taint.effect === 'NoSchedule')) return;
  object.spec = { ...spec, taints: [...taints, { key: NOT_READY_TAINT, effect: 'NoSchedule' }] };
};

function organisations(csr: KubeObject): string[] {
  try {
    const pem = Buffer.from(scalarText((csr.spec as { request?: unknown } | undefined)?.request ?? ''), 'base64').toString('utf8');
    return new x509.Pkcs10CertificateRequest(pem).subjectName.getField('O');
  } catch {
    return [];
  }
}

export const certificateSubjectRestriction: AdmissionCheck = async (info, object, old) => {
  if (old || info.kind !== 'CertificateSigningRequest') return;
  if ((object.spec as { signerName?: string } | undefined)?.signerName !== 'kubernetes.io/kube-apiserver-client') return;
  if (organisations(object).includes('system:masters')) {
    throw forbidden(info, object.metadata.name ?? '', 'use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed');
  }
};

/** The Node labels PodTopologyLabels copies: topology.k8s.io/* and the well-known zone and region. */
export async function nodeTopologyLabels(store: ObjectStore, nodeName: string): Promise<Record<string, string>> {
  const nodes = findResourceByPlural('', 'nodes') as ResourceInfo;
  let node: KubeObject;
  try {
    node = await store.read(nodes, undefined, nodeName);
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(node.metadata.labels ?? {})) {
    if (key === 'topology.kubernetes.io/zone' || key === 'topology.kubernetes.io/region' || key.startsWith('topology.k8s.io/')) out[key] = value;
  }
  return out;
}

export function podTopologyLabels(store: ObjectStore): AdmissionCheck {
  return async (info, object, old) => {
    if (old || info.group !== '' || info.kind !== 'Pod') return;
    const nodeName = (object.spec as { nodeName?: string } | undefined)?.nodeName;
    if (!nodeName) return;
    const labels = await nodeTopologyLabels(store, nodeName);
    if (Object.keys(labels).length > 0) object.metadata.labels = { ...(object.metadata.labels ?? {}), ...labels };
  };
}
