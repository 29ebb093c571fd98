// Global setup of the real-binaries suite (vitest.real.config.ts): every binary the scenarios
// run must be there in the versions the catalog names, or the suite stops before it starts.
import { SUPPORTED_VERSIONS } from '../../services/core/src/versions.js';
import { RealBinaries } from '../../services/sandbox/src/real-binaries/index.js';

export default function setup(): void {
  const binaries = RealBinaries.fromEnvironment();
  if (!binaries) throw new Error('KUBE_BIN_DIR is not set: run `eval "$(npm run -s kube:bins)"` first (npm test does)');
  // The newest catalog version and the minor before it (the upgrade scenarios), with their etcd.
  for (const version of SUPPORTED_VERSIONS.slice(-2)) {
    for (const command of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubeadm', 'kubemark', 'kubectl'] as const)
      binaries.kube(command, version.version);
    for (const command of ['etcd', 'etcdctl'] as const) binaries.etcd(command, version.etcdVersion);
  }
}
