import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthenticationRequest, AuthenticationResult, KubeObject } from '../../../services/sandbox/src/kubesim/contracts.js';
import {
  authConfigFromApiserverFlags,
  authenticateRequest,
  buildAuthenticators,
  parseTokenAuthFile,
} from '../../../services/sandbox/src/kubesim/auth/index.js';
import { createCa, issueLeaf, type TestCa } from './pki.js';
import { authConfig } from './config.js';
import { MemoryReader } from './memory-reader.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function bootstrapSecret(id: string, secret: string, extra: Record<string, string> = {}): KubeObject {
  const data: Record<string, string> = {
    'token-id': id,
    'token-secret': secret,
    'usage-bootstrap-authentication': 'true',
    'usage-bootstrap-signing': 'true',
    'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
    ...extra,
  };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'bootstrap.kubernetes.io/token',
    metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
    data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
  };
}

const bearer = (token: string): AuthenticationRequest => ({ headers: { authorization: `Bearer ${token}` } });

describe('client certificate authentication over a real TLS handshake', () => {
  let clientCa: TestCa;
  let otherCa: TestCa;
  let serverCa: TestCa;
  let server: ReturnType<typeof createServer>;
  let port: number;
  const results: AuthenticationResult[] = [];

  beforeAll(async () => {
    clientCa = await createCa('client-ca');
    otherCa = await createCa('intruder-ca');
    serverCa = await createCa('server-ca');
    const serving = await issueLeaf(serverCa, { subject: 'CN=localhost', extendedUsages: ['1.3.6.1.5.5.7.3.1'] });
    const chain = buildAuthenticators(authConfig({ clientCA: clientCa.pem }));
    server = createServer({ cert: serving.pem, key: serving.keyPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      void authenticateRequest(chain, { headers: req.headers, socket: req.socket as TLSSocket }, true).then((result) => {
        results.push(result);
        res.end(JSON.stringify(result));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function call(cert?: { pem: string; keyPem: string }): Promise<AuthenticationResult> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/', ca: serverCa.pem, servername: 'localhost', agent: false, ...(cert ? { cert: cert.pem, key: cert.keyPem } : {}) },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(JSON.parse(body) as AuthenticationResult));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('maps CN to the user and O to groups, adding system:authenticated', async () => {
    const cert = await issueLeaf(clientCa, { subject: 'CN=system:node:worker-1, O=system:nodes' });
    expect(await call(cert)).toEqual({
      outcome: 'authenticated',
      // Like the real x509 authenticator, the certificate's SHA-256 is the credential id.
      user: {
        username: 'system:node:worker-1',
        groups: ['system:nodes', 'system:authenticated'],
        extra: { 'authentication.kubernetes.io/credential-id': [expect.stringMatching(/^X509SHA256=[0-9a-f]{64}$/)] },
      },
    });
  });

  it('keeps several organisations as several groups', async () => {
    const cert = await issueLeaf(clientCa, { subject: 'CN=alice, O=team-a, O=system:masters' });
    const result = await call(cert);
    expect(result.outcome === 'authenticated' && result.user.groups).toEqual(['team-a', 'system:masters', 'system:authenticated']);
  });

  it('rejects an expired certificate even though anonymous is enabled', async () => {
    const cert = await issueLeaf(clientCa, { subject: 'CN=late', notBefore: new Date(Date.now() - 7_200_000), notAfter: new Date(Date.now() - 3_600_000) });
    expect(await call(cert)).toMatchObject({ outcome: 'rejected' });
  });

  it('rejects a certificate from an untrusted CA', async () => {
    const cert = await issueLeaf(otherCa, { subject: 'CN=mallory, O=system:masters' });
    expect(await call(cert)).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('unknown authority') as unknown });
  });

  it('rejects a certificate not valid for client authentication', async () => {
    const cert = await issueLeaf(clientCa, { subject: 'CN=server-only', extendedUsages: ['1.3.6.1.5.5.7.3.1'] });
    expect(await call(cert)).toMatchObject({ outcome: 'rejected' });
  });

  it('falls back to anonymous without a certificate', async () => {
    expect(await call()).toEqual({ outcome: 'authenticated', user: { username: 'system:anonymous', groups: ['system:unauthenticated'] } });
  });
});

describe('token authentication', () => {
  it('parses the token-auth-file CSV format', () => {
    const tokens = parseTokenAuthFile('abc,admin,uid-1,"system:masters,ops"\nxyz,bob,uid-2\n\n');
    expect(tokens).toEqual([
      { token: 'abc', user: 'admin', uid: 'uid-1', groups: ['system:masters', 'ops'] },
      { token: 'xyz', user: 'bob', uid: 'uid-2', groups: [] },
    ]);
    expect(() => parseTokenAuthFile('onlytoken,user\n')).toThrow(/at least 3 columns/);
  });

  it('authenticates static tokens and rejects unknown bearer tokens even with anonymous on', async () => {
    const chain = buildAuthenticators(authConfig({ tokenAuthFile: parseTokenAuthFile('s3cret,admin,1,system:masters\n') }));
    expect(await authenticateRequest(chain, bearer('s3cret'), true)).toEqual({
      outcome: 'authenticated',
      user: { username: 'admin', uid: '1', groups: ['system:masters', 'system:authenticated'] },
    });
    expect(await authenticateRequest(chain, bearer('wrong'), true)).toEqual({ outcome: 'rejected', reason: 'invalid bearer token' });
    expect(await authenticateRequest(buildAuthenticators(authConfig({ anonymous: false })), { headers: {} }, false)).toEqual({ outcome: 'no-credentials' });
  });

  it('reads flags and files like kube-apiserver and fails on unreadable files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'authflags-'));
    try {
      writeFileSync(join(dir, 'tokens.csv'), 't1,u1,1\n');
      const config = authConfigFromApiserverFlags(
        new Map([
          ['token-auth-file', [join(dir, 'tokens.csv')]],
          ['authorization-mode', ['Node,RBAC']],
          ['enable-bootstrap-token-auth', ['true']],
          ['anonymous-auth', ['false']],
        ]),
      );
      expect(config).toEqual(
        authConfig({
          tokenAuthFile: [{ token: 't1', user: 'u1', uid: '1', groups: [] }],
          authorizationModes: ['Node', 'RBAC'],
          enableBootstrapTokenAuth: true,
          anonymous: false,
        }),
      );
      expect(() => authConfigFromApiserverFlags(new Map([['client-ca-file', [join(dir, 'missing.pem')]]]))).toThrow(/client-ca-file/);
      expect(() => authConfigFromApiserverFlags(new Map([['authorization-mode', ['Node,Webhookish']]]))).toThrow(/not a valid mode/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bootstrap token authentication', () => {
  const future = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const past = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const reader = new MemoryReader([
    ['', 'secrets', bootstrapSecret('abcdef', '0123456789abcdef', { expiration: future })],
    ['', 'secrets', bootstrapSecret('expird', '0123456789abcdef', { expiration: past })],
    ['', 'secrets', bootstrapSecret('nouse1', '0123456789abcdef', { 'usage-bootstrap-authentication': 'false' })],
    ['', 'secrets', bootstrapSecret('badgrp', '0123456789abcdef', { 'auth-extra-groups': 'system:masters' })],
    ['', 'secrets', { ...bootstrapSecret('opaque', '0123456789abcdef'), type: 'Opaque' }],
  ]);
  const chain = buildAuthenticators(authConfig({ enableBootstrapTokenAuth: true }), reader);

  it('authenticates a valid token as system:bootstrap:<id> with its extra groups', async () => {
    expect(await authenticateRequest(chain, bearer('abcdef.0123456789abcdef'), true)).toEqual({
      outcome: 'authenticated',
      user: {
        username: 'system:bootstrap:abcdef',
        groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token', 'system:authenticated'],
      },
    });
  });

  it.each([
    ['an expired token', 'expird.0123456789abcdef'],
    ['a wrong secret', 'abcdef.0123456789abcdee'],
    ['a token without the authentication usage', 'nouse1.0123456789abcdef'],
    ['a token with an extra group outside system:bootstrappers:', 'badgrp.0123456789abcdef'],
    ['a Secret of the wrong type', 'opaque.0123456789abcdef'],
    ['an unknown token id', 'zzzzzz.0123456789abcdef'],
  ])('rejects %s with 401 semantics', async (_label, token) => {
    expect(await authenticateRequest(chain, bearer(token), true)).toMatchObject({ outcome: 'rejected' });
  });
});

describe('service account token authentication', () => {
  const issuer = 'https://kubernetes.default.svc.cluster.local';
  let privateKey: KeyObject;
  let publicPem: string;
  const reader = new MemoryReader([
    ['', 'serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: 'ci', uid: 'sa-uid-1' } }],
  ]);

  beforeAll(() => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    privateKey = pair.privateKey;
    publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  });

  function token(claims: { iss?: string; aud?: string; uid?: string; key?: KeyObject }): Promise<string> {
    return new SignJWT({ 'kubernetes.io': { namespace: 'ci', serviceaccount: { name: 'builder', uid: claims.uid ?? 'sa-uid-1' } } })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(claims.iss ?? issuer)
      .setAudience(claims.aud ?? issuer)
      .setSubject('system:serviceaccount:ci:builder')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(claims.key ?? privateKey);
  }

  it('authenticates a bound token signed by a configured key', async () => {
    const chain = buildAuthenticators(authConfig({ serviceAccountKeys: [publicPem], serviceAccountIssuers: [issuer] }), reader);
    expect(await authenticateRequest(chain, bearer(await token({})), true)).toEqual({
      outcome: 'authenticated',
      user: {
        username: 'system:serviceaccount:ci:builder',
        uid: 'sa-uid-1',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
      },
    });
  });

  it('rejects a wrong issuer, a wrong audience, a foreign key and a recreated service account', async () => {
    const chain = buildAuthenticators(authConfig({ serviceAccountKeys: [publicPem], serviceAccountIssuers: [issuer] }), reader);
    const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    for (const bad of [
      await token({ iss: 'https://elsewhere' }),
      await token({ aud: 'other' }),
      await token({ key: foreign }),
      await token({ uid: 'old-uid' }),
    ]) {
      expect(await authenticateRequest(chain, bearer(bad), true)).toMatchObject({ outcome: 'rejected' });
    }
  });
});

describe('legacy (secret-based) service account tokens', () => {
  it('accept a token only while its Secret holds exactly that token', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const legacy = await new SignJWT({
      'kubernetes.io/serviceaccount/namespace': 'kube-system',
      'kubernetes.io/serviceaccount/secret.name': 'signer-token',
      'kubernetes.io/serviceaccount/service-account.name': 'signer',
      'kubernetes.io/serviceaccount/service-account.uid': 'uid-signer',
    })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('kubernetes/serviceaccount')
      .setSubject('system:serviceaccount:kube-system:signer')
      .sign(privateKey);
    const reader = new MemoryReader([
      ['', 'serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'signer', namespace: 'kube-system', uid: 'uid-signer' } }],
    ]);
    const secret = (token: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: 'signer-token', namespace: 'kube-system', annotations: { 'kubernetes.io/service-account.name': 'signer' } },
      data: { token: Buffer.from(token).toString('base64') },
    });
    const chain = buildAuthenticators(
      authConfig({ serviceAccountKeys: [publicKey.export({ type: 'spki', format: 'pem' }).toString()], serviceAccountIssuers: ['https://issuer.example'] }),
      reader,
    );
    expect(await authenticateRequest(chain, bearer(legacy), true)).toMatchObject({ outcome: 'rejected' });
    reader.put('', 'secrets', secret('some-other-token'));
    expect(await authenticateRequest(chain, bearer(legacy), true)).toMatchObject({ outcome: 'rejected' });
    reader.put('', 'secrets', secret(legacy));
    expect(await authenticateRequest(chain, bearer(legacy), true)).toMatchObject({
      outcome: 'authenticated',
      user: { username: 'system:serviceaccount:kube-system:signer' },
    });
  });
});

describe('reader hand-over between the factories', () => {
  it('lets bootstrap-token authentication use the reader given to buildAuthorizers for the same config', async () => {
    const { buildAuthorizers } = await import('../../../services/sandbox/src/kubesim/auth/index.js');
    const config = authConfig({ enableBootstrapTokenAuth: true, authorizationModes: ['RBAC'] });
    const chain = buildAuthenticators(config);
    expect(await authenticateRequest(chain, bearer('abcdef.0123456789abcdef'), true)).toMatchObject({ outcome: 'rejected' });
    buildAuthorizers(config, new MemoryReader([['', 'secrets', bootstrapSecret('abcdef', '0123456789abcdef')]]));
    expect(await authenticateRequest(chain, bearer('abcdef.0123456789abcdef'), true)).toMatchObject({
      outcome: 'authenticated',
      user: { username: 'system:bootstrap:abcdef' },
    });
  });
});
