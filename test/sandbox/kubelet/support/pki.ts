import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdPki {
  directory: string;
  files: Record<
    | 'ca.crt'
    | 'server.crt'
    | 'server.key'
    | 'peer.crt'
    | 'peer.key'
    | 'client.crt'
    | 'client.key'
    | 'apiserver.crt'
    | 'apiserver.key'
    | 'admin.crt'
    | 'admin.key'
    | 'sa.key'
    | 'sa.pub',
    string
  >;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/**
 * One CA (for brevity) issuing ECDSA P-256 certificates with openssl: etcd server, peer and
 * client certificates, a kube-apiserver serving certificate, an admin client certificate and
 * the service-account key pair.
 */
export function issueEtcdPki(namespace: string, members: number): EtcdPki {
  const directory = mkdtempSync(join(tmpdir(), 'kubelet-etcd-pki-'));
  const key = (name: string): void => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], directory);
  key('ca');
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=etcd-ca', '-days', '2', '-out', 'ca.crt'], directory);
  const memberNames = Array.from({ length: members }, (_, ordinal) => `DNS:etcd-${ordinal}.etcd.${namespace}.svc.cluster.local`);
  const leaf = (name: string, commonName: string, usage: string, sans: string[]): void => {
    key(name);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${commonName}`, '-out', `${name}.csr`], directory);
    const extensions = [`extendedKeyUsage=${usage}`, 'keyUsage=critical,digitalSignature', ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : [])];
    writeFileSync(join(directory, `${name}.ext`), `${extensions.join('\n')}\n`);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ],
      directory,
    );
  };
  const sans = [...memberNames, 'DNS:localhost', 'IP:127.0.0.1'];
  leaf('server', 'etcd-server', 'serverAuth,clientAuth', sans);
  leaf('peer', 'etcd-peer', 'serverAuth,clientAuth', sans);
  leaf('client', 'etcd-client', 'clientAuth', []);
  leaf('apiserver', 'kube-apiserver', 'serverAuth', ['DNS:localhost', 'DNS:kubernetes.default.svc', 'IP:127.0.0.1']);
  leaf('admin', 'kubernetes-admin', 'clientAuth', []);
  openssl(['req', '-new', '-key', 'admin.key', '-subj', '/O=system:masters/CN=kubernetes-admin', '-out', 'admin.csr'], directory);
  openssl(
    ['x509', '-req', '-in', 'admin.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'admin.ext', '-out', 'admin.crt'],
    directory,
  );
  key('sa');
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], directory);
  const read = (name: string): string => readFileSync(join(directory, name), 'utf8');
  return {
    directory,
    files: {
      'ca.crt': read('ca.crt'),
      'server.crt': read('server.crt'),
      'server.key': read('server.key'),
      'peer.crt': read('peer.crt'),
      'peer.key': read('peer.key'),
      'client.crt': read('client.crt'),
      'client.key': read('client.key'),
      'apiserver.crt': read('apiserver.crt'),
      'apiserver.key': read('apiserver.key'),
      'admin.crt': read('admin.crt'),
      'admin.key': read('admin.key'),
      'sa.key': read('sa.key'),
      'sa.pub': read('sa.pub'),
    },
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}
