// The kubeadm join / kubelet TLS-bootstrap protocol, over plain HTTPS so it works unchanged
// against kubesim or a real kube-apiserver with kube-controller-manager.
import { createHash, createHmac, timingSafeEqual, webcrypto, X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { parse } from 'yaml';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface Credentials {
  token?: string;
  certPem?: string;
  keyPem?: string;
}

export interface ApiTarget {
  /** https://host:port */
  server: string;
  /** Trusted CA; undefined only for kubeadm's first, unauthenticated discovery fetch. */
  caPem?: string;
  credentials?: Credentials;
}

export class ApiStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 200)}`);
  }
}

/** A failure kubeadm would not retry: the node refuses to join. */
export class JoinRefusedError extends Error {}

export async function apiRequest<T = Record<string, unknown>>(target: ApiTarget, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<T> {
  const url = new URL(path, target.server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        // Discovery before the CA is known is insecure on purpose, as in kubeadm: the JWS and the CA pin authenticate it.
        rejectUnauthorized: target.caPem !== undefined,
        ...(target.caPem ? { ca: target.caPem } : {}),
        ...(target.credentials?.certPem ? { cert: target.credentials.certPem, key: target.credentials.keyPem } : {}),
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...(target.credentials?.token ? { authorization: `Bearer ${target.credentials.token}` } : {}),
        },
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const status = res.statusCode ?? 0;
          if (status >= 400) return reject(new ApiStatusError(status, text, `${method} ${path}`));
          try {
            resolve((text ? JSON.parse(text) : {}) as T);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface ClusterInfo {
  server: string;
  caPem: string;
}

function pemFromBase64(data: string): string {
  return Buffer.from(data, 'base64').toString();
}

function spkiHash(caPem: string): string {
  const spki = new X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** Verifies a detached compact JWS (`header..signature`) over the kubeconfig with HS256 keyed by the token secret. */
export function verifyDetachedJws(jws: string, content: string, tokenId: string, tokenSecret: string): boolean {
  const parts = jws.split('.');
  if (parts.length !== 3 || parts[1] !== '') return false;
  const [header, , signature] = parts as [string, string, string];
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64url').toString());
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null) return false;
  const fields = parsed as Record<string, unknown>;
  if (fields.alg !== 'HS256' || fields.kid !== tokenId) return false;
  const expected = createHmac('sha256', tokenSecret)
    .update(`${header}.${Buffer.from(content).toString('base64url')}`)
    .digest();
  const actual = Buffer.from(signature, 'base64url');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * kubeadm's discovery reads the cluster the way `GetClusterFromKubeConfig` does: the unnamed
 * cluster (what `kubeadm init` writes into cluster-info), or else the current context's
 * cluster. Anything else (a named cluster and no current context) makes real kubeadm fail, so
 * it fails here too instead of taking the first cluster it sees.
 */
function clusterFromKubeconfig(kubeconfig: string): ClusterInfo {
  interface Cluster {
    server?: unknown;
    'certificate-authority-data'?: unknown;
  }
  const config = parse(kubeconfig) as {
    clusters?: Array<{ name?: unknown; cluster?: Cluster }>;
    contexts?: Array<{ name?: unknown; context?: { cluster?: unknown } }>;
    'current-context'?: unknown;
  } | null;
  const clusters = config?.clusters ?? [];
  const named = (name: unknown): Cluster | undefined => clusters.find((entry) => (entry.name ?? '') === name)?.cluster;
  let cluster = named('');
  if (!cluster) {
    const current = config?.['current-context'];
    const context = typeof current === 'string' && current !== '' ? config?.contexts?.find((entry) => entry.name === current)?.context : undefined;
    if (context) cluster = named(context.cluster);
  }
  if (!cluster) throw new JoinRefusedError('cluster-info kubeconfig has neither an unnamed cluster nor a current context naming one (kubeadm cannot read it)');
  if (typeof cluster.server !== 'string' || typeof cluster['certificate-authority-data'] !== 'string')
    throw new JoinRefusedError('cluster-info kubeconfig has no server or CA');
  return { server: cluster.server, caPem: pemFromBase64(cluster['certificate-authority-data']) };
}

export interface DiscoveryOptions {
  endpoint: string;
  tokenId: string;
  tokenSecret: string;
  caCertHashes: string[];
  timeoutMs: number;
  retryIntervalMs?: number;
  signal?: AbortSignal;
}

const CLUSTER_INFO_PATH = '/api/v1/namespaces/kube-public/configmaps/cluster-info';

async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
  if (signal?.aborted) throw new Error('join aborted');
}

/**
 * Token discovery: anonymous cluster-info, JWS check with the token, CA pin check, then a second
 * fetch over TLS verified with the pinned CA which must return the same content. A missing JWS is
 * retried (the bootstrapsigner may not have signed yet); a pin mismatch is refused at once.
 */
export async function discoverCluster(options: DiscoveryOptions): Promise<ClusterInfo> {
  const deadline = Date.now() + options.timeoutMs;
  const insecure: ApiTarget = { server: `https://${options.endpoint}` };
  let lastProblem: string;
  for (;;) {
    try {
      const configMap = await apiRequest<{ data?: Record<string, string> }>(insecure, 'GET', CLUSTER_INFO_PATH);
      const kubeconfig = configMap.data?.kubeconfig;
      const jws = configMap.data?.[`jws-kubeconfig-${options.tokenId}`];
      if (!kubeconfig) lastProblem = 'cluster-info has no kubeconfig';
      else if (!jws) lastProblem = `cluster-info has no JWS for token ${options.tokenId}`;
      else if (!verifyDetachedJws(jws, kubeconfig, options.tokenId, options.tokenSecret)) lastProblem = 'the cluster-info JWS does not verify with the token';
      else {
        const info = clusterFromKubeconfig(kubeconfig);
        const actual = spkiHash(info.caPem);
        if (!options.caCertHashes.includes(actual)) throw new JoinRefusedError(`cluster CA found in cluster-info does not match the pinned hash: ${actual}`);
        const secure: ApiTarget = { server: `https://${options.endpoint}`, caPem: info.caPem };
        const again = await apiRequest<{ data?: Record<string, string> }>(secure, 'GET', CLUSTER_INFO_PATH);
        if (again.data?.kubeconfig !== kubeconfig) throw new JoinRefusedError('cluster-info changed between the insecure and the pinned fetch');
        return info;
      }
    } catch (error) {
      if (error instanceof JoinRefusedError) throw error;
      lastProblem = (error as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`discovery timed out: ${lastProblem}`);
    await sleep(options.retryIntervalMs ?? 500, options.signal);
  }
}

export interface NodeCertificate {
  certPem: string;
  keyPem: string;
}

export interface CertificateRequestOptions {
  target: ApiTarget;
  nodeName: string;
  timeoutMs: number;
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

/** The kubelet's TLS bootstrap: ECDSA P-256 key, a CSR for the kubelet client signer, then wait for the certificate. */
export async function requestNodeCertificate(options: CertificateRequestOptions): Promise<NodeCertificate> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=system:node:${options.nodeName}, O=system:nodes`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  // The kubelet names its CSR after a digest of its key, so a retry finds the same request.
  const name = `node-csr-${createHash('sha256').update(spki).digest('hex').slice(0, 40)}`;
  const path = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
  await apiRequest(options.target, 'POST', path, {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: {
      request: Buffer.from(csr.toString('pem')).toString('base64'),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: ['digital signature', 'client auth'],
    },
  });
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const current = await apiRequest<{ status?: { certificate?: string; conditions?: Array<{ type: string; message?: string }> } }>(
      options.target,
      'GET',
      `${path}/${name}`,
    );
    const denied = current.status?.conditions?.find((condition) => condition.type === 'Denied' || condition.type === 'Failed');
    if (denied) throw new JoinRefusedError(`CSR ${name} was ${denied.type}: ${denied.message ?? ''}`);
    if (current.status?.certificate) return { certPem: pemFromBase64(current.status.certificate), keyPem };
    if (Date.now() >= deadline) throw new Error(`CSR ${name} was not signed within ${options.timeoutMs} ms`);
    await sleep(options.pollIntervalMs ?? 250, options.signal);
  }
}

/** MicroTime as the apiserver serialises it: six fractional digits. */
export function microTime(at = new Date()): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function rfc3339(at = new Date()): string {
  return at.toISOString().replace(/\.\d+Z$/, 'Z');
}
