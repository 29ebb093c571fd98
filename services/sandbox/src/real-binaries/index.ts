// Where the real Kubernetes, etcd and konnectivity binaries built by scripts/kube-bins.sh live.
// The script writes one directory per version under one cache root: `v1.37.2/` (kube-apiserver,
// kube-controller-manager, kube-scheduler, kubeadm, kubemark, kubectl), `etcd-v3.7.0/` (etcd,
// etcdctl) and `konnectivity-v0.36.0/` (proxy-server, proxy-agent: the API-server-to-node
// tunnel). KUBE_BIN_DIR names the newest version's directory, so its parent is the root and
// every other version is a sibling. See README.md here.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type KubeCommand = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubeadm' | 'kubemark' | 'kubectl';
export type EtcdCommand = 'etcd' | 'etcdctl';
/** apiserver-network-proxy's server and agent, named as upstream's images name them. */
export type KonnectivityCommand = 'proxy-server' | 'proxy-agent';

/**
 * The konnectivity release built for a Kubernetes minor: the one whose konnectivity-client that
 * minor's kube-apiserver links (k8s.io/kubernetes go.mod), as KONNECTIVITY_FOR_MINOR in
 * scripts/kube-bins.sh pairs them. A minor without an entry has no konnectivity built.
 */
export const KONNECTIVITY_FOR_MINOR: Readonly<Record<string, string>> = { '1.37': '0.36.0' };

export class RealBinaryMissing extends Error {}

export class RealBinaries {
  /** @param newestDir the directory KUBE_BIN_DIR names, e.g. `.cache/kube-bins/v1.37.2` */
  constructor(readonly newestDir: string) {}

  /** From KUBE_BIN_DIR; undefined when the simulators play the real binaries. */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): RealBinaries | undefined {
    const dir = env.KUBE_BIN_DIR;
    return dir ? new RealBinaries(dir) : undefined;
  }

  get root(): string {
    return dirname(this.newestDir);
  }

  /** The version KUBE_BIN_DIR holds, without "v" ("1.37.2"). */
  get newestVersion(): string {
    return this.newestDir.split('/').filter(Boolean).pop()?.replace(/^v/, '') ?? '';
  }

  /**
   * A Kubernetes command of exactly `version` ("1.36.3" or "v1.36.3"). There is no fallback to
   * another version: a node or a control plane reporting a version it was not asked for would
   * hide skew bugs, so a version that was not built is missing, like an image that cannot be pulled.
   */
  kube(command: KubeCommand, version: string): string {
    const bare = version.replace(/^v/, '');
    const path = join(this.root, `v${bare}`, command);
    if (!existsSync(path)) throw new RealBinaryMissing(`${command} v${bare} was not built (no ${path}); run npm run kube:bins`);
    return path;
  }

  /**
   * etcd for an image tag ("3.7.0-0" → etcd-v3.7.0/etcd). The catalog names the etcd release
   * kubeadm pairs with each minor, which is the one built.
   */
  etcd(command: EtcdCommand, imageTag: string): string {
    const version = imageTag.replace(/^v/, '').split('-')[0] ?? '';
    const path = join(this.root, `etcd-v${version}`, command);
    if (!existsSync(path)) throw new RealBinaryMissing(`${command} v${version} was not built (no ${path}); run npm run kube:bins`);
    return path;
  }

  /**
   * The konnectivity proxy-server or proxy-agent paired with Kubernetes `kubernetesVersion`
   * ("1.37.2" → konnectivity-v0.36.0/). Like kube(), no fallback to another release.
   */
  konnectivity(command: KonnectivityCommand, kubernetesVersion: string): string {
    const minor = kubernetesVersion.replace(/^v/, '').split('.').slice(0, 2).join('.');
    const version = KONNECTIVITY_FOR_MINOR[minor];
    if (!version) throw new RealBinaryMissing(`no konnectivity release is paired with Kubernetes ${minor} (KONNECTIVITY_FOR_MINOR)`);
    const path = join(this.root, `konnectivity-v${version}`, command);
    if (!existsSync(path)) throw new RealBinaryMissing(`${command} v${version} was not built (no ${path}); run npm run kube:bins`);
    return path;
  }

  /**
   * The konnectivity proxy-server or proxy-agent of an image tag ("v0.36.0" → konnectivity-v0.36.0/),
   * for a container that names its release by image. No fallback to another release.
   */
  konnectivityRelease(command: KonnectivityCommand, imageTag: string): string {
    const version = imageTag.replace(/^v/, '');
    const path = join(this.root, `konnectivity-v${version}`, command);
    if (!existsSync(path)) throw new RealBinaryMissing(`${command} v${version} was not built (no ${path}); run npm run kube:bins`);
    return path;
  }

  /** Every Kubernetes version built under the root, newest first. */
  kubeVersions(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .filter((name) => /^v\d+\.\d+\.\d+$/.test(name))
      .map((name) => name.slice(1))
      .sort((a, b) => compareVersions(b, a));
  }
}

function compareVersions(a: string, b: string): number {
  const [left, right] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let index = 0; index < 3; index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
