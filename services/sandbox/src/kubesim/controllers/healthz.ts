import 'reflect-metadata';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface HealthzServerOptions {
  bindAddress: string;
  port: number;
  certPem?: string;
  keyPem?: string;
  /** Names for the self-signed serving certificate generated when no --tls-cert-file is given. */
  selfSignedName: string;
  healthy: () => boolean;
}

async function selfSigned(name: string): Promise<{ cert: string; key: string }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}@${Math.floor(Date.now() / 1000)}`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 365 * 86_400_000),
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const key = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return { cert: certificate.toString('pem'), key };
}

/**
 * The secure serving port of kube-controller-manager / kube-scheduler: /healthz, /livez and
 * /readyz are in --authorization-always-allow-paths by default, anything else needs delegated
 * authorization, which is not modelled, so it is refused.
 */
export async function startHealthzServer(options: HealthzServerOptions): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const credentials = options.certPem && options.keyPem ? { cert: options.certPem, key: options.keyPem } : await selfSigned(options.selfSignedName);
  const server = createServer({ ...credentials, requestCert: true, rejectUnauthorized: false }, (request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (/^\/(healthz|livez|readyz)(\/.*)?$/.test(path)) {
      const healthy = options.healthy();
      response.writeHead(healthy ? 200 : 500, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      response.end(healthy ? 'ok' : 'unhealthy');
      return;
    }
    response.writeHead(403, { 'Content-Type': 'application/json' });
    response.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `forbidden: User "system:anonymous" cannot get path "${path}"`,
        reason: 'Forbidden',
        details: {},
        code: 403,
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
