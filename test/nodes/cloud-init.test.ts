import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildNodeUserData, MAX_USER_DATA_BYTES, type NodeUserDataInput } from '../../services/core/src/bootstrap/cloud-init.js';
import {
  buildBootstrapTokenSecret,
  decideTokenRefresh,
  formatBootstrapToken,
  generateBootstrapToken,
  parseBootstrapToken,
} from '../../services/core/src/bootstrap/bootstrap-token.js';
import { createHmac } from 'node:crypto';
import { parseNodeUserData } from '../../services/sandbox/src/nodes/user-data.js';
import { verifyDetachedJws } from '../../services/sandbox/src/nodes/join.js';

// RSA-4096 generation is slow on a shared machine; one key with varying comments is as long as sixteen.
const rsaKey = generateKeyPairSync('rsa', { modulusLength: 4096 }).publicKey;

function sshKey(type: 'ed25519' | 'rsa', comment: string): string {
  const publicKey = type === 'rsa' ? rsaKey : generateKeyPairSync('ed25519').publicKey;
  const jwk = publicKey.export({ format: 'jwk' });
  const field = (value: Buffer): Buffer => Buffer.concat([Buffer.alloc(4), value]).fill(0, 0, 0);
  const withLength = (value: Buffer): Buffer => {
    const out = field(value);
    out.writeUInt32BE(value.length, 0);
    return out;
  };
  if (type === 'ed25519') {
    const blob = Buffer.concat([withLength(Buffer.from('ssh-ed25519')), withLength(Buffer.from(jwk.x!, 'base64url'))]);
    return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
  }
  const mpint = (value: Buffer): Buffer => withLength(value[0] & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
  const blob = Buffer.concat([withLength(Buffer.from('ssh-rsa')), mpint(Buffer.from(jwk.e!, 'base64url')), mpint(Buffer.from(jwk.n!, 'base64url'))]);
  return `ssh-rsa ${blob.toString('base64')} ${comment}`;
}

const token = formatBootstrapToken(generateBootstrapToken());
const hash = `sha256:${'ab'.repeat(32)}`;
const base: NodeUserDataInput = {
  nodeName: 'pool-a-7x2k9',
  kubernetesVersion: '1.36.3',
  apiServerEndpoint: '203.0.113.10:31443',
  bootstrapToken: token,
  caCertHash: hash,
  labels: { 'harbormaster.dev/pool': 'pool-a', 'node.kubernetes.io/instance-type': 't3.medium' },
  taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
  sshPublicKeys: [sshKey('ed25519', 'ops@example')],
};

describe('bootstrap tokens', () => {
  it('generates distinct kubeadm-format tokens', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => formatBootstrapToken(generateBootstrapToken())));
    expect(tokens.size).toBe(200);
    for (const value of tokens) expect(value).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(() => parseBootstrapToken('ABCDEF.0123456789abcdef')).toThrow();
  });

  it('builds the kube-system Secret the bootstrap authenticator reads', () => {
    const parsed = parseBootstrapToken('abcdef.0123456789abcdef');
    const secret = buildBootstrapTokenSecret({ token: parsed, now: new Date('2026-01-01T10:00:00.123Z'), labels: { 'harbormaster.dev/pool': 'p1' } });
    expect(secret.metadata).toMatchObject({ name: 'bootstrap-token-abcdef', namespace: 'kube-system' });
    expect(secret.type).toBe('bootstrap.kubernetes.io/token');
    const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]));
    expect(data).toMatchObject({
      'token-id': 'abcdef',
      'token-secret': '0123456789abcdef',
      expiration: '2026-01-01T10:30:00Z',
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-signing': 'true',
      'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
    });
    expect(data.description).toBeTruthy();
  });

  it('extends the token while nodes join and deletes it when none do', () => {
    const now = new Date('2026-01-01T10:00:00Z');
    const in20 = new Date(now.getTime() + 20 * 60_000);
    const in5 = new Date(now.getTime() + 5 * 60_000);
    expect(decideTokenRefresh({ now, expiresAt: undefined, joiningNodes: 2 })).toEqual({ action: 'create', expiresAt: new Date(now.getTime() + 30 * 60_000) });
    expect(decideTokenRefresh({ now, expiresAt: in20, joiningNodes: 1 })).toEqual({ action: 'keep' });
    expect(decideTokenRefresh({ now, expiresAt: in5, joiningNodes: 1 })).toEqual({ action: 'extend', expiresAt: new Date(now.getTime() + 30 * 60_000) });
    expect(decideTokenRefresh({ now, expiresAt: new Date(now.getTime() - 1000), joiningNodes: 1 }).action).toBe('create');
    expect(decideTokenRefresh({ now, expiresAt: in20, joiningNodes: 0 })).toEqual({ action: 'delete' });
    expect(decideTokenRefresh({ now, expiresAt: undefined, joiningNodes: 0 })).toEqual({ action: 'none' });
  });
});

describe('node cloud-init user data', () => {
  it('is a valid cloud-config that prepares Ubuntu and ends with kubeadm join', () => {
    const userData = buildNodeUserData(base);
    expect(userData.startsWith('#cloud-config\n')).toBe(true);
    const config = parse(userData) as Record<string, unknown>;
    expect(config.hostname).toBe('pool-a-7x2k9');
    expect(config.packages).toContain('containerd');
    const files = config.write_files as Array<{ path: string; content: string }>;
    expect(files.find((file) => file.path === '/etc/modules-load.d/k8s.conf')?.content.split('\n')).toEqual(
      expect.arrayContaining(['overlay', 'br_netfilter']),
    );
    const sysctl = files.find((file) => file.path === '/etc/sysctl.d/99-kubernetes.conf')?.content ?? '';
    for (const key of ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables', 'net.ipv4.ip_forward'])
      expect(sysctl).toMatch(new RegExp(`^${key.replace(/\./g, '\\.')} = 1$`, 'm'));
    const kubelet = files.find((file) => file.path === '/etc/default/kubelet')?.content ?? '';
    expect(kubelet).toContain('--node-labels=harbormaster.dev/pool=pool-a,node.kubernetes.io/instance-type=t3.medium');
    expect(kubelet).toContain('--register-with-taints=dedicated=gpu:NoSchedule');
    const runcmd = config.runcmd as string[];
    expect(runcmd).toContain('swapoff -a');
    expect(runcmd.some((command) => command.includes('https://pkgs.k8s.io/core:/stable:/v1.36/deb/Release.key') && command.includes('gpg --dearmor'))).toBe(
      true,
    );
    expect(
      runcmd.some((command) => command.includes('signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.36/deb/ /')),
    ).toBe(true);
    expect(runcmd.some((command) => command.includes("kubelet='1.36.3-*' kubeadm='1.36.3-*' kubectl='1.36.3-*'"))).toBe(true);
    expect(runcmd.at(-1)).toBe(`kubeadm join 203.0.113.10:31443 --node-name pool-a-7x2k9 --token ${token} --discovery-token-ca-cert-hash ${hash}`);
    const users = config.users as Array<{ name: string; ssh_authorized_keys: string[] }>;
    expect(users[0].name).not.toBe('root');
    expect(users[0].ssh_authorized_keys).toEqual(base.sshPublicKeys);
    // The node simulator reads back what a real instance would act on.
    const params = parseNodeUserData(userData);
    expect(params).toMatchObject({
      endpoint: '203.0.113.10:31443',
      nodeName: 'pool-a-7x2k9',
      caCertHashes: [hash],
      kubernetesVersion: '1.36.3',
      labels: base.labels,
      taints: base.taints,
      sshAuthorizedKeys: base.sshPublicKeys,
    });
    expect(`${params.tokenId}.${params.tokenSecret}`).toBe(token);
  });

  it('carries no long-lived secret', () => {
    const userData = buildNodeUserData(base);
    expect(userData).not.toMatch(/-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/);
    expect(userData).not.toMatch(/client-key-data|client-certificate-data|certificate-authority-data|password|system:masters/i);
    // The bootstrap token is the only credential, and it appears exactly once, in the join line.
    expect(userData.split(token).length - 1).toBe(1);
  });

  it('stays under 16 KB with 16 RSA-4096 keys and many labels and taints', () => {
    const labels = Object.fromEntries(Array.from({ length: 40 }, (_, index) => [`example.com/label-${index}`, `value-${index}`]));
    const taints = Array.from({ length: 8 }, (_, index) => ({ key: `example.com/taint-${index}`, value: 'yes', effect: 'NoExecute' as const }));
    const sshPublicKeys = Array.from({ length: 16 }, (_, index) => sshKey(index % 4 === 0 ? 'ed25519' : 'rsa', `user${index}@example`));
    const userData = buildNodeUserData({ ...base, labels, taints, sshPublicKeys });
    expect(Buffer.byteLength(userData)).toBeLessThanOrEqual(MAX_USER_DATA_BYTES);
    expect(parseNodeUserData(userData).sshAuthorizedKeys).toHaveLength(16);
    expect(() => buildNodeUserData({ ...base, sshPublicKeys: Array.from({ length: 16 }, () => sshKey('rsa', 'x'.repeat(400))) })).toThrow(/16384-byte limit/);
  });

  it('rejects inputs a node could not act on or that would inject content', () => {
    expect(() => buildNodeUserData({ ...base, bootstrapToken: 'not-a-token' })).toThrow(/bootstrapToken/);
    expect(() => buildNodeUserData({ ...base, caCertHash: 'md5:abc' })).toThrow(/caCertHash/);
    expect(() => buildNodeUserData({ ...base, labels: { 'node-role.kubernetes.io/worker': '' } })).toThrow(/kubelet may not set/);
    expect(() => buildNodeUserData({ ...base, sshPublicKeys: [`${base.sshPublicKeys![0]}\nssh-ed25519 AAAA evil`] })).toThrow(/SSH public key/);
    expect(() => buildNodeUserData({ ...base, nodeName: 'Bad_Name' })).toThrow(/nodeName/);
  });
});

describe('node simulator user-data and JWS checks', () => {
  const kubeconfig = 'apiVersion: v1\nkind: Config\nclusters: []\n';
  const sign = (content: string, kid: string, secret: string, alg = 'HS256'): string => {
    const header = Buffer.from(JSON.stringify({ alg, kid })).toString('base64url');
    return `${header}..${createHmac('sha256', secret)
      .update(`${header}.${Buffer.from(content).toString('base64url')}`)
      .digest('base64url')}`;
  };

  it('accepts only a detached HS256 JWS made with the token secret over the exact kubeconfig', () => {
    expect(verifyDetachedJws(sign(kubeconfig, 'abcdef', '0123456789abcdef'), kubeconfig, 'abcdef', '0123456789abcdef')).toBe(true);
    expect(verifyDetachedJws(sign(kubeconfig, 'abcdef', 'ffffffffffffffff'), kubeconfig, 'abcdef', '0123456789abcdef')).toBe(false);
    expect(verifyDetachedJws(sign(`${kubeconfig}# tampered\n`, 'abcdef', '0123456789abcdef'), kubeconfig, 'abcdef', '0123456789abcdef')).toBe(false);
    expect(verifyDetachedJws(sign(kubeconfig, 'zzzzzz', '0123456789abcdef'), kubeconfig, 'abcdef', '0123456789abcdef')).toBe(false);
    expect(verifyDetachedJws(sign(kubeconfig, 'abcdef', '0123456789abcdef', 'none'), kubeconfig, 'abcdef', '0123456789abcdef')).toBe(false);
  });

  it('refuses user data a node could not join with', () => {
    const good = buildNodeUserData(base);
    expect(() => parseNodeUserData(good.replace('#cloud-config\n', ''))).toThrow(/#cloud-config/);
    expect(() => parseNodeUserData(good.replace(/ --discovery-token-ca-cert-hash \S+/, ''))).toThrow(/ca-cert-hash/);
    expect(() =>
      parseNodeUserData(good.replace(/ --discovery-token-ca-cert-hash /, ' --discovery-token-unsafe-skip-ca-verification --discovery-token-ca-cert-hash ')),
    ).toThrow(/not supported/);
    expect(() => parseNodeUserData(good.replace(token, 'short.token'))).toThrow(/--token/);
  });
});
