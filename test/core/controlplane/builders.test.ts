import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import {
  SECRET,
  allObjects,
  buildControlPlane,
  etcdQuorum,
  pkiSpecFor,
  renderCluster,
  resolveSpec,
  type ControlPlaneObjects,
  type SeedObject,
} from '../../../services/core/src/controlplane/index.js';
import { apiserverArguments } from '../../../services/core/src/controlplane/apiserver.js';
import { applyFlagOverrides, SUPPORTED_VERSIONS, findVersion, newestVersion } from '../../../services/core/src/versions.js';
import { ensureClusterPki, type ClusterPki } from '../../../services/core/src/pki/index.js';
import { REFERENCE_NOW, referencePki, referenceSpec } from './reference.js';

function find<K extends SeedObject['kind']>(objects: ControlPlaneObjects, kind: K, name: string): Extract<SeedObject, { kind: K }> {
  const found = allObjects(objects).find((object) => object.kind === kind && object.metadata?.name === name);
  if (!found) throw new Error(`${kind}/${name} not built`);
  return found as Extract<SeedObject, { kind: K }>;
}

function flags(args: readonly string[] | undefined): Map<string, string> {
  return new Map((args ?? []).map((argument) => [argument.slice(2, argument.indexOf('=')), argument.slice(argument.indexOf('=') + 1)]));
}

function secretFile(secret: ISecret, key: string): string {
  const value = secret.data?.[key];
  if (value === undefined) throw new Error(`${secret.metadata?.name} has no ${key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

describe('control-plane builders', () => {
  let pki: ClusterPki;
  let built: ControlPlaneObjects;
  const namespace = 'cluster-k7x2m9';

  beforeAll(async () => {
    pki = await referencePki();
    built = buildControlPlane(referenceSpec('LoadBalancer'), pki);
  });

  it('groups objects in apply order', () => {
    expect(built.namespace).toBe(namespace);
    expect(built.groups.map((group) => group.name)).toEqual(['namespace', 'config', 'network-policies', 'etcd', 'apiserver', 'controllers']);
    const kinds = (name: string) => built.groups.find((group) => group.name === name)?.objects.map((object) => `${object.kind}/${object.metadata?.name}`);
    expect(kinds('etcd')).toEqual(['Service/etcd', 'PodDisruptionBudget/etcd', 'StatefulSet/etcd']);
    expect(kinds('controllers')).toEqual(['Deployment/kube-controller-manager', 'Deployment/kube-scheduler']);
    expect(kinds('config')?.every((entry) => entry.startsWith('Secret/'))).toBe(true);
  });

  it('runs etcd as a 3-member StatefulSet with TLS everywhere and a quorum PDB', () => {
    const statefulSet = find(built, 'StatefulSet', 'etcd');
    expect(statefulSet.spec?.replicas).toBe(3);
    expect(statefulSet.spec?.serviceName).toBe('etcd');
    expect(statefulSet.spec?.podManagementPolicy).toBe('Parallel');
    expect(statefulSet.spec?.volumeClaimTemplates?.[0].spec?.resources?.requests?.storage).toBe('2Gi');
    const container = statefulSet.spec?.template.spec?.containers[0];
    expect(container?.command).toEqual(['etcd']);
    expect(container?.image).toBe('registry.k8s.io/etcd:3.6.8-0');
    const args = flags(container?.args);
    expect(args.get('client-cert-auth')).toBe('true');
    expect(args.get('peer-client-cert-auth')).toBe('true');
    expect(args.get('initial-cluster-state')).toBe('new');
    expect(args.get('initial-cluster')).toBe(
      [0, 1, 2].map((member) => `etcd-${member}=https://etcd-${member}.etcd.${namespace}.svc.cluster.local:2380`).join(','),
    );
    expect(args.get('name')).toBe('$(POD_NAME)');
    expect(args.get('data-dir')?.startsWith('/var/lib/etcd')).toBe(true);
    expect(container?.volumeMounts?.find((mount) => mount.name === 'data')?.mountPath).toBe('/var/lib/etcd');
    expect(container?.env?.map((variable) => variable.valueFrom?.fieldRef?.fieldPath)).toEqual(['metadata.name', 'status.podIP']);
    const service = find(built, 'Service', 'etcd');
    expect(service.spec?.clusterIP).toBe('None');
    expect(service.spec?.publishNotReadyAddresses).toBe(true);
    expect(find(built, 'PodDisruptionBudget', 'etcd').spec?.minAvailable).toBe(2);
  });

  it('derives quorum and member lists from the etcd size', () => {
    expect([1, 3, 5].map(etcdQuorum)).toEqual([1, 2, 3]);
    const single = buildControlPlane(referenceSpec('NodePort', { etcd: { members: 1 } }), pki);
    expect(find(single, 'StatefulSet', 'etcd').spec?.replicas).toBe(1);
    expect(find(single, 'PodDisruptionBudget', 'etcd').spec?.minAvailable).toBe(1);
    const apiserverArgs = flags(find(single, 'Deployment', 'kube-apiserver').spec?.template.spec?.containers[0].args);
    expect(apiserverArgs.get('etcd-servers')).toBe(`https://etcd-0.etcd.${namespace}.svc.cluster.local:2379`);
    expect(Object.keys(find(single, 'Secret', SECRET.etcdCerts).data ?? {}).sort()).toEqual([
      'ca.crt',
      'etcd-0-peer.crt',
      'etcd-0-peer.key',
      'etcd-0-server.crt',
      'etcd-0-server.key',
    ]);
    expect(() => resolveSpec(referenceSpec('NodePort', { etcd: { members: 2 as 1 } }))).toThrow(/1 or 3/);
  });

  it('configures kube-apiserver as the architecture requires', () => {
    const deployment = find(built, 'Deployment', 'kube-apiserver');
    expect(deployment.spec?.replicas).toBe(2);
    expect(find(built, 'PodDisruptionBudget', 'kube-apiserver').spec?.maxUnavailable).toBe(1);
    const container = deployment.spec?.template.spec?.containers[0];
    expect(container?.command).toEqual(['kube-apiserver']);
    expect(container?.image).toBe('registry.k8s.io/kube-apiserver:v1.36.3');
    const args = flags(container?.args);
    expect(args.get('etcd-servers')?.split(',')).toHaveLength(3);
    expect(
      args
        .get('etcd-servers')
        ?.split(',')
        .every((url) => url.startsWith('https://')),
    ).toBe(true);
    expect(args.get('authorization-mode')).toBe('Node,RBAC');
    expect(args.get('enable-admission-plugins')?.split(',')).toContain('NodeRestriction');
    expect(args.get('enable-bootstrap-token-auth')).toBe('true');
    expect(args.get('advertise-address')).toBe('$(POD_IP)');
    expect(args.get('endpoint-reconciler-type')).toBe('none');
    expect(args.get('profiling')).toBe('false');
    expect(args.get('service-cluster-ip-range')).toBe('10.96.0.0/12');
    expect(args.get('requestheader-allowed-names')).toBe('front-proxy-client');
    for (const flag of [
      'service-account-issuer',
      'service-account-key-file',
      'service-account-signing-key-file',
      'client-ca-file',
      'kubelet-client-certificate',
      'kubelet-client-key',
      'proxy-client-cert-file',
      'secure-port',
    ]) {
      expect(args.has(flag), flag).toBe(true);
    }
    expect(container?.livenessProbe?.httpGet).toMatchObject({ path: '/livez', scheme: 'HTTPS', port: 6443 });
    expect(container?.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', scheme: 'HTTPS', port: 6443 });
  });

  it('configures the controller-manager and scheduler with their kubeconfigs and leader election', () => {
    const controllerManager = flags(find(built, 'Deployment', 'kube-controller-manager').spec?.template.spec?.containers[0].args);
    expect(controllerManager.get('controllers')).toBe('*,bootstrapsigner,tokencleaner');
    expect(controllerManager.get('cluster-signing-cert-file')).toBe('/etc/kubernetes/pki/ca.crt');
    expect(controllerManager.get('cluster-signing-key-file')).toBe('/etc/kubernetes/pki/ca.key');
    expect(controllerManager.get('use-service-account-credentials')).toBe('true');
    expect(controllerManager.get('cluster-cidr')).toBe('10.244.0.0/16');
    expect(controllerManager.get('leader-elect')).toBe('true');
    const schedulerDeployment = find(built, 'Deployment', 'kube-scheduler');
    const scheduler = flags(schedulerDeployment.spec?.template.spec?.containers[0].args);
    for (const component of [controllerManager, scheduler]) {
      for (const flag of ['kubeconfig', 'authentication-kubeconfig', 'authorization-kubeconfig'])
        expect(component.get(flag)).toBe('/etc/kubernetes/kubeconfig/kubeconfig');
      expect(component.get('leader-elect')).toBe('true');
    }
    expect(schedulerDeployment.spec?.template.spec?.containers[0].livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 10259, scheme: 'HTTPS' });
    const cmProbe = find(built, 'Deployment', 'kube-controller-manager').spec?.template.spec?.containers[0].livenessProbe?.httpGet;
    expect(cmProbe).toMatchObject({ path: '/healthz', port: 10257, scheme: 'HTTPS' });
    // The scheduler never receives a CA key: its pod mounts only its kubeconfig.
    expect(schedulerDeployment.spec?.template.spec?.volumes?.map((volume) => volume.secret?.secretName)).toEqual([SECRET.schedulerKubeconfig]);
  });

  it('writes kubeconfigs whose server names the apiserver certificate covers', () => {
    const apiserverCert = new X509Certificate(secretFile(find(built, 'Secret', SECRET.apiserverCerts), 'apiserver.crt'));
    const ca = new X509Certificate(pki.ca.cluster.certPem);
    for (const [name, expectedServer] of [
      [SECRET.controllerManagerKubeconfig, `https://apiserver.${namespace}.svc.cluster.local:6443`],
      [SECRET.schedulerKubeconfig, `https://apiserver.${namespace}.svc.cluster.local:6443`],
      [SECRET.adminKubeconfig, 'https://k7x2m9.seed-1.harbormaster.example:6443'],
    ] as const) {
      const document = parse(secretFile(find(built, 'Secret', name), 'kubeconfig')) as {
        clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
        users: Array<{ user: { 'client-certificate-data': string } }>;
      };
      const server = new URL(document.clusters[0].cluster.server);
      expect(server.href.replace(/\/$/, '')).toBe(expectedServer);
      expect(apiserverCert.checkHost(server.hostname), name).toBe(server.hostname);
      expect(Buffer.from(document.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(pki.ca.cluster.certPem);
      const clientCert = new X509Certificate(Buffer.from(document.users[0].user['client-certificate-data'], 'base64'));
      expect(clientCert.verify(ca.publicKey), name).toBe(true);
    }
  });

  it('exposes the apiserver per strategy on port 6443, plus an internal ClusterIP Service', () => {
    const nodePort = buildControlPlane(referenceSpec('NodePort'), pki);
    const external = find(nodePort, 'Service', 'apiserver-external');
    expect(external.spec?.type).toBe('NodePort');
    expect(external.spec?.ports?.[0]).toMatchObject({ port: 6443, targetPort: 6443, nodePort: 30443 });
    const loadBalancer = find(built, 'Service', 'apiserver-external');
    expect(loadBalancer.spec?.type).toBe('LoadBalancer');
    expect(loadBalancer.spec?.ports?.[0].port).toBe(6443);
    const internal = find(built, 'Service', 'apiserver');
    expect(internal.spec?.type).toBe('ClusterIP');
    expect(internal.spec?.selector).toEqual(find(built, 'Deployment', 'kube-apiserver').spec?.selector.matchLabels);
  });

  it('denies by default and allows exactly the control-plane flows', () => {
    const policy = (name: string) => find(built, 'NetworkPolicy', name);
    expect(policy('default-deny').spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    // Users and nodes reach the apiserver, and the nodes' tunnel agents its konnectivity server, from anywhere.
    expect(policy('apiserver-ingress').spec?.ingress).toEqual([
      {
        ports: [
          { protocol: 'TCP', port: 6443 },
          { protocol: 'TCP', port: 8132 },
        ],
      },
    ]);
    const apiserverPods = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'kube-apiserver', 'harbormaster.dev/cluster-id': 'k7x2m9' } } };
    // The konnectivity server reviews agent tokens at the apiserver through the internal Service.
    expect(policy('apiserver-egress').spec?.egress).toContainEqual({ to: [apiserverPods], ports: [{ protocol: 'TCP', port: 6443 }] });
    const etcdIngress = policy('etcd').spec?.ingress ?? [];
    const allowedNames = etcdIngress.flatMap((rule) => (rule.from ?? []).map((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name']));
    expect(allowedNames.sort()).toEqual(['etcd', 'kube-apiserver']);
    expect(etcdIngress.every((rule) => (rule.from ?? []).length > 0)).toBe(true);
    for (const name of ['controller-manager-egress', 'scheduler-egress']) {
      expect(policy(name).spec?.egress).toEqual([
        {
          to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'kube-apiserver', 'harbormaster.dev/cluster-id': 'k7x2m9' } } }],
          ports: [{ protocol: 'TCP', port: 6443 }],
        },
      ]);
    }
    expect(policy('allow-dns').spec?.egress?.[0].ports?.map((port) => `${port.protocol}/${port.port}`)).toEqual(['UDP/53', 'TCP/53']);
  });

  it('rolls pods whose mounted secrets changed, and only those', async () => {
    const hash = (objects: ControlPlaneObjects, kind: 'Deployment' | 'StatefulSet', name: string) =>
      find(objects, kind, name).spec?.template.metadata?.annotations?.['harbormaster.dev/config-hash'];
    const moved = referenceSpec('LoadBalancer', { endpoint: { host: 'moved.example', port: 6443 } });
    const { pki: reissued } = await ensureClusterPki(pki, pkiSpecFor(moved), REFERENCE_NOW);
    const after = buildControlPlane(moved, reissued);
    expect(hash(after, 'Deployment', 'kube-apiserver')).not.toBe(hash(built, 'Deployment', 'kube-apiserver'));
    expect(hash(after, 'StatefulSet', 'etcd')).toBe(hash(built, 'StatefulSet', 'etcd'));
    expect(hash(after, 'Deployment', 'kube-scheduler')).toBe(hash(built, 'Deployment', 'kube-scheduler'));
  });

  it('uses the images of each supported minor', () => {
    expect(SUPPORTED_VERSIONS.map((version) => version.minor)).toEqual(['1.35', '1.36', '1.37']);
    expect(newestVersion().minor).toBe('1.37');
    for (const version of SUPPORTED_VERSIONS) {
      const objects = buildControlPlane(referenceSpec('NodePort', { version: version.version }), pki);
      const image = (kind: 'Deployment' | 'StatefulSet', name: string) => find(objects, kind, name).spec?.template.spec?.containers[0].image;
      expect(image('Deployment', 'kube-apiserver')).toBe(`registry.k8s.io/kube-apiserver:v${version.version}`);
      expect(image('Deployment', 'kube-controller-manager')).toBe(`registry.k8s.io/kube-controller-manager:v${version.version}`);
      expect(image('Deployment', 'kube-scheduler')).toBe(`registry.k8s.io/kube-scheduler:v${version.version}`);
      expect(image('StatefulSet', 'etcd')).toMatch(/^registry\.k8s\.io\/etcd:3\.\d+\.\d+-0$/);
    }
    expect(() => buildControlPlane(referenceSpec('NodePort', { version: '1.30.0' }), pki)).toThrow(/not a supported version/);
  });

  it('applies per-minor flag overrides from the version table', () => {
    const baseline = ['--a=1', '--b=2', '--c=3'];
    expect(applyFlagOverrides(baseline, { set: { '--b': 'x', '--d': '4' }, remove: ['--c'] })).toEqual(['--a=1', '--b=x', '--d=4']);
    expect(applyFlagOverrides(baseline, undefined)).toEqual(baseline);
    const version = findVersion('1.36.3');
    if (!version) throw new Error('1.36.3 missing');
    const spec = {
      ...resolveSpec(referenceSpec('NodePort')),
      version: { ...version, flags: { apiserver: { remove: ['--profiling'], set: { '--feature-gates': 'Example=true' } } } },
    };
    const args = apiserverArguments(spec);
    expect(args).not.toContain('--profiling=false');
    expect(args).toContain('--feature-gates=Example=true');
  });

  it('renders PKI and manifests in one call for benchmarks', async () => {
    const rendered = await renderCluster(referenceSpec('NodePort', { etcd: { members: 1 } }), { keyAlgorithm: 'ecdsa', now: REFERENCE_NOW });
    expect(rendered.pki.leaves['etcd-0-server']).toBeDefined();
    expect(allObjects(rendered.objects).length).toBeGreaterThan(15);
    const apiserverCert = new X509Certificate(rendered.pki.leaves.apiserver.certPem);
    expect(apiserverCert.checkIP('192.0.2.10')).toBe('192.0.2.10');
  });
});
