// The rendered kubeconfigs and certificates, used by real clients against a real TLS server that
// checks client certificates the way kube-apiserver's --client-ca-file does.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEAF, ensureClusterPki, renderKubeconfig, type ClusterPki } from '../../../services/core/src/pki/index.js';

describe('rendered kubeconfigs with real clients', () => {
  let pki: ClusterPki;
  let server: Server;
  let url: string;
  let directory: string;
  const seen: Array<{ commonName: string | string[] | undefined; organization: string | string[] | undefined }> = [];

  beforeAll(async () => {
    ({ pki } = await ensureClusterPki(
      undefined,
      {
        namespace: 'cluster-t1',
        externalHosts: ['localhost'],
        externalIps: [],
        serviceCidr: '10.96.0.0/12',
        tenantDnsDomain: 'cluster.local',
        seedDnsDomain: 'cluster.local',
        etcdMembers: 1,
        keyAlgorithm: 'ecdsa',
      },
      new Date(),
    ));
    server = createServer(
      {
        cert: pki.leaves[LEAF.apiserver].certPem,
        key: pki.leaves[LEAF.apiserver].keyPem,
        ca: pki.ca.cluster.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        seen.push({ commonName: peer.subject.CN, organization: peer.subject.O });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'default' } }] }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // `localhost` is in the serving certificate's SANs; the client verifies it.
    url = `https://localhost:${(server.address() as AddressInfo).port}`;
    directory = mkdtempSync(join(tmpdir(), 'hm-kubeconfig-'));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(directory, { recursive: true, force: true });
  });

  it('authenticates @kubernetes/client-node with the admin kubeconfig', async () => {
    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromString(
      renderKubeconfig({ clusterName: 'demo', role: 'admin', server: url, caCertPem: pki.ca.cluster.certPem, client: pki.leaves[LEAF.admin] }),
    );
    const namespaces = await kubeconfig.makeApiClient(CoreV1Api).listNamespace();
    expect(namespaces.items.map((namespace) => namespace.metadata?.name)).toEqual(['default']);
    expect(seen.at(-1)).toEqual({ commonName: 'harbormaster:admin', organization: 'system:masters' });
  });

  it('is refused by the server with a certificate from another CA', async () => {
    const { pki: other } = await ensureClusterPki(
      undefined,
      {
        namespace: 'cluster-t2',
        externalHosts: [],
        externalIps: [],
        serviceCidr: '10.96.0.0/12',
        tenantDnsDomain: 'cluster.local',
        seedDnsDomain: 'cluster.local',
        etcdMembers: 1,
        keyAlgorithm: 'ecdsa',
      },
      new Date(),
    );
    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromString(
      renderKubeconfig({ clusterName: 'demo', role: 'admin', server: url, caCertPem: pki.ca.cluster.certPem, client: other.leaves[LEAF.admin] }),
    );
    const before = seen.length;
    await expect(kubeconfig.makeApiClient(CoreV1Api).listNamespace()).rejects.toThrow();
    expect(seen.length).toBe(before);
  });

  it('is read by kubectl, keeping distinct names for two kubeconfigs merged together', async () => {
    const admin = join(directory, 'admin.yaml');
    const viewer = join(directory, 'viewer.yaml');
    writeFileSync(
      admin,
      renderKubeconfig({ clusterName: 'demo', role: 'admin', server: url, caCertPem: pki.ca.cluster.certPem, client: pki.leaves[LEAF.admin] }),
    );
    writeFileSync(
      viewer,
      renderKubeconfig({ clusterName: 'demo', role: 'viewer', server: url, caCertPem: pki.ca.cluster.certPem, client: pki.leaves[LEAF.viewer] }),
    );
    // Asynchronous: this kubectl build may contact the server, which runs in this process.
    const { stdout } = await promisify(execFile)('kubectl', ['config', 'get-contexts', '-o', 'name'], {
      env: { ...process.env, KUBECONFIG: `${admin}:${viewer}` },
    });
    const contexts = stdout.trim().split('\n').sort();
    expect(contexts).toHaveLength(2);
    expect(contexts[0]).toMatch(/^hm-demo-admin-[0-9a-f]{8}$/);
    expect(contexts[1]).toMatch(/^hm-demo-viewer-[0-9a-f]{8}$/);
  });
});
