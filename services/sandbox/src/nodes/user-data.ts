// Reads a node's cloud-config the way the booted instance would act on it: only what
// `kubeadm join`, the kubelet flags and cloud-init's users module would take from it.
import { parse } from 'yaml';

export interface NodeTaintSpec {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface JoinParameters {
  /** host:port from the `kubeadm join` line. */
  endpoint: string;
  tokenId: string;
  tokenSecret: string;
  /** `sha256:<hex>` pins, as given (kubeadm accepts several). */
  caCertHashes: string[];
  nodeName: string;
  /** The kubelet version the user data pins, when it does. */
  kubernetesVersion?: string;
  labels: Record<string, string>;
  taints: NodeTaintSpec[];
  sshUser?: string;
  sshAuthorizedKeys: string[];
}

export class UserDataError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringsOf(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new UserDataError(`${what} must be a list of strings`);
  return value as string[];
}

/** Splits a shell command line on whitespace, honouring simple single and double quotes. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (let match = pattern.exec(line); match; match = pattern.exec(line)) words.push(match[1] ?? match[2] ?? match[3] ?? '');
  return words;
}

function parseJoinLine(line: string): Pick<JoinParameters, 'endpoint' | 'tokenId' | 'tokenSecret' | 'caCertHashes'> & { nodeName?: string } {
  const words = shellWords(line);
  if (words[0] !== 'kubeadm' || words[1] !== 'join') throw new UserDataError('the last command is not kubeadm join');
  let endpoint: string | undefined;
  let token: string | undefined;
  let nodeName: string | undefined;
  const caCertHashes: string[] = [];
  for (let index = 2; index < words.length; index += 1) {
    const word = words[index];
    const [flag, inline] =
      word.startsWith('--') && word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, undefined];
    const value = (): string => {
      const found = inline ?? words[++index];
      if (found === undefined) throw new UserDataError(`${flag} needs a value`);
      return found;
    };
    if (flag === '--token' || flag === '--discovery-token') token = value();
    else if (flag === '--discovery-token-ca-cert-hash') caCertHashes.push(...value().split(','));
    else if (flag === '--node-name') nodeName = value();
    else if (flag.startsWith('-')) throw new UserDataError(`kubeadm join flag ${flag} is not supported by the node simulator`);
    else if (endpoint === undefined) endpoint = flag;
    else throw new UserDataError(`unexpected kubeadm join argument ${flag}`);
  }
  if (!endpoint || !/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(endpoint)) throw new UserDataError('kubeadm join needs <host>:<port>');
  const tokenMatch = /^([a-z0-9]{6})\.([a-z0-9]{16})$/.exec(token ?? '');
  if (!tokenMatch) throw new UserDataError('kubeadm join needs --token [a-z0-9]{6}.[a-z0-9]{16}');
  // kubeadm refuses token discovery without a pin unless told --discovery-token-unsafe-skip-ca-verification.
  if (caCertHashes.length === 0) throw new UserDataError('kubeadm join needs --discovery-token-ca-cert-hash');
  for (const hash of caCertHashes) if (!/^sha256:[0-9a-f]{64}$/.test(hash)) throw new UserDataError(`unsupported CA hash ${hash}`);
  return { endpoint, tokenId: tokenMatch[1], tokenSecret: tokenMatch[2], caCertHashes, ...(nodeName ? { nodeName } : {}) };
}

function parseTaint(text: string): NodeTaintSpec {
  const match = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(text);
  if (!match) throw new UserDataError(`invalid taint ${text}`);
  return { key: match[1], ...(match[2] ? { value: match[2] } : {}), effect: match[3] as NodeTaintSpec['effect'] };
}

function parseKubeletDefaults(content: string): { labels: Record<string, string>; taints: NodeTaintSpec[] } {
  const labels: Record<string, string> = {};
  const taints: NodeTaintSpec[] = [];
  const assignment = /^KUBELET_EXTRA_ARGS=(.*)$/m.exec(content)?.[1] ?? '';
  // systemd's EnvironmentFile strips the outer quotes; the kubelet then sees whitespace-separated flags.
  const args = shellWords(assignment).join(' ');
  for (const word of args.split(/\s+/).filter(Boolean)) {
    if (word.startsWith('--node-labels=')) {
      for (const pair of word.slice('--node-labels='.length).split(',').filter(Boolean)) {
        const separator = pair.indexOf('=');
        if (separator <= 0) throw new UserDataError(`invalid node label ${pair}`);
        labels[pair.slice(0, separator)] = pair.slice(separator + 1);
      }
    } else if (word.startsWith('--register-with-taints=')) {
      taints.push(...word.slice('--register-with-taints='.length).split(',').filter(Boolean).map(parseTaint));
    }
  }
  return { labels, taints };
}

export function parseNodeUserData(userData: string): JoinParameters {
  if (!userData.startsWith('#cloud-config\n')) throw new UserDataError('user data is not a #cloud-config document');
  let config: unknown;
  try {
    config = parse(userData);
  } catch (error) {
    throw new UserDataError(`user data is not valid YAML: ${(error as Error).message}`);
  }
  if (!isRecord(config)) throw new UserDataError('cloud-config must be a mapping');
  const runcmd = config.runcmd;
  if (!Array.isArray(runcmd) || runcmd.length === 0) throw new UserDataError('cloud-config has no runcmd');
  const commands = runcmd.map((entry) => (Array.isArray(entry) ? entry.map(String).join(' ') : String(entry)));
  const join = parseJoinLine(commands[commands.length - 1]);
  const hostname = typeof config.hostname === 'string' ? config.hostname : undefined;
  const nodeName = (join.nodeName ?? hostname)?.toLowerCase();
  if (!nodeName) throw new UserDataError('no node name: neither --node-name nor hostname is set');
  const writeFiles = Array.isArray(config.write_files) ? config.write_files.filter(isRecord) : [];
  const kubeletDefaults = writeFiles.find((file) => file.path === '/etc/default/kubelet');
  const { labels, taints } = parseKubeletDefaults(typeof kubeletDefaults?.content === 'string' ? kubeletDefaults.content : '');
  const pinned = commands.map((command) => /kubelet='?(\d+\.\d+\.\d+)-/.exec(command)?.[1]).find(Boolean);
  const users = Array.isArray(config.users) ? config.users.filter(isRecord) : [];
  const sshUser = users.find((candidate) => typeof candidate.name === 'string');
  const sshAuthorizedKeys = [
    ...users.flatMap((candidate) => stringsOf(candidate.ssh_authorized_keys, 'ssh_authorized_keys')),
    ...stringsOf(config.ssh_authorized_keys, 'ssh_authorized_keys'),
  ];
  return {
    endpoint: join.endpoint,
    tokenId: join.tokenId,
    tokenSecret: join.tokenSecret,
    caCertHashes: join.caCertHashes,
    nodeName,
    ...(pinned ? { kubernetesVersion: pinned } : {}),
    labels,
    taints,
    ...(sshUser ? { sshUser: sshUser.name as string } : {}),
    sshAuthorizedKeys,
  };
}
