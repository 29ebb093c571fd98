import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IService } from 'kubernetes-models/v1/Service';
import { SUPPORTED_VERSIONS, findVersion, type KubernetesVersion } from '../../../services/core/src/versions.js';
import {
  ADDON_STEPS,
  addonSelectionProblems,
  buildAddonSteps,
  resolveAddonSpec,
  type AddonObject,
  type AddonSpec,
  type TenantManifest,
} from '../../../services/core/src/addons/index.js';
import { referenceAddonSpec, referenceInput } from './reference.js';

function objects(spec: AddonSpec): AddonObject[] {
  return buildAddonSteps(spec).flatMap((step) => step.objects);
}

function find(spec: AddonSpec, kind: string, name: string): TenantManifest {
  const found = objects(spec).find((object) => object.manifest.kind === kind && object.manifest.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not built`);
  return found.manifest;
}

function configData(manifest: TenantManifest): Record<string, string> {
  return (manifest as unknown as { data: Record<string, string> }).data;
}

function withoutAddonImages(version: KubernetesVersion, drop: ReadonlyArray<keyof KubernetesVersion['addonImages']>): KubernetesVersion {
  const addonImages = Object.fromEntries(Object.entries(version.addonImages).filter(([name]) => !(drop as readonly string[]).includes(name)));
  return { ...version, addonImages: { ...addonImages, kubeProxy: version.addonImages.kubeProxy } };
}

describe('add-on sequence', () => {
  it('comes up network, dns, tunnel, metrics, each with its condition', () => {
    expect(ADDON_STEPS.map((step) => [step.name, step.condition])).toEqual([
      ['network', 'NetworkReady'],
      ['dns', 'DNSReady'],
      ['tunnel', 'TunnelReady'],
      ['metrics', 'MetricsReady'],
    ]);
  });

  it('runs cilium without kube-proxy, its replacement taking the Services', () => {
    const steps = buildAddonSteps(referenceAddonSpec({ cni: 'cilium' }));
    expect(steps[0].addons).toEqual(['cilium']);
    expect(steps.flatMap((step) => step.objects).some((object) => object.manifest.metadata.labels?.['app.kubernetes.io/name'] === 'kube-proxy')).toBe(false);
    const config = configData(find(referenceAddonSpec({ cni: 'cilium' }), 'ConfigMap', 'cilium-config'));
    expect(config['kube-proxy-replacement']).toBe('true');
  });

  it('runs kube-proxy with flannel and with no plugin, and no plugin objects for none', () => {
    expect(buildAddonSteps(referenceAddonSpec({ cni: 'flannel' }))[0].addons).toEqual(['flannel', 'kube-proxy']);
    const none = buildAddonSteps(referenceAddonSpec({ cni: 'none' }));
    expect(none[0].addons).toEqual(['user-network-plugin', 'kube-proxy']);
    // The user's plugin is waited on through the nodes, since we cannot name its objects.
    expect(none[0].awaits).toEqual([
      { readiness: 'nodesNetworkReady', waitingFor: expect.stringContaining('cni none') as string },
      { kind: 'DaemonSet', namespace: 'kube-system', name: 'kube-proxy', readiness: 'daemonSetRolledOut' },
    ]);
  });

  it('skips the metrics step unless metrics-server is selected', () => {
    expect(buildAddonSteps(referenceAddonSpec({ metricsServer: false })).map((step) => step.name)).toEqual(['network', 'dns', 'tunnel']);
    const steps = buildAddonSteps(referenceAddonSpec({ metricsServer: true }));
    expect(steps.map((step) => step.name)).toEqual(['network', 'dns', 'tunnel', 'metrics']);
    expect(steps[3].awaits).toEqual([{ kind: 'Deployment', namespace: 'kube-system', name: 'metrics-server', readiness: 'deploymentAvailable' }]);
  });

  it('awaits coredns available and the konnectivity agents rolled out', () => {
    const steps = buildAddonSteps(referenceAddonSpec());
    expect(steps[1].awaits).toEqual([{ kind: 'Deployment', namespace: 'kube-system', name: 'coredns', readiness: 'deploymentAvailable' }]);
    expect(steps[2].awaits).toEqual([{ kind: 'DaemonSet', namespace: 'kube-system', name: 'konnectivity-agent', readiness: 'daemonSetRolledOut' }]);
  });
});

describe('ownership', () => {
  it('leaves the CoreDNS Corefile to the user and enforces everything else', () => {
    for (const cni of ['cilium', 'flannel', 'none'] as const) {
      const built = objects(referenceAddonSpec({ cni, metricsServer: true }));
      const editable = built
        .filter((object) => object.ownership === 'userEditable')
        .map((object) => `${object.manifest.kind}/${object.manifest.metadata.name}`);
      expect(editable).toEqual(['ConfigMap/coredns']);
      expect(built.filter((object) => object.ownership === 'enforced')).toHaveLength(built.length - 1);
    }
  });
});

describe('cluster settings in the built objects', () => {
  it('gives kube-dns the tenth address of the service range, which kubelets announce', () => {
    const service = find(referenceAddonSpec(), 'Service', 'kube-dns') as unknown as IService;
    expect(service.spec?.clusterIP).toBe('10.96.0.10');
    expect(service.metadata?.labels?.['k8s-app']).toBe('kube-dns');
    expect(service.spec?.ports?.map((port) => `${port.port}/${port.protocol}`)).toEqual(['53/UDP', '53/TCP', '9153/TCP']);
    const other = find(referenceAddonSpec({}, { serviceCidr: '172.20.0.0/16' }), 'Service', 'kube-dns') as unknown as IService;
    expect(other.spec?.clusterIP).toBe('172.20.0.10');
  });

  it('serves the cluster domain in the Corefile and spreads two CoreDNS replicas over nodes', () => {
    const spec = referenceAddonSpec({}, { dnsDomain: 'tenant.example' });
    expect(configData(find(spec, 'ConfigMap', 'coredns')).Corefile).toContain('kubernetes tenant.example in-addr.arpa ip6.arpa');
    const deployment = find(spec, 'Deployment', 'coredns') as unknown as IDeployment;
    expect(deployment.spec?.replicas).toBe(2);
    const antiAffinity = deployment.spec?.template.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0];
    expect(antiAffinity?.podAffinityTerm).toEqual({ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } });
    const container = deployment.spec?.template.spec?.containers[0];
    expect(container?.readinessProbe?.httpGet).toMatchObject({ path: '/ready', port: 8181 });
    expect(container?.livenessProbe?.httpGet).toMatchObject({ path: '/health', port: 8080 });
    expect(container?.image).toBe(findVersion('1.36.3')?.addonImages.coredns);
  });

  it('hands cilium the pod CIDR with a /24 per node, VXLAN and the external apiserver', () => {
    const spec = referenceAddonSpec({ cni: 'cilium' }, { podCidr: '10.32.0.0/14' });
    const config = configData(find(spec, 'ConfigMap', 'cilium-config'));
    expect(config).toMatchObject({
      ipam: 'cluster-pool',
      'cluster-pool-ipv4-cidr': '10.32.0.0/14',
      'cluster-pool-ipv4-mask-size': '24',
      'routing-mode': 'tunnel',
      'tunnel-protocol': 'vxlan',
    });
    expect(config.mtu).toBeUndefined();
    const agent = find(spec, 'DaemonSet', 'cilium') as unknown as IDaemonSet;
    const podSpec = agent.spec?.template.spec;
    expect(podSpec?.hostNetwork).toBe(true);
    expect(podSpec?.priorityClassName).toBe('system-node-critical');
    expect(podSpec?.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(podSpec?.containers[0].env).toEqual(
      expect.arrayContaining([
        { name: 'KUBERNETES_SERVICE_HOST', value: '192.0.2.10' },
        { name: 'KUBERNETES_SERVICE_PORT', value: '30443' },
      ]),
    );
    expect(podSpec?.volumes?.find((volume) => volume.name === 'etc-cni-netd')?.hostPath?.path).toBe('/etc/cni/net.d');
    expect(podSpec?.initContainers?.map((container) => container.name)).toContain('install-cni-binaries');
  });

  it('sets cilium MTU to the pod MTU plus VXLAN overhead, flannel to the pod MTU', () => {
    expect(configData(find(referenceAddonSpec({ cni: 'cilium' }, { mtu: 1450 }), 'ConfigMap', 'cilium-config')).mtu).toBe('1500');
    const netConf = JSON.parse(
      configData(find(referenceAddonSpec({ cni: 'flannel' }, { mtu: 1450 }), 'ConfigMap', 'kube-flannel-cfg'))['net-conf.json'],
    ) as unknown;
    expect(netConf).toEqual({ Network: '10.244.0.0/16', EnableNFTables: false, Backend: { Type: 'vxlan', MTU: 1450 } });
    const auto = JSON.parse(configData(find(referenceAddonSpec({ cni: 'flannel' }), 'ConfigMap', 'kube-flannel-cfg'))['net-conf.json']) as { Backend: unknown };
    expect(auto.Backend).toEqual({ Type: 'vxlan' });
  });

  it('installs the flannel CNI config into the host through init containers', () => {
    const daemonSet = find(referenceAddonSpec({ cni: 'flannel' }), 'DaemonSet', 'kube-flannel-ds') as unknown as IDaemonSet;
    expect(daemonSet.metadata?.namespace).toBe('kube-flannel');
    const init = daemonSet.spec?.template.spec?.initContainers ?? [];
    expect(init.map((container) => container.args?.at(-1))).toEqual(['/opt/cni/bin/flannel', '/etc/cni/net.d/10-flannel.conflist']);
    expect(daemonSet.spec?.template.spec?.volumes?.find((volume) => volume.name === 'cni')?.hostPath?.path).toBe('/etc/cni/net.d');
  });

  it('configures kube-proxy like kubeadm: pod CIDR, iptables, the external endpoint, the version image', () => {
    const spec = referenceAddonSpec({ cni: 'flannel' });
    const data = configData(find(spec, 'ConfigMap', 'kube-proxy'));
    expect(parse(data['config.conf'])).toMatchObject({ kind: 'KubeProxyConfiguration', clusterCIDR: '10.244.0.0/16', mode: 'iptables' });
    const kubeconfig = parse(data['kubeconfig.conf']) as { clusters: Array<{ cluster: { server: string } }>; users: Array<{ user: { tokenFile: string } }> };
    expect(kubeconfig.clusters[0].cluster.server).toBe('https://192.0.2.10:30443');
    expect(kubeconfig.users[0].user.tokenFile).toBe('/var/run/secrets/kubernetes.io/serviceaccount/token');
    const daemonSet = find(spec, 'DaemonSet', 'kube-proxy') as unknown as IDaemonSet;
    expect(daemonSet.spec?.template.spec?.containers[0].image).toBe('registry.k8s.io/kube-proxy:v1.36.3');
    expect(find(spec, 'ClusterRoleBinding', 'kubeadm:node-proxier')).toMatchObject({ roleRef: { name: 'system:node-proxier' } });
  });

  it('points the konnectivity agents at the tunnel endpoint with an audience-bound token', () => {
    const daemonSet = find(referenceAddonSpec(), 'DaemonSet', 'konnectivity-agent') as unknown as IDaemonSet;
    const podSpec = daemonSet.spec?.template.spec;
    expect(podSpec?.hostNetwork).toBeUndefined();
    expect(podSpec?.containers[0].args).toEqual(
      expect.arrayContaining([
        '--proxy-server-host=k7x2m9-tunnel.seed-1.harbormaster.example',
        '--proxy-server-port=8132',
        '--agent-identifiers=ipv4=$(HOST_IP)&default-route=true',
        '--health-server-port=8093',
        '--service-account-token-path=/var/run/secrets/tokens/konnectivity-agent-token',
      ]),
    );
    // The kubelet expands $(HOST_IP): the node's address, which the server routes to this agent.
    expect(podSpec?.containers[0].env).toEqual([{ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }]);
    expect(podSpec?.volumes?.[0].projected?.sources?.[0].serviceAccountToken?.audience).toBe('system:konnectivity-server');
    // The server's TokenReview permission is a tenant bootstrap object: it exists once, with or without agents.
    expect(
      objects(referenceAddonSpec()).filter(
        (object) => object.manifest.kind === 'ClusterRoleBinding' && object.manifest.metadata.name === 'system:konnectivity-server',
      ),
    ).toEqual([]);
  });

  it('installs no agent until the seed exposes the konnectivity server, and the tunnel step says why it waits', () => {
    const spec = resolveAddonSpec({ ...referenceInput(), konnectivity: undefined });
    const tunnel = buildAddonSteps(spec).find((step) => step.name === 'tunnel');
    expect(tunnel?.objects).toEqual([]);
    expect(tunnel?.awaits).toEqual([
      { readiness: 'unmet', reason: 'WaitingForTunnelEndpoint', message: 'the seed has not exposed the konnectivity server to the nodes yet' },
    ]);
  });

  it('registers metrics-server as the v1beta1.metrics.k8s.io APIService', () => {
    const spec = referenceAddonSpec({ metricsServer: true });
    expect(find(spec, 'APIService', 'v1beta1.metrics.k8s.io')).toMatchObject({
      spec: { group: 'metrics.k8s.io', service: { name: 'metrics-server', namespace: 'kube-system' } },
    });
    const deployment = find(spec, 'Deployment', 'metrics-server') as unknown as IDeployment;
    expect(deployment.spec?.template.spec?.containers[0].args).toEqual(
      expect.arrayContaining(['--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname', '--kubelet-use-node-status-port']),
    );
  });

  it('labels every object as a harbormaster add-on, named after it', () => {
    for (const step of buildAddonSteps(referenceAddonSpec({ cni: 'flannel', metricsServer: true }))) {
      for (const object of step.objects) {
        expect(object.manifest.metadata.labels).toMatchObject({
          'app.kubernetes.io/managed-by': 'harbormaster',
          'app.kubernetes.io/part-of': 'harbormaster-addons',
        });
      }
    }
    const names = new Set(
      objects(referenceAddonSpec({ cni: 'flannel', metricsServer: true })).map((object) => object.manifest.metadata.labels?.['app.kubernetes.io/name']),
    );
    expect([...names].sort()).toEqual(['coredns', 'flannel', 'konnectivity-agent', 'kube-proxy', 'metrics-server']);
  });

  it('refuses to build an add-on the version does not carry', () => {
    const spec = referenceAddonSpec({ cni: 'cilium' });
    const stripped: AddonSpec = { ...spec, version: withoutAddonImages(spec.version, ['cilium']) };
    expect(() => buildAddonSteps(stripped)).toThrow(/cilium/);
  });
});

describe('resolveAddonSpec', () => {
  it('resolves the version and the DNS address, defaulting the domain', () => {
    const spec = resolveAddonSpec(referenceInput());
    expect(spec.version.version).toBe('1.36.3');
    expect(spec.clusterDnsIp).toBe('10.96.0.10');
    expect(spec.dnsDomain).toBe('cluster.local');
    expect(spec.mtu).toBeUndefined();
  });

  it('refuses a version outside the table', () => {
    expect(() => resolveAddonSpec(referenceInput({}, { version: '1.20.0' }))).toThrow(/not a supported version/);
  });
});

describe('version table add-on images', () => {
  it.each(SUPPORTED_VERSIONS.map((version) => [version.minor, version] as const))('%s carries every add-on image', (_minor, version) => {
    const images = version.addonImages;
    expect(images.kubeProxy).toBe(`registry.k8s.io/kube-proxy:v${version.version}`);
    expect(images.cilium).toMatch(/^quay\.io\/cilium\/cilium:v1\.\d+\.\d+$/);
    expect(images.ciliumOperator).toBe(images.cilium?.replace('/cilium:', '/operator-generic:'));
    expect(images.flannel).toMatch(/^ghcr\.io\/flannel-io\/flannel:v\d+\.\d+\.\d+$/);
    expect(images.flannelCniPlugin).toMatch(/^ghcr\.io\/flannel-io\/flannel-cni-plugin:v\d+\.\d+\.\d+-flannel\d+$/);
    expect(images.coredns).toMatch(/^registry\.k8s\.io\/coredns\/coredns:v1\.\d+\.\d+$/);
    expect(images.metricsServer).toMatch(/^registry\.k8s\.io\/metrics-server\/metrics-server:v0\.\d+\.\d+$/);
    // apiserver-network-proxy releases 0.<minor>.x for Kubernetes 1.<minor>; 1.37 runs the release
    // its kube-apiserver's konnectivity-client comes from (0.36), the pairing the real binaries prove.
    const konnectivityMinor = version.minor === '1.37' ? '36' : version.minor.split('.')[1];
    expect(images.konnectivityAgent).toMatch(new RegExp(`^registry\\.k8s\\.io/kas-network-proxy/proxy-agent:v0\\.${konnectivityMinor}\\.\\d+$`));
    // The server beside the apiserver runs the agents' release.
    expect(version.images.konnectivityServer).toBe(images.konnectivityAgent?.replace('/proxy-agent:', '/proxy-server:'));
  });
});

describe('addonSelectionProblems', () => {
  const base = { selection: { cni: 'cilium', metricsServer: false }, version: '1.36.3', podCidr: '10.244.0.0/16' };

  it('accepts the defaults', () => {
    expect(addonSelectionProblems(base)).toEqual([]);
    expect(addonSelectionProblems({ ...base, selection: { cni: 'flannel', metricsServer: true }, mtu: 1450 })).toEqual([]);
  });

  it('refuses an unknown network plugin', () => {
    expect(addonSelectionProblems({ ...base, selection: { cni: 'calico' } })).toEqual([
      { path: ['cni'], code: 'cni_unsupported', message: expect.stringContaining('cilium, flannel, none') as string },
    ]);
  });

  it.each([
    ['cilium', '10.244.0.0/24', ['pod_cidr_unsupported']],
    ['flannel', '10.244.0.0/25', ['pod_cidr_unsupported']],
    ['cilium', '10.244.0.0/23', []],
    ['flannel', '10.0.0.0/8', []],
    ['none', '10.244.0.0/24', []],
  ])('%s with pod CIDR %s', (cni, podCidr, codes) => {
    expect(addonSelectionProblems({ ...base, selection: { cni }, podCidr }).map((problem) => problem.code)).toEqual(codes);
  });

  it('reports the pod CIDR problem at network.podCidr', () => {
    expect(addonSelectionProblems({ ...base, podCidr: '10.244.0.0/24' })[0].path).toEqual(['network', 'podCidr']);
  });

  it.each([
    [1279, ['mtu_invalid']],
    [9002, ['mtu_invalid']],
    [1450.5, ['mtu_invalid']],
    [1280, []],
    [8951, []],
    [8952, ['mtu_invalid']],
  ])('mtu %s with cilium', (mtu, codes) => {
    expect(addonSelectionProblems({ ...base, mtu }).map((problem) => problem.code)).toEqual(codes);
  });

  it('leaves the VXLAN headroom out with no plugin of ours', () => {
    expect(addonSelectionProblems({ ...base, selection: { cni: 'none' }, mtu: 9001 })).toEqual([]);
    expect(addonSelectionProblems({ ...base, selection: { cni: 'none' }, mtu: 9002 }).map((problem) => problem.code)).toEqual(['mtu_invalid']);
    expect(addonSelectionProblems({ ...base, selection: { cni: 'flannel' }, mtu: 9001 })[0].message).toMatch(/8951.*VXLAN/);
  });

  it('refuses an add-on the version table does not carry for the minor', () => {
    const version = SUPPORTED_VERSIONS[0];
    const original = version.addonImages;
    const mutable = version as { addonImages: KubernetesVersion['addonImages'] };
    mutable.addonImages = withoutAddonImages(version, ['metricsServer', 'flannel']).addonImages;
    try {
      const problems = addonSelectionProblems({ ...base, version: version.version, selection: { cni: 'flannel', metricsServer: true } });
      expect(problems.map((problem) => [problem.code, problem.path.join('.')])).toEqual([
        ['addon_unsupported', 'cni'],
        ['addon_unsupported', 'addons.metricsServer'],
      ]);
      expect(addonSelectionProblems({ ...base, version: version.version, selection: { cni: 'cilium' } })).toEqual([]);
    } finally {
      mutable.addonImages = original;
    }
  });

  it('leaves an unknown version to the version field', () => {
    expect(addonSelectionProblems({ ...base, version: '1.20.0' })).toEqual([]);
    expect(addonSelectionProblems({ ...base, version: undefined })).toEqual([]);
  });

  it('reports every problem at once', () => {
    expect(
      addonSelectionProblems({ selection: { cni: 'weave' }, version: '1.36.3', podCidr: '10.244.0.0/28', mtu: 100 }).map((problem) => problem.code),
    ).toEqual(['cni_unsupported', 'mtu_invalid']);
  });
});
