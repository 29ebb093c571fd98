// The NodeRestriction admission plugin (plugin/pkg/admission/noderestriction): a kubelet
// identity (system:node:<name> in system:nodes) may write only its own Node (without
// node-restriction/role labels, and without touching taints on update), only mirror pods bound
// to itself, and only its own Lease.
import type { KubeObject } from '../contracts.js';
import { nodeIdentity } from '../auth/node.js';
import type { ResourceInfo } from '../registry/resources.js';
import { ApiError } from './errors.js';
import type { AdmissionCheck } from './store.js';
import { deepEqual } from '../patch/json.js';

const MIRROR = 'kubernetes.io/config.mirror';

function forbidden(info: ResourceInfo, name: string, why: string): ApiError {
  const qualified = info.group ? `${info.plural}.${info.group}` : info.plural;
  return new ApiError(403, 'Forbidden', `${qualified} "${name}" is forbidden: ${why}`, { name, group: info.group, kind: info.plural });
}

/** kubelet.k8s.io/ and node.kubernetes.io/ and the well-known topology labels are allowed; other kubernetes.io / k8s.io labels are not. */
function forbiddenLabel(key: string): boolean {
  const prefix = key.includes('/') ? key.split('/')[0] : '';
  if (prefix.startsWith('node-restriction.kubernetes.io')) return true;
  const kubernetesNamespace = prefix === 'kubernetes.io' || prefix === 'k8s.io' || prefix.endsWith('.kubernetes.io') || prefix.endsWith('.k8s.io');
  if (!kubernetesNamespace) return false;
  const allowed = [
    'kubernetes.io/hostname',
    'kubernetes.io/arch',
    'kubernetes.io/os',
    'beta.kubernetes.io/arch',
    'beta.kubernetes.io/os',
    'beta.kubernetes.io/instance-type',
    'node.kubernetes.io/instance-type',
    'failure-domain.beta.kubernetes.io/region',
    'failure-domain.beta.kubernetes.io/zone',
    'topology.kubernetes.io/region',
    'topology.kubernetes.io/zone',
  ];
  if (allowed.includes(key)) return false;
  return !(
    prefix === 'kubelet.kubernetes.io' ||
    prefix.endsWith('.kubelet.kubernetes.io') ||
    prefix === 'node.kubernetes.io' ||
    prefix.endsWith('.node.kubernetes.io')
  );
}

export const nodeRestriction: AdmissionCheck = async (info, object, old, ctx) => {
  const nodeName = nodeIdentity(ctx.user.username, ctx.user.groups);
  if (nodeName === undefined) return;
  const name = object.metadata.name ?? '';
  if (info.group === '' && info.kind === 'Node') {
    if (name !== nodeName) throw forbidden(info, name, `node "${nodeName}" is not allowed to modify node "${name}"`);
    const labels = object.metadata.labels ?? {};
    const before = old?.metadata.labels ?? {};
    const changed = Object.keys({ ...labels, ...before })
      .filter((key) => labels[key] !== before[key] && forbiddenLabel(key))
      .sort();
    if (changed.length > 0) throw forbidden(info, name, `is not allowed to modify labels: ${changed.join(', ')}`);
    if (old && !deepEqual((old.spec as { taints?: unknown } | undefined)?.taints ?? [], (object.spec as { taints?: unknown } | undefined)?.taints ?? [])) {
      throw forbidden(info, name, `node "${nodeName}" is not allowed to modify taints`);
    }
    return;
  }
  if (info.group === '' && info.kind === 'Pod' && !old) {
    if (!object.metadata.annotations?.[MIRROR])
      throw forbidden(info, name, `pod does not have "${MIRROR}" annotation, node "${nodeName}" can only create mirror pods`);
    const bound = (object.spec as { nodeName?: string } | undefined)?.nodeName;
    if (bound !== nodeName) throw forbidden(info, name, `node "${nodeName}" can only create pods with spec.nodeName set to itself`);
    return;
  }
  if (info.group === 'coordination.k8s.io' && info.kind === 'Lease' && object.metadata.namespace === 'kube-node-lease' && name !== nodeName) {
    throw forbidden(info, name, 'can only access node lease with the same name as the requesting node');
  }
};

export type { KubeObject };
