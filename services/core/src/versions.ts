// The Kubernetes versions Harbormaster offers, with what each minor needs to run its
// control plane: component images and the flags a minor adds or drops.

export type ControlPlaneComponent = 'etcd' | 'apiserver' | 'controllerManager' | 'scheduler';

/**
 * Per-minor flag adjustments applied on top of the builders' baseline flags. `set` adds or
 * overrides a flag; `remove` drops a baseline flag that a minor no longer accepts (the binary
 * would refuse to start with an unknown flag).
 */
export interface FlagOverrides {
  set?: Readonly<Record<string, string>>;
  remove?: readonly string[];
}

export interface ComponentImages {
  etcd: string;
  apiserver: string;
  controllerManager: string;
  scheduler: string;
  /** The konnectivity server beside each apiserver replica: the same release as the agents it serves. */
  konnectivityServer: string;
}

/** Images of the tenant add-ons (services/core/src/addons); an absent one is unsupported on that minor. */
export interface AddonImages {
  kubeProxy: string;
  cilium?: string;
  ciliumOperator?: string;
  flannel?: string;
  flannelCniPlugin?: string;
  coredns?: string;
  konnectivityAgent?: string;
  metricsServer?: string;
}

export interface KubernetesVersion {
  /** Full semantic version without the leading "v", e.g. "1.36.3". */
  version: string;
  minor: string;
  /** The etcd release kubeadm pairs with this minor (its SupportedEtcdVersion table). */
  etcdVersion: string;
  images: ComponentImages;
  flags: Readonly<Partial<Record<ControlPlaneComponent, FlagOverrides>>>;
  /** kubeadm ClusterConfiguration API the nodes' `kubeadm join` of this minor reads. */
  kubeadmApiVersion: string;
  addonImages: AddonImages;
}

const REGISTRY = 'registry.k8s.io';

/** Add-on releases per minor; each line says where its pairing comes from. */
interface AddonPins {
  cilium?: string;
  flannel?: { flannel: string; cniPlugin: string };
  coredns?: string;
  konnectivity?: string;
  metricsServer?: string;
}

// flannel and metrics-server do not follow the Kubernetes minor: one tested release serves all.
const FLANNEL = { flannel: 'v0.27.4', cniPlugin: 'v1.8.0-flannel1' };
const METRICS_SERVER = 'v0.8.1';

const ADDON_PINS: Readonly<Record<string, AddonPins>> = {
  // coredns: the CoreDNSVersion kubeadm of the minor pins (1.35: v1.13.1, 1.36: v1.14.2).
  // konnectivity: apiserver-network-proxy releases 0.<minor>.x for Kubernetes 1.<minor> since 0.28;
  // server and agents run one release. 1.37 runs the release whose konnectivity-client its
  // kube-apiserver links (go.mod of v1.37.2: v0.36.0), the pairing the real-binaries test proves.
  // cilium: the newest stable line whose e2e matrix covers (or is nearest to) the minor.
  '1.35': { cilium: 'v1.19.5', flannel: FLANNEL, coredns: 'v1.13.1', konnectivity: 'v0.35.0', metricsServer: METRICS_SERVER },
  '1.36': { cilium: 'v1.20.3', flannel: FLANNEL, coredns: 'v1.14.2', konnectivity: 'v0.36.0', metricsServer: METRICS_SERVER },
  // Until kubeadm 1.37's own pin is confirmed, 1.37 keeps 1.36's CoreDNS.
  '1.37': { cilium: 'v1.20.3', flannel: FLANNEL, coredns: 'v1.14.2', konnectivity: 'v0.36.0', metricsServer: METRICS_SERVER },
};

function konnectivityImage(command: 'proxy-server' | 'proxy-agent', release: string): string {
  return `${REGISTRY}/kas-network-proxy/${command}:${release}`;
}

function addonImages(version: string, pins: AddonPins | undefined): AddonImages {
  const images: AddonImages = { kubeProxy: `${REGISTRY}/kube-proxy:v${version}` };
  if (!pins) return images;
  if (pins.cilium) {
    images.cilium = `quay.io/cilium/cilium:${pins.cilium}`;
    images.ciliumOperator = `quay.io/cilium/operator-generic:${pins.cilium}`;
  }
  if (pins.flannel) {
    images.flannel = `ghcr.io/flannel-io/flannel:${pins.flannel.flannel}`;
    images.flannelCniPlugin = `ghcr.io/flannel-io/flannel-cni-plugin:${pins.flannel.cniPlugin}`;
  }
  if (pins.coredns) images.coredns = `${REGISTRY}/coredns/coredns:${pins.coredns}`;
  if (pins.konnectivity) images.konnectivityAgent = konnectivityImage('proxy-agent', pins.konnectivity);
  if (pins.metricsServer) images.metricsServer = `${REGISTRY}/metrics-server/metrics-server:${pins.metricsServer}`;
  return images;
}

function entry(version: string, etcdVersion: string, flags: KubernetesVersion['flags'] = {}): KubernetesVersion {
  const minor = version.split('.').slice(0, 2).join('.');
  const konnectivity = ADDON_PINS[minor]?.konnectivity;
  // eslint-disable-next-line no-restricted-syntax -- a table entry without a konnectivity pin is a programming error caught at load
  if (!konnectivity) throw new Error(`Kubernetes ${minor} has no konnectivity release pinned; every control plane runs a konnectivity server`);
  return {
    version,
    minor,
    etcdVersion,
    images: {
      etcd: `${REGISTRY}/etcd:${etcdVersion}`,
      apiserver: `${REGISTRY}/kube-apiserver:v${version}`,
      controllerManager: `${REGISTRY}/kube-controller-manager:v${version}`,
      scheduler: `${REGISTRY}/kube-scheduler:v${version}`,
      konnectivityServer: konnectivityImage('proxy-server', konnectivity),
    },
    flags,
    kubeadmApiVersion: 'kubeadm.k8s.io/v1beta4',
    addonImages: addonImages(version, ADDON_PINS[minor]),
  };
}

export const SUPPORTED_VERSIONS: readonly KubernetesVersion[] = [
  // The flags every supported minor accepts live in the builders; this table only carries
  // differences, so a new minor that changes nothing needs no entry beyond its images.
  // etcd deliberately gets only flags that etcd 3.4 to 3.6 all accept: the sandbox runs these
  // manifests with Debian's etcd 3.4. kubeadm's optional `--watch-progress-notify-interval` and
  // `--feature-gates=InitialCorruptCheck=true` (etcd >= 3.6 names; the `--experimental-*`
  // forms are gone in 3.7) would go here as `etcd: { set: ... }` once the sandbox has 3.6.
  entry('1.35.4', '3.6.5-0'),
  entry('1.36.3', '3.6.8-0'),
  entry('1.37.2', '3.7.0-0'),
];

export function newestVersion(): KubernetesVersion {
  return SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1];
}

export function findVersion(version: string): KubernetesVersion | undefined {
  return SUPPORTED_VERSIONS.find((candidate) => candidate.version === version);
}

/** Applies a minor's overrides to baseline `--flag=value` arguments, keeping their order. */
export function applyFlagOverrides(baseline: readonly string[], overrides: FlagOverrides | undefined): string[] {
  if (!overrides) return [...baseline];
  const removed = new Set(overrides.remove ?? []);
  const set = overrides.set ?? {};
  const flagName = (argument: string): string => argument.split('=', 1)[0];
  const result = baseline
    .filter((argument) => !removed.has(flagName(argument)))
    .map((argument) => {
      const name = flagName(argument);
      return name in set ? `${name}=${set[name]}` : argument;
    });
  const present = new Set(result.map(flagName));
  for (const [name, value] of Object.entries(set)) {
    if (!present.has(name)) result.push(`${name}=${value}`);
  }
  return result;
}

/**
 * Kubernetes' version-skew policy: a kubelet may be up to three minors older than kube-apiserver
 * (since 1.28) and never newer.
 */
export const MAX_KUBELET_MINOR_SKEW = 3;

function minorOf(version: string): { major: number; minor: number } | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.\d+)?/.exec(version.trim());
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** Why a kubelet of `kubeletVersion` could not work with an apiserver of `apiserverVersion`, or undefined when it can. */
export function kubeletSkewProblem(apiserverVersion: string, kubeletVersion: string): string | undefined {
  const apiserver = minorOf(apiserverVersion);
  const kubelet = minorOf(kubeletVersion);
  if (!apiserver || !kubelet) return `cannot compare versions ${apiserverVersion} and ${kubeletVersion}`;
  if (apiserver.major !== kubelet.major) return `kubelet ${kubeletVersion} and apiserver ${apiserverVersion} differ in major version`;
  if (kubelet.minor > apiserver.minor) return `kubelet ${kubeletVersion} is newer than apiserver ${apiserverVersion}`;
  if (apiserver.minor - kubelet.minor > MAX_KUBELET_MINOR_SKEW) {
    return `kubelet ${kubeletVersion} would be ${apiserver.minor - kubelet.minor} minors behind apiserver ${apiserverVersion} (at most ${MAX_KUBELET_MINOR_SKEW} allowed)`;
  }
  return undefined;
}
