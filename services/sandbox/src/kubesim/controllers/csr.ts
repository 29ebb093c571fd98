import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { KubeObject } from '../contracts.js';
import { isStatus, type KubeClient, type Logger } from './client.js';
import { IgnorableError, Informer, WorkQueue } from './informer.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const KUBE_APISERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

export interface CsrSpec {
  request: string;
  signerName: string;
  usages?: string[];
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  expirationSeconds?: number;
}

interface CsrCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

interface CsrStatus {
  conditions?: CsrCondition[];
  certificate?: string;
}

function specOf(csr: KubeObject): CsrSpec {
  return (csr.spec ?? {}) as CsrSpec;
}

function statusOf(csr: KubeObject): CsrStatus {
  return csr.status ?? {};
}

export function parseCsrRequest(csr: KubeObject): x509.Pkcs10CertificateRequest | undefined {
  try {
    const pem = Buffer.from(specOf(csr).request ?? '', 'base64').toString('utf8');
    return new x509.Pkcs10CertificateRequest(pem);
  } catch {
    return undefined;
  }
}

function subjectField(request: x509.Pkcs10CertificateRequest, name: string): string[] {
  return request.subjectName.getField(name);
}

/** certificates.ValidateKubeletClientCSR, returning why the request is not a kubelet client CSR. */
export function kubeletClientCsrProblem(request: x509.Pkcs10CertificateRequest, usages: string[]): string | undefined {
  const organisations = subjectField(request, 'O');
  if (organisations.length !== 1 || organisations[0] !== 'system:nodes') return 'subject organization is not system:nodes';
  const san = request.extensions.find(
    (extension): extension is x509.SubjectAlternativeNameExtension => extension instanceof x509.SubjectAlternativeNameExtension,
  );
  if (san && san.names.items.length > 0) return 'subject alternative names are not allowed';
  const commonNames = subjectField(request, 'CN');
  if (commonNames.length !== 1 || !commonNames[0].startsWith('system:node:') || commonNames[0].length <= 'system:node:'.length) {
    return 'subject common name does not begin with system:node:';
  }
  const sorted = [...new Set(usages)].sort().join(',');
  const allowed = ['client auth,digital signature', 'client auth,digital signature,key encipherment'];
  if (usages.length !== new Set(usages).size || !allowed.includes(sorted))
    return `usages did not match [digital signature, client auth] (optionally key encipherment)`;
  return undefined;
}

function sanExtension(request: x509.Pkcs10CertificateRequest): x509.SubjectAlternativeNameExtension | undefined {
  return request.extensions.find((extension): extension is x509.SubjectAlternativeNameExtension => extension instanceof x509.SubjectAlternativeNameExtension);
}

/** certificates.ValidateKubeletServingCSR. */
export function kubeletServingCsrProblem(request: x509.Pkcs10CertificateRequest, usages: string[]): string | undefined {
  const organisations = subjectField(request, 'O');
  if (organisations.length !== 1 || organisations[0] !== 'system:nodes') return 'subject organization is not system:nodes';
  const commonNames = subjectField(request, 'CN');
  if (commonNames.length !== 1 || !commonNames[0].startsWith('system:node:') || commonNames[0].length <= 'system:node:'.length) {
    return 'subject common name does not begin with system:node:';
  }
  const names = sanExtension(request)?.names.items ?? [];
  if (names.some((name) => name.type !== 'dns' && name.type !== 'ip')) return 'email and URI subject alternative names are not allowed';
  if (names.length === 0) return 'DNS or IP subjectAltName is required';
  const sorted = [...new Set(usages)].sort().join(',');
  if (usages.length !== new Set(usages).size || !['digital signature,server auth', 'digital signature,key encipherment,server auth'].includes(sorted)) {
    return 'usages did not match [digital signature, server auth] (optionally key encipherment)';
  }
  return undefined;
}

/** The kube-apiserver-client signer accepts any subject, but only client usages. */
export function apiserverClientCsrProblem(_request: x509.Pkcs10CertificateRequest, usages: string[]): string | undefined {
  const allowed = new Set(['digital signature', 'key encipherment', 'client auth']);
  if (!usages.includes('client auth') || usages.some((usage) => !allowed.has(usage)))
    return 'usages must be client auth, optionally with digital signature and key encipherment';
  return undefined;
}

const SIGNER_VALIDATION: Record<string, (request: x509.Pkcs10CertificateRequest, usages: string[]) => string | undefined> = {
  [KUBELET_CLIENT_SIGNER]: kubeletClientCsrProblem,
  [KUBE_APISERVER_CLIENT_SIGNER]: apiserverClientCsrProblem,
  [KUBELET_SERVING_SIGNER]: kubeletServingCsrProblem,
};

export function conditionTrue(csr: KubeObject, type: string): boolean {
  return (statusOf(csr).conditions ?? []).some((condition) => condition.type === type && condition.status === 'True');
}

/**
 * pkg/controller/certificates/approver/sarapprove.go: auto-approve kubelet client CSRs when
 * a SubjectAccessReview says the requester may create selfnodeclient (renewal by the node
 * itself) or nodeclient (a new node) CSRs.
 */
export class CsrApprover {
  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
  ) {}

  async handle(csr: KubeObject): Promise<void> {
    if (conditionTrue(csr, 'Approved') || conditionTrue(csr, 'Denied') || statusOf(csr).certificate) return;
    const spec = specOf(csr);
    if (spec.signerName !== KUBELET_CLIENT_SIGNER) return;
    const request = parseCsrRequest(csr);
    if (!request || !(await request.verify())) return;
    if (kubeletClientCsrProblem(request, spec.usages ?? []) !== undefined) return;
    const selfRequest = spec.username === subjectField(request, 'CN')[0];
    const recognizers: Array<{ subresource: string; applies: boolean; message: string }> = [
      { subresource: 'selfnodeclient', applies: selfRequest, message: 'Auto approving self kubelet client certificate after SubjectAccessReview.' },
      { subresource: 'nodeclient', applies: true, message: 'Auto approving kubelet client certificate after SubjectAccessReview.' },
    ];
    for (const recognizer of recognizers) {
      if (!recognizer.applies) continue;
      if (!(await this.subjectMayCreate(spec, recognizer.subresource))) continue;
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const conditions = [
        ...(statusOf(csr).conditions ?? []),
        { type: 'Approved', status: 'True', reason: 'AutoApproved', message: recognizer.message, lastUpdateTime: now, lastTransitionTime: now },
      ];
      try {
        await this.client.request('PUT', `${CSR_PATH}/${csr.metadata.name}/approval`, { ...csr, status: { ...statusOf(csr), conditions } });
        this.logger.info(`csrapproving: approved ${csr.metadata.name} via ${recognizer.subresource}`);
      } catch (error) {
        if (!isStatus(error, 409) && !isStatus(error, 404)) throw error;
      }
      return;
    }
    // As in sarapprove.go: retried with backoff, since the requester may be granted the permission later.
    throw new IgnorableError(`recognized csr "${csr.metadata.name}" as a kubelet client CSR but subject access review was not approved`);
  }

  private async subjectMayCreate(spec: CsrSpec, subresource: string): Promise<boolean> {
    const review = await this.client.request<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: spec.username,
        uid: spec.uid,
        groups: spec.groups,
        extra: spec.extra,
        resourceAttributes: { group: 'certificates.k8s.io', resource: 'certificatesigningrequests', verb: 'create', subresource },
      },
    });
    return review.status?.allowed === true;
  }
}

const KEY_USAGES: Record<string, number> = {
  'digital signature': x509.KeyUsageFlags.digitalSignature,
  'content commitment': x509.KeyUsageFlags.nonRepudiation,
  'key encipherment': x509.KeyUsageFlags.keyEncipherment,
  'data encipherment': x509.KeyUsageFlags.dataEncipherment,
  'key agreement': x509.KeyUsageFlags.keyAgreement,
  'cert sign': x509.KeyUsageFlags.keyCertSign,
  'crl sign': x509.KeyUsageFlags.cRLSign,
  'encipher only': x509.KeyUsageFlags.encipherOnly,
  'decipher only': x509.KeyUsageFlags.decipherOnly,
};

const EXTENDED_USAGES: Record<string, string> = {
  'server auth': x509.ExtendedKeyUsage.serverAuth,
  'client auth': x509.ExtendedKeyUsage.clientAuth,
  'code signing': x509.ExtendedKeyUsage.codeSigning,
  'email protection': x509.ExtendedKeyUsage.emailProtection,
  timestamping: x509.ExtendedKeyUsage.timeStamping,
  'ocsp signing': x509.ExtendedKeyUsage.ocspSigning,
};

export interface SigningCa {
  certificate: x509.X509Certificate;
  signingKey: CryptoKey;
  signingAlgorithm: Algorithm | EcdsaParams;
}

/** Loads --cluster-signing-cert-file/--cluster-signing-key-file (PKCS#8, SEC1 or PKCS#1; ECDSA or RSA). */
export async function loadSigningCa(certPem: string, keyPem: string): Promise<SigningCa> {
  const certificate = new x509.X509Certificate(certPem);
  const key: KeyObject = createPrivateKey(keyPem);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined;
    if (!namedCurve) throw new Error(`unsupported signing key curve ${curve ?? 'unknown'}`);
    const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve }, false, ['sign']);
    const hash = namedCurve === 'P-256' ? 'SHA-256' : namedCurve === 'P-384' ? 'SHA-384' : 'SHA-512';
    return { certificate, signingKey, signingAlgorithm: { name: 'ECDSA', hash } as EcdsaParams };
  }
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']);
    return { certificate, signingKey, signingAlgorithm: algorithm };
  }
  throw new Error(`unsupported signing key type ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** Issues the certificate the kube-controller-manager's csrsigning controller would, as PEM. */
export async function signCsr(
  ca: SigningCa,
  request: x509.Pkcs10CertificateRequest,
  usages: string[],
  durationSeconds: number,
  now = new Date(),
): Promise<string> {
  let keyUsage = 0;
  const extended: string[] = [];
  for (const usage of usages) {
    if (KEY_USAGES[usage] !== undefined) keyUsage |= KEY_USAGES[usage];
    else if (EXTENDED_USAGES[usage] !== undefined) extended.push(EXTENDED_USAGES[usage]);
    else throw new Error(`unsupported usage "${usage}"`);
  }
  const notBefore = new Date(Math.max(now.getTime() - 5 * 60_000, ca.certificate.notBefore.getTime()));
  const notAfter = new Date(Math.min(now.getTime() + durationSeconds * 1000, ca.certificate.notAfter.getTime()));
  const extensions: x509.Extension[] = [
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- KeyUsageFlags is a bit-flag enum and the extension takes their OR, which is no single member
    new x509.KeyUsagesExtension(keyUsage, true),
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.AuthorityKeyIdentifierExtension.create(ca.certificate, false),
  ];
  if (extended.length > 0) extensions.splice(1, 0, new x509.ExtendedKeyUsageExtension(extended, false));
  const san = sanExtension(request);
  if (san) extensions.push(new x509.SubjectAlternativeNameExtension(san.names.toJSON(), false));
  const serial = randomBytes(16);
  serial[0] = serial[0] & 0x7f;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: request.subjectName,
    issuer: ca.certificate.subjectName,
    publicKey: request.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: ca.signingAlgorithm,
    notBefore,
    notAfter,
    extensions,
  });
  return certificate.toString('pem') + '\n';
}

/** pkg/controller/certificates/signer for the kubelet client, kubelet serving and kube-apiserver-client signers. */
export class CsrSigner {
  constructor(
    private readonly client: KubeClient,
    private readonly ca: SigningCa,
    private readonly logger: Logger,
    private readonly durationSeconds = 365 * 24 * 3600,
  ) {}

  async handle(csr: KubeObject): Promise<void> {
    if (!conditionTrue(csr, 'Approved') || conditionTrue(csr, 'Failed') || conditionTrue(csr, 'Denied') || statusOf(csr).certificate) return;
    const spec = specOf(csr);
    const validate = SIGNER_VALIDATION[spec.signerName];
    if (!validate) return;
    const request = parseCsrRequest(csr);
    const problem = !request ? 'unable to parse csr' : !(await request.verify()) ? 'csr signature is invalid' : validate(request, spec.usages ?? []);
    let status: CsrStatus;
    if (problem !== undefined || !request) {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      status = {
        ...statusOf(csr),
        conditions: [
          ...(statusOf(csr).conditions ?? []),
          {
            type: 'Failed',
            status: 'True',
            reason: 'SignerValidationFailure',
            message: problem ?? 'invalid request',
            lastUpdateTime: now,
            lastTransitionTime: now,
          },
        ],
      };
    } else {
      const duration = spec.expirationSeconds !== undefined ? Math.max(600, Math.min(spec.expirationSeconds, this.durationSeconds)) : this.durationSeconds;
      const pem = await signCsr(this.ca, request, spec.usages ?? [], duration);
      status = { ...statusOf(csr), certificate: Buffer.from(pem).toString('base64') };
    }
    try {
      await this.client.request('PUT', `${CSR_PATH}/${csr.metadata.name}/status`, { ...csr, status });
      this.logger.info(`csrsigning: ${status.certificate ? 'signed' : 'failed'} ${csr.metadata.name}`);
    } catch (error) {
      if (!isStatus(error, 409) && !isStatus(error, 404)) throw error;
    }
  }
}

/** Runs the approver and (when a CA is configured) the signer over one CSR informer. */
export class CsrController {
  private readonly queue: WorkQueue;
  private readonly informer: Informer;

  constructor(
    client: KubeClient,
    private readonly approver: CsrApprover | undefined,
    private readonly signer: CsrSigner | undefined,
    logger: Logger,
  ) {
    this.queue = new WorkQueue((name) => this.process(name), logger, 'csr');
    this.informer = new Informer(
      client,
      CSR_PATH,
      (event, object) => {
        if (event !== 'deleted') this.queue.add(object.metadata.name ?? '');
      },
      logger,
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.informer.run(signal), this.queue.run(signal)]);
  }

  private async process(name: string): Promise<void> {
    const csr = this.informer.get(name);
    if (!csr) return;
    if (this.approver) await this.approver.handle(csr);
    if (this.signer) await this.signer.handle(csr);
  }
}
