// Ubuntu 24.04 cloud-config that turns a fresh instance into a tenant node with `kubeadm join`.
// The only credential it carries is the short-lived bootstrap token: everything else the node
// needs (CA, kubelet config) it fetches and verifies during the join.
import { stringify } from 'yaml';
import { BOOTSTRAP_TOKEN_PATTERN } from './bootstrap-token.js';

/**
 * The cap when the caller names none: the smallest a provider is known to take (EC2, 16 KB before
 * base64). Each provider definition states its own, which the worker passes in.
 */
export const MAX_USER_DATA_BYTES = 16 * 1024;
export const DEFAULT_SSH_USER = 'harbormaster';
/** kubelet reads this file through the deb package's systemd drop-in. */
export const KUBELET_DEFAULTS_PATH = '/etc/default/kubelet';

export interface NodeTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeUserDataInput {
  /** Node name; also the hostname. A DNS-1123 subdomain. */
  nodeName: string;
  /** Full cluster version without "v", e.g. "1.32.3". */
  kubernetesVersion: string;
  /** host:port of the tenant apiserver as nodes reach it. */
  apiServerEndpoint: string;
  /** `<id>.<secret>` bootstrap token. */
  bootstrapToken: string;
  /** `sha256:<hex>` from discoveryTokenCaCertHash. */
  caCertHash: string;
  labels?: Record<string, string>;
  taints?: readonly NodeTaint[];
  sshPublicKeys?: readonly string[];
  sshUser?: string;
}

/** The user data cannot be built from this input, or would not fit the provider. */
export class NodeUserDataError extends Error {
  override readonly name = 'NodeUserDataError';
}

const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENDPOINT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const HASH = /^sha256:[0-9a-f]{64}$/;
const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * The kubelet refuses to start with `--node-labels` in the kubernetes.io / k8s.io namespaces
 * unless they are on its allow list (NodeRestriction would reject them anyway).
 */
const KUBELET_ALLOWED_LABELS = new Set([
  'kubernetes.io/hostname',
  'kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/instance-type',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'node.kubernetes.io/instance-type',
]);

export function isKubeletSettableLabel(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return true;
  const prefix = key.slice(0, slash);
  const restricted = prefix === 'kubernetes.io' || prefix.endsWith('.kubernetes.io') || prefix === 'k8s.io' || prefix.endsWith('.k8s.io');
  if (!restricted) return true;
  if (KUBELET_ALLOWED_LABELS.has(key)) return true;
  return ['kubelet.kubernetes.io', 'node.kubernetes.io'].some((allowed) => prefix === allowed || prefix.endsWith(`.${allowed}`));
}

function validate(input: NodeUserDataInput): void {
  const problems: string[] = [];
  if (!VERSION.test(input.kubernetesVersion)) problems.push(`kubernetesVersion ${input.kubernetesVersion} is not x.y.z`);
  if (!DNS_SUBDOMAIN.test(input.nodeName) || input.nodeName.length > 253) problems.push(`nodeName ${input.nodeName} is not a DNS-1123 subdomain`);
  if (!ENDPOINT.test(input.apiServerEndpoint)) problems.push(`apiServerEndpoint ${input.apiServerEndpoint} is not host:port`);
  if (!BOOTSTRAP_TOKEN_PATTERN.test(input.bootstrapToken)) problems.push('bootstrapToken does not match [a-z0-9]{6}.[a-z0-9]{16}');
  if (!HASH.test(input.caCertHash)) problems.push('caCertHash is not sha256:<64 hex>');
  if (input.sshUser !== undefined && (!UNIX_USER.test(input.sshUser) || input.sshUser === 'root'))
    problems.push(`sshUser ${input.sshUser} is not a valid non-root user name`);
  for (const [key, value] of Object.entries(input.labels ?? {})) {
    if (!LABEL_KEY.test(key) || !LABEL_VALUE.test(value) || value.length > 63) problems.push(`label ${key}=${value} is invalid`);
    else if (!isKubeletSettableLabel(key)) problems.push(`label ${key} is in a namespace the kubelet may not set`);
  }
  for (const taint of input.taints ?? []) {
    if (!LABEL_KEY.test(taint.key) || (taint.value !== undefined && !LABEL_VALUE.test(taint.value))) problems.push(`taint ${taint.key} is invalid`);
  }
  for (const key of input.sshPublicKeys ?? []) {
    // A newline would let a key inject further authorized_keys entries or YAML.
    if (/[\r\n]/.test(key) || !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}( [^\r\n]*)?$/.test(key.trim()))
      problems.push('an SSH public key is malformed');
  }
  if (problems.length > 0) throw new NodeUserDataError(`invalid node user data input: ${problems.join('; ')}`);
}

/** `key=value:Effect` pairs for `--register-with-taints`. */
export function formatTaints(taints: readonly NodeTaint[]): string {
  return taints.map((taint) => `${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`).join(',');
}

export function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** The pkgs.k8s.io channel is per minor; the packages inside it carry a `-<rev>` Debian revision. */
function kubernetesApt(version: string): { repo: string; keyUrl: string; pin: string } {
  const [major, minor] = version.split('.');
  const base = `https://pkgs.k8s.io/core:/stable:/v${major}.${minor}/deb/`;
  return { repo: base, keyUrl: `${base}Release.key`, pin: `${version}-*` };
}

export function buildNodeUserData(input: NodeUserDataInput, maxBytes: number = MAX_USER_DATA_BYTES): string {
  validate(input);
  const labels = input.labels ?? {};
  const taints = input.taints ?? [];
  const sshUser = input.sshUser ?? DEFAULT_SSH_USER;
  const apt = kubernetesApt(input.kubernetesVersion);
  const keyring = '/etc/apt/keyrings/kubernetes-apt-keyring.gpg';
  const kubeletArgs = [
    ...(Object.keys(labels).length > 0 ? [`--node-labels=${formatLabels(labels)}`] : []),
    ...(taints.length > 0 ? [`--register-with-taints=${formatTaints(taints)}`] : []),
  ];
  const pin = `'${apt.pin}'`;
  const config = {
    hostname: input.nodeName,
    fqdn: input.nodeName,
    preserve_hostname: false,
    // The image's default user would be a second, unmanaged way in.
    users: [
      {
        name: sshUser,
        groups: ['sudo'],
        shell: '/bin/bash',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        ssh_authorized_keys: [...(input.sshPublicKeys ?? [])].map((key) => key.trim()),
      },
    ],
    disable_root: true,
    ssh_pwauth: false,
    package_update: true,
    packages: ['apt-transport-https', 'ca-certificates', 'curl', 'gpg', 'containerd'],
    write_files: [
      { path: '/etc/modules-load.d/k8s.conf', permissions: '0644', content: 'overlay\nbr_netfilter\n' },
      {
        path: '/etc/sysctl.d/99-kubernetes.conf',
        permissions: '0644',
        content: 'net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n',
      },
      { path: KUBELET_DEFAULTS_PATH, permissions: '0644', content: `KUBELET_EXTRA_ARGS="${kubeletArgs.join(' ')}"\n` },
    ],
    runcmd: [
      'swapoff -a',
      "sed -i -E '/\\sswap\\s/ s/^#*/#/' /etc/fstab",
      'modprobe overlay',
      'modprobe br_netfilter',
      'sysctl --system',
      'mkdir -p /etc/containerd /etc/apt/keyrings',
      // kubeadm configures the kubelet for the systemd cgroup driver; containerd must match.
      "containerd config default | sed 's/SystemdCgroup = false/SystemdCgroup = true/' > /etc/containerd/config.toml",
      'systemctl restart containerd',
      `curl -fsSL ${apt.keyUrl} | gpg --dearmor --yes -o ${keyring}`,
      `echo 'deb [signed-by=${keyring}] ${apt.repo} /' > /etc/apt/sources.list.d/kubernetes.list`,
      'apt-get update',
      `DEBIAN_FRONTEND=noninteractive apt-get install -y kubelet=${pin} kubeadm=${pin} kubectl=${pin}`,
      'apt-mark hold kubelet kubeadm kubectl',
      'systemctl enable kubelet',
      `kubeadm join ${input.apiServerEndpoint} --node-name ${input.nodeName} --token ${input.bootstrapToken} --discovery-token-ca-cert-hash ${input.caCertHash}`,
    ],
  };
  const userData = `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
  const size = Buffer.byteLength(userData);
  if (size > maxBytes) throw new NodeUserDataError(`node user data is ${size} bytes, above the ${maxBytes}-byte limit`);
  return userData;
}
