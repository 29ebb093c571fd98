// The add-on builders' input, resolved from the cluster's record.
import { clusterDnsIp } from '../bootstrap/tenant-objects.js';
import { DomainError } from '../model/errors.js';
import { findVersion } from '../versions.js';
import type { AddonSelection, AddonSpec } from './addon.js';

export interface AddonSpecInput {
  clusterId: string;
  /** A version of SUPPORTED_VERSIONS, e.g. "1.36.3". */
  version: string;
  podCidr: string;
  serviceCidr: string;
  /** The tenant cluster domain; kubeadm's `cluster.local` when the record has none. */
  dnsDomain?: string;
  mtu?: number;
  /** The cluster's external apiserver endpoint. */
  apiserver: { host: string; port: number };
  /** Where agents reach the konnectivity server; undefined while the control plane runs none. */
  konnectivity: { host: string; port: number } | undefined;
  selection: AddonSelection;
}

export const DEFAULT_DNS_DOMAIN = 'cluster.local';

export function resolveAddonSpec(input: AddonSpecInput): AddonSpec {
  const version = findVersion(input.version);
  if (!version) throw new DomainError('precondition', 'version_unsupported', `Kubernetes ${input.version} is not a supported version`);
  return {
    clusterId: input.clusterId,
    version,
    podCidr: input.podCidr,
    serviceCidr: input.serviceCidr,
    clusterDnsIp: clusterDnsIp(input.serviceCidr),
    dnsDomain: input.dnsDomain ?? DEFAULT_DNS_DOMAIN,
    mtu: input.mtu,
    apiserver: { ...input.apiserver },
    konnectivity: input.konnectivity ? { ...input.konnectivity } : undefined,
    selection: { ...input.selection },
  };
}
