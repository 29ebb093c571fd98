// Default-on admission plugins of the real kube-apiserver that kubesim models:
// - TaintNodesByCondition (plugin/pkg/admission/nodetaint): a new Node gets the
//   node.kubernetes.io/not-ready:NoSchedule taint; the node-lifecycle controller removes it once
//   the Node's conditions say it is ready.
// - CertificateSubjectRestriction (plugin/pkg/admission/certificates/subjectrestriction): a CSR
//   for the kube-apiserver-client signer may not ask for the system:masters group.
import * as x509 from '@peculiar/x509';
import type { KubeObject } from '../contracts.js';
import type { ResourceInfo } from '../registry/resources.js';
import { ApiError } from './errors.js';
import type { AdmissionCheck } from './store.js';

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
    const pem = Buffer.from(String((csr.spec as { request?: string } | undefined)?.request ?? ''), 'base64').toString('utf8');
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
