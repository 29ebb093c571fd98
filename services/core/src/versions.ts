// The Kubernetes versions Harbormaster offers. The control-plane issue extends each entry
// with the component images and flags that minor gets.
export interface KubernetesVersion {
  /** Full semantic version without the leading "v", e.g. "1.36.2". */
  version: string;
  minor: string;
}

export const SUPPORTED_VERSIONS: readonly KubernetesVersion[] = [
  { version: '1.35.4', minor: '1.35' },
  { version: '1.36.2', minor: '1.36' },
  { version: '1.37.0', minor: '1.37' },
];

export function newestVersion(): KubernetesVersion {
  return SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1];
}

export function findVersion(version: string): KubernetesVersion | undefined {
  return SUPPORTED_VERSIONS.find((candidate) => candidate.version === version);
}
