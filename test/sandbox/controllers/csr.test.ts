import 'reflect-metadata';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../services/sandbox/src/kubesim/contracts.js';
import {
  CsrApprover,
  CsrSigner,
  kubeletClientCsrProblem,
  kubeletServingCsrProblem,
  loadSigningCa,
  signCsr,
} from '../../../services/sandbox/src/kubesim/controllers/csr.js';
import { KubeClient, silentLogger } from '../../../services/sandbox/src/kubesim/controllers/client.js';
import { IgnorableError } from '../../../services/sandbox/src/kubesim/controllers/informer.js';
import { authorizeRequest, buildAuthorizers, defaultRbacObjects } from '../../../services/sandbox/src/kubesim/auth/index.js';
import { createCa, type TestCa } from '../auth/pki.js';
import { MemoryReader } from '../auth/memory-reader.js';
import { authConfig } from '../auth/config.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

async function makeCsr(subject: string, options: { dns?: string[] } = {}): Promise<x509.Pkcs10CertificateRequest> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  return x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: options.dns ? [new x509.SubjectAlternativeNameExtension(options.dns.map((value) => ({ type: 'dns' as const, value })))] : [],
  });
}

function csrObject(
  name: string,
  request: x509.Pkcs10CertificateRequest,
  requester: { username: string; groups: string[] },
  usages = ['digital signature', 'client auth'],
): KubeObject {
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1' },
    spec: {
      request: Buffer.from(request.toString('pem')).toString('base64'),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
      usages,
      username: requester.username,
      groups: requester.groups,
    },
  };
}

describe('kubelet client CSR validation', () => {
  it('accepts only system:node:<name> / system:nodes without SANs and with client usages', async () => {
    const good = await makeCsr('CN=system:node:worker-1, O=system:nodes');
    expect(kubeletClientCsrProblem(good, ['digital signature', 'client auth'])).toBeUndefined();
    expect(kubeletClientCsrProblem(good, ['key encipherment', 'digital signature', 'client auth'])).toBeUndefined();
    expect(kubeletClientCsrProblem(good, ['digital signature', 'client auth', 'server auth'])).toMatch(/usages/);
    expect(kubeletClientCsrProblem(await makeCsr('CN=system:node:worker-1, O=system:masters'), ['digital signature', 'client auth'])).toMatch(/organization/);
    expect(kubeletClientCsrProblem(await makeCsr('CN=admin, O=system:nodes'), ['digital signature', 'client auth'])).toMatch(/common name/);
    expect(kubeletClientCsrProblem(await makeCsr('CN=system:node:w, O=system:nodes', { dns: ['evil.example'] }), ['digital signature', 'client auth'])).toMatch(
      /alternative/,
    );
  });
});

describe('CSR signing', () => {
  let ca: TestCa;
  beforeAll(async () => {
    ca = await createCa('kubernetes', new Date(Date.now() + 2 * 86_400_000));
  });

  it('issues a client certificate chained to the cluster CA, capped at the CA lifetime', async () => {
    const request = await makeCsr('CN=system:node:worker-1, O=system:nodes');
    const pem = await signCsr(await loadSigningCa(ca.pem, ca.keyPem), request, ['digital signature', 'client auth'], 365 * 86_400);
    const certificate = new X509Certificate(pem);
    const caCertificate = new X509Certificate(ca.pem);
    expect(certificate.verify(caCertificate.publicKey)).toBe(true);
    expect(certificate.checkIssued(caCertificate)).toBe(true);
    expect(certificate.subject).toBe('CN=system:node:worker-1\nO=system:nodes');
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(certificate.ca).toBe(false);
    expect(Date.parse(certificate.validTo)).toBeLessThanOrEqual(Date.parse(caCertificate.validTo));
  });

  it('signs kubelet serving CSRs with their SANs and fails the ones without SANs', async () => {
    const signing = await loadSigningCa(ca.pem, ca.keyPem);
    const request = await makeCsr('CN=system:node:worker-1, O=system:nodes', { dns: ['worker-1.example'] });
    expect(kubeletServingCsrProblem(request, ['digital signature', 'server auth'])).toBeUndefined();
    expect(kubeletServingCsrProblem(await makeCsr('CN=system:node:worker-1, O=system:nodes'), ['digital signature', 'server auth'])).toMatch(/subjectAltName/);
    const certificate = new X509Certificate(await signCsr(signing, request, ['digital signature', 'server auth'], 3600));
    expect(certificate.subjectAltName).toBe('DNS:worker-1.example');
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
  });

  it('signs with an RSA CA whose key is PKCS#1 PEM', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
    const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['sign']);
    const publicOfCa = await webcrypto.subtle.importKey(
      'spki',
      createPublicKey(privateKey).export({ type: 'spki', format: 'der' }),
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      true,
      ['verify'],
    );
    const caCert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=rsa-ca',
      keys: { privateKey: key, publicKey: publicOfCa },
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const signing = await loadSigningCa(caCert.toString('pem'), privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
    const pem = await signCsr(signing, await makeCsr('CN=system:node:rsa, O=system:nodes'), ['digital signature', 'client auth'], 3600);
    expect(new X509Certificate(pem).verify(new X509Certificate(caCert.toString('pem')).publicKey)).toBe(true);
  });
});

describe('CSR approver and signer against an API endpoint whose SubjectAccessReviews run the real RBAC', () => {
  let server: Server;
  let client: KubeClient;
  let ca: TestCa;
  const updates: Array<{ path: string; body: KubeObject }> = [];
  const reader = new MemoryReader();
  const RBAC = 'rbac.authorization.k8s.io';
  for (const object of defaultRbacObjects()) {
    reader.put(
      RBAC,
      { ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings', Role: 'roles', RoleBinding: 'rolebindings' }[object.kind]!,
      object,
    );
  }
  const authorizers = buildAuthorizers(authConfig({ authorizationModes: ['Node', 'RBAC'] }), reader);

  function readJson(request: IncomingMessage): Promise<KubeObject> {
    return new Promise((resolve) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => resolve(JSON.parse(body) as KubeObject));
    });
  }

  beforeAll(async () => {
    ca = await createCa('kubernetes');
    server = createServer((request, response) => {
      void readJson(request).then(async (body) => {
        if (request.url === '/apis/authorization.k8s.io/v1/subjectaccessreviews' && request.method === 'POST') {
          const spec = body.spec as {
            user: string;
            groups: string[];
            resourceAttributes: { group: string; resource: string; verb: string; subresource?: string };
          };
          const decision = await authorizeRequest(authorizers, {
            user: { username: spec.user, groups: spec.groups },
            verb: spec.resourceAttributes.verb,
            resourceRequest: true,
            apiGroup: spec.resourceAttributes.group,
            apiVersion: 'v1',
            resource: spec.resourceAttributes.resource,
            subresource: spec.resourceAttributes.subresource ?? '',
            namespace: '',
            name: '',
            path: '',
          });
          response.writeHead(201, { 'Content-Type': 'application/json' });
          response.end(JSON.stringify({ ...body, status: { allowed: decision.decision === 'allow' } }));
          return;
        }
        updates.push({ path: request.url ?? '', body });
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'controller-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    client = await KubeClient.fromKubeConfig(kubeConfig);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const bootstrapper = {
    username: 'system:bootstrap:abcdef',
    groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token', 'system:authenticated'],
  };

  it('leaves a CSR alone when the requester lacks the nodeclient permission', async () => {
    updates.length = 0;
    const csr = csrObject('csr-unbound', await makeCsr('CN=system:node:worker-1, O=system:nodes'), bootstrapper);
    await expect(new CsrApprover(client, silentLogger).handle(csr)).rejects.toBeInstanceOf(IgnorableError);
    expect(updates).toEqual([]);
  });

  it('approves through /approval once the group is bound to the nodeclient role, then signs through /status', async () => {
    reader.put(RBAC, 'clusterrolebindings', {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubeadm:node-autoapprove-bootstrap' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient' },
      subjects: [{ kind: 'Group', apiGroup: RBAC, name: 'system:bootstrappers:kubeadm:default-node-token' }],
    });
    updates.length = 0;
    const csr = csrObject('csr-bound', await makeCsr('CN=system:node:worker-1, O=system:nodes'), bootstrapper);
    await new CsrApprover(client, silentLogger).handle(csr);
    expect(updates).toHaveLength(1);
    expect(updates[0].path).toBe('/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-bound/approval');
    const approved = updates[0].body;
    expect((approved.status as { conditions: Array<Record<string, string>> }).conditions).toEqual([
      expect.objectContaining({ type: 'Approved', status: 'True', reason: 'AutoApproved' }),
    ]);
    updates.length = 0;
    await new CsrSigner(client, await loadSigningCa(ca.pem, ca.keyPem), silentLogger).handle(approved);
    expect(updates[0].path).toBe('/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-bound/status');
    const certificate = new X509Certificate(Buffer.from((updates[0].body.status as { certificate: string }).certificate, 'base64'));
    expect(certificate.subject).toBe('CN=system:node:worker-1\nO=system:nodes');
    expect(certificate.verify(new X509Certificate(ca.pem).publicKey)).toBe(true);
  });

  it('does not approve a CSR that asks for more than a kubelet client certificate', async () => {
    updates.length = 0;
    const csr = csrObject('csr-greedy', await makeCsr('CN=system:node:worker-1, O=system:masters'), bootstrapper);
    await new CsrApprover(client, silentLogger).handle(csr);
    expect(updates).toEqual([]);
  });

  it('approves renewals by the node itself through selfnodeclient', async () => {
    updates.length = 0;
    reader.put(RBAC, 'clusterrolebindings', {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubeadm:node-autoapprove-certificate-rotation' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient' },
      subjects: [{ kind: 'Group', apiGroup: RBAC, name: 'system:nodes' }],
    });
    const node = { username: 'system:node:worker-1', groups: ['system:nodes', 'system:authenticated'] };
    await new CsrApprover(client, silentLogger).handle(csrObject('csr-renew', await makeCsr('CN=system:node:worker-1, O=system:nodes'), node));
    expect(updates).toHaveLength(1);
    expect((updates[0].body.status as { conditions: Array<{ message: string }> }).conditions[0].message).toMatch(/self kubelet/);
  });
});
