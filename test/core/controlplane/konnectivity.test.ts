// The seed side of the API-server-to-node tunnel: the konnectivity server beside each apiserver
// replica, its certificates, its egress configuration and how agents reach it.
import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import {
  allObjects,
  buildControlPlane,
  pkiSpecFor,
  type ControlPlaneObjects,
  type ControlPlaneSpec,
  type SeedObject,
} from '../../../services/core/src/controlplane/index.js';
import { ensureClusterPki, type ClusterPki } from '../../../services/core/src/pki/index.js';
import { findVersion } from '../../../services/core/src/versions.js';
import { REFERENCE_NOW, referencePki, referenceSpec } from './reference.js';

function find<K extends SeedObject['kind']>(objects: ControlPlaneObjects, kind: K, name: string): Extract<SeedObject, { kind: K }> {
  const found = allObjects(objects).find((object) => object.kind === kind && object.metadata?.name === name);
  if (!found) throw new Error(`${kind}/${name} not built`);
  return found as Extract<SeedObject, { kind: K }>;
}

function container(objects: ControlPlaneObjects, name: string): IContainer {
  const found = find(objects, 'Deployment', 'kube-apiserver').spec?.template.spec?.containers.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`kube-apiserver has no container ${name}`);
  return found;
}

function secretFile(secret: ISecret, key: string): string {
  const value = secret.data?.[key];
  if (value === undefined) throw new Error(`${secret.metadata?.name} has no ${key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

const SOCKET = '/etc/kubernetes/konnectivity-server/konnectivity-server.socket';

describe('the konnectivity server beside each apiserver replica', () => {
  let pki: ClusterPki;
  let built: ControlPlaneObjects;

  beforeAll(async () => {
    pki = await referencePki();
    built = buildControlPlane(referenceSpec('LoadBalancer', { apiserverReplicas: 3 }), pki);
  });

  it('runs the proxy-server of the minor with exactly the flags of the contract', () => {
    const sidecar = container(built, 'konnectivity-server');
    expect(sidecar.image).toBe('registry.k8s.io/kas-network-proxy/proxy-server:v0.36.0');
    expect(sidecar.command).toEqual(['/proxy-server']);
    expect(sidecar.args).toEqual([
      `--uds-name=${SOCKET}`,
      '--delete-existing-uds-file=true',
      '--mode=grpc',
      '--server-port=0',
      '--agent-port=8132',
      '--agent-bind-address=$(POD_IP)',
      '--cluster-cert=/etc/kubernetes/konnectivity/pki/agent-port.crt',
      '--cluster-key=/etc/kubernetes/konnectivity/pki/agent-port.key',
      '--admin-port=8133',
      '--admin-bind-address=$(POD_IP)',
      '--health-port=8134',
      '--health-bind-address=$(POD_IP)',
      '--agent-namespace=kube-system',
      '--agent-service-account=konnectivity-agent',
      '--authentication-audience=system:konnectivity-server',
      '--kubeconfig=/etc/kubernetes/konnectivity/kubeconfig/kubeconfig',
      // The real server knows these names only (camelCase); `default-route` is the agent's identifier.
      '--proxy-strategies=destHost,defaultRoute',
      // One per apiserver replica: agents keep connecting until they hold a tunnel to each.
      '--server-count=3',
      '--keepalive-time=30s',
      '--v=2',
    ]);
    expect(sidecar.env?.map((variable) => variable.name)).toContain('POD_IP');
    // The 1.37 server is the release the real binaries were built from for it.
    const newest = buildControlPlane(referenceSpec('LoadBalancer', { version: '1.37.2' }), pki);
    expect(container(newest, 'konnectivity-server').image).toBe(findVersion('1.37.2')?.images.konnectivityServer);
    expect(findVersion('1.37.2')?.addonImages.konnectivityAgent).toBe('registry.k8s.io/kas-network-proxy/proxy-agent:v0.36.0');
  });

  it('is live and ready by /healthz, not /readyz, which fails until an agent connects (nodes join only after the apiserver is ready)', () => {
    const sidecar = container(built, 'konnectivity-server');
    expect(sidecar.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 8134, scheme: 'HTTP' });
    expect(sidecar.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 8134, scheme: 'HTTP' });
  });

  it('shares the socket directory with the apiserver, whose cluster egress goes through it', () => {
    const apiserver = container(built, 'kube-apiserver');
    const sidecar = container(built, 'konnectivity-server');
    const podSpec = find(built, 'Deployment', 'kube-apiserver').spec?.template.spec;
    const socketMount = (candidate: IContainer) => candidate.volumeMounts?.find((mount) => mount.mountPath === '/etc/kubernetes/konnectivity-server');
    expect(socketMount(apiserver)?.name).toBe(socketMount(sidecar)?.name);
    expect(podSpec?.volumes?.find((volume) => volume.name === socketMount(apiserver)?.name)?.emptyDir).toEqual({});
    // Neither container sees the other's credentials.
    expect(apiserver.volumeMounts?.map((mount) => mount.mountPath)).not.toContain('/etc/kubernetes/konnectivity/pki');
    expect(sidecar.volumeMounts?.map((mount) => mount.mountPath)).not.toContain('/etc/kubernetes/pki');

    expect(apiserver.args).toContain('--egress-selector-config-file=/etc/kubernetes/egress/egress-selector-configuration.yaml');
    const configMap = find(built, 'ConfigMap', 'apiserver-egress-selector');
    const egressVolume = podSpec?.volumes?.find((volume) => volume.configMap?.name === 'apiserver-egress-selector');
    expect(apiserver.volumeMounts?.find((mount) => mount.name === egressVolume?.name)?.mountPath).toBe('/etc/kubernetes/egress');
    expect(parse(configMap.data?.['egress-selector-configuration.yaml'] ?? '')).toEqual({
      apiVersion: 'apiserver.k8s.io/v1beta1',
      kind: 'EgressSelectorConfiguration',
      egressSelections: [
        { name: 'cluster', connection: { proxyProtocol: 'GRPC', transport: { uds: { udsName: SOCKET } } } },
        { name: 'controlplane', connection: { proxyProtocol: 'Direct' } },
        { name: 'etcd', connection: { proxyProtocol: 'Direct' } },
      ],
    });
    // The unix socket's path must fit sun_path (108 bytes with its NUL).
    expect(Buffer.byteLength(SOCKET)).toBeLessThan(108);
  });

  it('serves the agent port with a cluster-CA certificate for the endpoint and the apiserver Service names', () => {
    const certs = find(built, 'Secret', 'konnectivity-server-certs');
    const certificate = new X509Certificate(secretFile(certs, 'agent-port.crt'));
    // Agents verify it with their service-account ca.crt, which is the cluster CA.
    expect(certificate.verify(new X509Certificate(pki.ca.cluster.certPem).publicKey)).toBe(true);
    expect(certificate.checkHost('k7x2m9.seed-1.harbormaster.example')).toBe('k7x2m9.seed-1.harbormaster.example');
    expect(certificate.checkHost('apiserver-external.cluster-k7x2m9.svc.cluster.local')).toBeDefined();
    expect(certificate.checkHost('apiserver.cluster-k7x2m9.svc')).toBeDefined();
    expect(certificate.checkHost('kubernetes.default')).toBeUndefined();
    expect(certificate.keyUsage ?? []).not.toContain('1.3.6.1.5.5.7.3.2');
    expect(secretFile(certs, 'agent-port.key')).toContain('PRIVATE KEY');
  });

  it('names an IP endpoint in the agent-port certificate', async () => {
    const spec: ControlPlaneSpec = referenceSpec('NodePort', { endpoint: { host: '198.51.100.7', port: 30443 } });
    const { pki: issued } = await ensureClusterPki(pki, pkiSpecFor(spec), REFERENCE_NOW);
    const certificate = new X509Certificate(secretFile(find(buildControlPlane(spec, issued), 'Secret', 'konnectivity-server-certs'), 'agent-port.crt'));
    expect(certificate.checkIP('198.51.100.7')).toBe('198.51.100.7');
    expect(certificate.checkIP('192.0.2.99')).toBeUndefined();
  });

  it('reviews agent tokens as system:konnectivity-server (no group) through the internal apiserver URL', () => {
    const kubeconfig = parse(secretFile(find(built, 'Secret', 'konnectivity-server-kubeconfig'), 'kubeconfig')) as {
      clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
      users: Array<{ user: { 'client-certificate-data': string } }>;
    };
    expect(kubeconfig.clusters[0].cluster.server).toBe('https://apiserver.cluster-k7x2m9.svc.cluster.local:6443');
    expect(Buffer.from(kubeconfig.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(pki.ca.cluster.certPem);
    const client = new X509Certificate(Buffer.from(kubeconfig.users[0].user['client-certificate-data'], 'base64'));
    expect(client.subject).toBe('CN=system:konnectivity-server');
    expect(client.verify(new X509Certificate(pki.ca.cluster.certPem).publicKey)).toBe(true);
  });

  it('rolls the apiserver pods when a konnectivity Secret changes', () => {
    const hash = (objects: ControlPlaneObjects) =>
      find(objects, 'Deployment', 'kube-apiserver').spec?.template.metadata?.annotations?.['harbormaster.dev/config-hash'];
    const rotated: ClusterPki = structuredClone(pki);
    rotated.leaves['konnectivity-server-client'] = rotated.leaves['controller-manager'];
    expect(hash(buildControlPlane(referenceSpec('LoadBalancer', { apiserverReplicas: 3 }), rotated))).not.toBe(hash(built));
    const reissuedAgentPort: ClusterPki = structuredClone(pki);
    reissuedAgentPort.leaves['konnectivity-server'] = reissuedAgentPort.leaves.apiserver;
    expect(hash(buildControlPlane(referenceSpec('LoadBalancer', { apiserverReplicas: 3 }), reissuedAgentPort))).not.toBe(hash(built));
  });

  it('exposes the agent port on the external Service only, after https', () => {
    const loadBalancer = find(built, 'Service', 'apiserver-external');
    expect(loadBalancer.spec?.ports).toEqual([
      { name: 'https', port: 6443, targetPort: 6443, protocol: 'TCP' },
      { name: 'konnectivity', port: 8132, targetPort: 8132, protocol: 'TCP' },
    ]);
    const nodePort = find(buildControlPlane(referenceSpec('NodePort'), pki), 'Service', 'apiserver-external');
    // The https node port is pinned; the seed allocates the tunnel's, which the worker reads back.
    expect(nodePort.spec?.ports).toEqual([
      { name: 'https', port: 6443, targetPort: 6443, protocol: 'TCP', nodePort: 30443 },
      { name: 'konnectivity', port: 8132, targetPort: 8132, protocol: 'TCP' },
    ]);
    expect(find(built, 'Service', 'apiserver').spec?.ports?.map((port) => port.name)).toEqual(['https']);
    const sidecar = container(built, 'konnectivity-server');
    expect(sidecar.ports?.find((port) => port.containerPort === 8132)?.name).toBe('konnectivity');
  });
});
