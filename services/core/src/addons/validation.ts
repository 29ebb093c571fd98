// Checks of an add-on selection against the cluster it is for, without I/O, so the create-cluster
// schema can report every problem at once (zod superRefine) before anything is provisioned.
import { parseCidr } from '../model/cidr.js';
import { findVersion, type AddonImages } from '../versions.js';
import { CNI_PLUGINS, isCniPlugin } from './addon.js';
import { VXLAN_OVERHEAD } from './cilium.js';

export interface AddonSelectionProblem {
  /** Where in the create-cluster body, e.g. `['network', 'podCidr']`. */
  path: string[];
  code: 'cni_unsupported' | 'pod_cidr_unsupported' | 'addon_unsupported' | 'mtu_invalid';
  message: string;
}

export interface AddonSelectionInput {
  /** As the user sent it: the plugin is checked here, not trusted. */
  selection: { cni: string; metricsServer?: boolean };
  /** The requested Kubernetes version; an unknown one is the version field's own problem. */
  version: string | undefined;
  podCidr: string;
  mtu?: number;
}

export const PROBLEM_PATHS = {
  cni: ['cni'],
  metricsServer: ['addons', 'metricsServer'],
  podCidr: ['network', 'podCidr'],
  mtu: ['network', 'mtu'],
} as const;

/**
 * Both plugins give each node a /24 of the pod CIDR (Cilium's cluster-pool mask size, the
 * controller-manager's `--node-cidr-mask-size` that flannel's kube subnet manager reads), so a
 * /24 pod CIDR holds one node and anything smaller none.
 */
export const NODE_POD_CIDR_PREFIX = 24;
/** The largest prefix leaving room for two nodes. */
export const MAX_POD_CIDR_PREFIX = NODE_POD_CIDR_PREFIX - 1;
/** IPv6's minimum link MTU (a lower one breaks any dual-stack future) up to AWS's jumbo frames. */
export const MTU_RANGE = { min: 1280, max: 9001 } as const;

const IMAGES_OF: Record<string, ReadonlyArray<keyof AddonImages>> = {
  cilium: ['cilium', 'ciliumOperator'],
  flannel: ['flannel', 'flannelCniPlugin'],
  coredns: ['coredns'],
  'konnectivity-agent': ['konnectivityAgent'],
  'metrics-server': ['metricsServer'],
};

export function addonSelectionProblems(input: AddonSelectionInput): AddonSelectionProblem[] {
  const problems: AddonSelectionProblem[] = [];
  const { cni } = input.selection;
  const known = isCniPlugin(cni);
  if (!known) {
    problems.push({ path: [...PROBLEM_PATHS.cni], code: 'cni_unsupported', message: `cni must be one of ${CNI_PLUGINS.join(', ')}` });
  }
  const pods = parseCidr(input.podCidr);
  if (known && cni !== 'none' && pods && pods.prefix > MAX_POD_CIDR_PREFIX) {
    problems.push({
      path: [...PROBLEM_PATHS.podCidr],
      code: 'pod_cidr_unsupported',
      message: `${cni} gives every node a /${NODE_POD_CIDR_PREFIX} of the pod CIDR, so it must be /${MAX_POD_CIDR_PREFIX} or larger`,
    });
  }
  const version = input.version === undefined ? undefined : findVersion(input.version);
  if (version) {
    const required: Array<{ addon: string; path: readonly string[] }> = [
      { addon: 'coredns', path: PROBLEM_PATHS.cni },
      { addon: 'konnectivity-agent', path: PROBLEM_PATHS.cni },
    ];
    if (known && cni !== 'none') required.unshift({ addon: cni, path: PROBLEM_PATHS.cni });
    if (input.selection.metricsServer) required.push({ addon: 'metrics-server', path: PROBLEM_PATHS.metricsServer });
    for (const { addon, path } of required) {
      const missing = IMAGES_OF[addon].filter((image) => !version.addonImages[image]);
      if (missing.length > 0) {
        problems.push({ path: [...path], code: 'addon_unsupported', message: `${addon} is not available for Kubernetes ${version.minor}` });
      }
    }
  }
  if (input.mtu !== undefined) {
    // Both plugins wrap pod packets in VXLAN, so the pod MTU leaves room for its headers even on
    // AWS's 9001-byte links; with no plugin of ours the value is only passed on.
    const max = known && cni !== 'none' ? MTU_RANGE.max - VXLAN_OVERHEAD : MTU_RANGE.max;
    if (!Number.isInteger(input.mtu) || input.mtu < MTU_RANGE.min || input.mtu > max) {
      problems.push({
        path: [...PROBLEM_PATHS.mtu],
        code: 'mtu_invalid',
        message: `mtu must be an integer from ${MTU_RANGE.min} to ${max}${max < MTU_RANGE.max ? ` (${cni} adds ${VXLAN_OVERHEAD} bytes of VXLAN headers)` : ''}`,
      });
    }
  }
  return problems;
}
