// Cilium, the default network plugin, as its helm chart renders it for these values:
// ipam.mode=cluster-pool (the pod CIDR, a /24 per node), routingMode=tunnel with VXLAN (works on
// any cloud network without route programming), kubeProxyReplacement=true with
// k8sServiceHost/Port = the external apiserver endpoint (there is no Service before Cilium runs),
// hubble.enabled=false and l7Proxy=false (both need more objects: TLS Secrets the chart
// generates, the cilium-envoy DaemonSet). The agent writes its own CNI config
// (`write-cni-conf-when-ready`) once it is ready, so a node turns Ready only with a working agent.
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import type { AddonDefinition, AddonSpec } from './addon.js';
import {
  KUBE_SYSTEM,
  LINUX_NODES,
  clusterRole,
  clusterRoleBinding,
  configMap,
  enforced,
  fieldEnv,
  hostPathVolume,
  meta,
  podLabels,
  requireImage,
  role,
  roleBinding,
  serviceAccount,
  serviceAccountSubject,
} from './common.js';

const ADDON = 'cilium';
export const CILIUM_CONFIGMAP = 'cilium-config';
export const CILIUM_DAEMONSET = 'cilium';
export const CILIUM_OPERATOR = 'cilium-operator';
export const CILIUM_CNI_CONFIG = '/etc/cni/net.d/05-cilium.conflist';
/** Each node's share of the pod CIDR (the chart's clusterPoolIPv4MaskSize default). */
export const CILIUM_NODE_MASK_SIZE = 24;
/** VXLAN adds 50 bytes (outer Ethernet, IP, UDP, VXLAN headers) to every pod packet. */
export const VXLAN_OVERHEAD = 50;
const AGENT_SELECTOR = { 'k8s-app': 'cilium' };
const OPERATOR_SELECTOR = { 'io.cilium/app': 'operator', name: 'cilium-operator' };
const HEALTH_PORT = 9879;
const OPERATOR_HEALTH_PORT = 9234;

/** The `cilium-config` data: the chart's defaults for the values above. */
export function ciliumConfig(spec: AddonSpec): Record<string, string> {
  const config: Record<string, string> = {
    'identity-allocation-mode': 'crd',
    'identity-heartbeat-timeout': '30m0s',
    'identity-gc-interval': '15m0s',
    'cilium-endpoint-gc-interval': '5m0s',
    'nodes-gc-interval': '5m0s',
    debug: 'false',
    'agent-health-port': String(HEALTH_PORT),
    'operator-api-serve-addr': `127.0.0.1:${OPERATOR_HEALTH_PORT}`,
    'enable-policy': 'default',
    'enable-ipv4': 'true',
    'enable-ipv6': 'false',
    'custom-cni-conf': 'false',
    'enable-bpf-clock-probe': 'false',
    'monitor-aggregation': 'medium',
    'monitor-aggregation-interval': '5s',
    'monitor-aggregation-flags': 'all',
    'bpf-map-dynamic-size-ratio': '0.0025',
    'bpf-policy-map-max': '16384',
    'bpf-lb-map-max': '65536',
    'bpf-lb-external-clusterip': 'false',
    'preallocate-bpf-maps': 'false',
    'bpf-root': '/sys/fs/bpf',
    'cgroup-root': '/run/cilium/cgroupv2',
    'cluster-name': 'default',
    'cluster-id': '0',
    'routing-mode': 'tunnel',
    'tunnel-protocol': 'vxlan',
    'service-no-backend-response': 'reject',
    'enable-l7-proxy': 'false',
    'external-envoy-proxy': 'false',
    'enable-ipv4-masquerade': 'true',
    'enable-bpf-masquerade': 'false',
    'enable-xt-socket-fallback': 'true',
    'install-no-conntrack-iptables-rules': 'false',
    'auto-direct-node-routes': 'false',
    'kube-proxy-replacement': 'true',
    'enable-health-check-nodeport': 'true',
    'node-port-bind-protection': 'true',
    'enable-auto-protect-node-port-range': 'true',
    'bpf-lb-acceleration': 'disabled',
    'enable-svc-source-range-check': 'true',
    'enable-l2-neigh-discovery': 'true',
    'arping-refresh-period': '30s',
    'k8s-require-ipv4-pod-cidr': 'false',
    'enable-endpoint-health-checking': 'true',
    'enable-health-checking': 'true',
    'enable-well-known-identities': 'false',
    'synchronize-k8s-nodes': 'true',
    ipam: 'cluster-pool',
    'ipam-cilium-node-update-rate': '15s',
    'cluster-pool-ipv4-cidr': spec.podCidr,
    'cluster-pool-ipv4-mask-size': String(CILIUM_NODE_MASK_SIZE),
    'enable-vtep': 'false',
    'enable-bgp-control-plane': 'false',
    procfs: '/host/proc',
    'enable-k8s-networkpolicy': 'true',
    'enable-k8s-terminating-endpoint': 'true',
    'enable-sctp': 'false',
    'remove-cilium-node-taints': 'true',
    'set-cilium-node-taints': 'true',
    'set-cilium-is-up-condition': 'true',
    'unmanaged-pod-watcher-interval': '15',
    'agent-not-ready-taint-key': 'node.cilium.io/agent-not-ready',
    'enable-hubble': 'false',
    'mesh-auth-enabled': 'false',
    'write-cni-conf-when-ready': `/host${CILIUM_CNI_CONFIG}`,
    'cni-exclusive': 'true',
    'cni-log-file': '/var/run/cilium/cilium-cni.log',
  };
  // Cilium's `mtu` is the underlying network's; it subtracts the tunnel overhead for pod routes
  // itself, so the pod MTU the cluster asks for needs the overhead added back.
  if (spec.mtu !== undefined) config.mtu = String(spec.mtu + VXLAN_OVERHEAD);
  return config;
}

function apiserverEnv(spec: AddonSpec): IEnvVar[] {
  return [
    { name: 'KUBERNETES_SERVICE_HOST', value: spec.apiserver.host },
    { name: 'KUBERNETES_SERVICE_PORT', value: String(spec.apiserver.port) },
  ];
}

const CILIUM_SE_LINUX = { level: 's0', type: 'spc_t' };

function agentInitContainers(spec: AddonSpec, image: string): IContainer[] {
  const hostBinaryStep = (name: string, binary: string, extraEnv: IEnvVar[], args: string): IContainer => ({
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    env: [...extraEnv, { name: 'BIN_PATH', value: '/opt/cni/bin' }],
    // Copies a helper to the host and runs it in the host's namespaces (cgroup mount, sysctls).
    command: [
      'sh',
      '-ec',
      `cp /usr/bin/${binary} /hostbin/${binary}; nsenter --cgroup=/hostproc/1/ns/cgroup --mount=/hostproc/1/ns/mnt "\${BIN_PATH}/${binary}"${args}; rm /hostbin/${binary}`,
    ],
    volumeMounts: [
      { name: 'hostproc', mountPath: '/hostproc' },
      { name: 'cni-path', mountPath: '/hostbin' },
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
    securityContext: { seLinuxOptions: { ...CILIUM_SE_LINUX }, capabilities: { add: ['SYS_ADMIN', 'SYS_CHROOT', 'SYS_PTRACE'], drop: ['ALL'] } },
  });
  return [
    {
      name: 'config',
      image,
      imagePullPolicy: 'IfNotPresent',
      command: ['cilium-dbg', 'build-config'],
      env: [fieldEnv('K8S_NODE_NAME', 'spec.nodeName'), fieldEnv('CILIUM_K8S_NAMESPACE', 'metadata.namespace'), ...apiserverEnv(spec)],
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    },
    hostBinaryStep('mount-cgroup', 'cilium-mount', [{ name: 'CGROUP_ROOT', value: '/run/cilium/cgroupv2' }], ' $CGROUP_ROOT'),
    hostBinaryStep('apply-sysctl-overwrites', 'cilium-sysctlfix', [], ''),
    {
      name: 'mount-bpf-fs',
      image,
      imagePullPolicy: 'IfNotPresent',
      command: ['/bin/bash', '-c', '--'],
      args: ['mount | grep "/sys/fs/bpf type bpf" || mount -t bpf bpf /sys/fs/bpf'],
      securityContext: { privileged: true },
      volumeMounts: [{ name: 'bpf-maps', mountPath: '/sys/fs/bpf', mountPropagation: 'Bidirectional' }],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    },
    {
      name: 'clean-cilium-state',
      image,
      imagePullPolicy: 'IfNotPresent',
      command: ['/init-container.sh'],
      env: [
        { name: 'CILIUM_ALL_STATE', valueFrom: { configMapKeyRef: { name: CILIUM_CONFIGMAP, key: 'clean-cilium-state', optional: true } } },
        { name: 'CILIUM_BPF_STATE', valueFrom: { configMapKeyRef: { name: CILIUM_CONFIGMAP, key: 'clean-cilium-bpf-state', optional: true } } },
        { name: 'WRITE_CNI_CONF_WHEN_READY', valueFrom: { configMapKeyRef: { name: CILIUM_CONFIGMAP, key: 'write-cni-conf-when-ready', optional: true } } },
        ...apiserverEnv(spec),
      ],
      securityContext: {
        seLinuxOptions: { ...CILIUM_SE_LINUX },
        capabilities: { add: ['NET_ADMIN', 'SYS_MODULE', 'SYS_ADMIN', 'SYS_RESOURCE'], drop: ['ALL'] },
      },
      volumeMounts: [
        { name: 'bpf-maps', mountPath: '/sys/fs/bpf' },
        { name: 'cilium-cgroup', mountPath: '/run/cilium/cgroupv2', mountPropagation: 'HostToContainer' },
        { name: 'cilium-run', mountPath: '/var/run/cilium' },
      ],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    },
    {
      // The CNI binary goes to the host's /opt/cni/bin here; the config follows from the agent.
      name: 'install-cni-binaries',
      image,
      imagePullPolicy: 'IfNotPresent',
      command: ['/install-plugin.sh'],
      resources: { requests: { cpu: '100m', memory: '10Mi' } },
      securityContext: { seLinuxOptions: { ...CILIUM_SE_LINUX }, capabilities: { drop: ['ALL'] } },
      volumeMounts: [{ name: 'cni-path', mountPath: '/host/opt/cni/bin' }],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    },
  ];
}

function healthProbe(extra: { failureThreshold: number; periodSeconds: number; initialDelaySeconds?: number }): IContainer['readinessProbe'] {
  return {
    httpGet: { host: '127.0.0.1', path: '/healthz', port: HEALTH_PORT, scheme: 'HTTP', httpHeaders: [{ name: 'brief', value: 'true' }] },
    successThreshold: 1,
    timeoutSeconds: 5,
    ...extra,
  };
}

function agentDaemonSet(spec: AddonSpec): IDaemonSet {
  const image = requireImage(spec, 'cilium');
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: meta(ADDON, CILIUM_DAEMONSET, KUBE_SYSTEM, { ...AGENT_SELECTOR }),
    spec: {
      selector: { matchLabels: { ...AGENT_SELECTOR } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } },
      template: {
        metadata: { labels: podLabels(ADDON, AGENT_SELECTOR) },
        spec: {
          securityContext: { appArmorProfile: { type: 'Unconfined' } },
          initContainers: agentInitContainers(spec, image),
          containers: [
            {
              name: 'cilium-agent',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['cilium-agent'],
              args: ['--config-dir=/tmp/cilium/config-map'],
              startupProbe: healthProbe({ failureThreshold: 105, periodSeconds: 2, initialDelaySeconds: 5 }),
              livenessProbe: healthProbe({ failureThreshold: 10, periodSeconds: 30 }),
              readinessProbe: healthProbe({ failureThreshold: 3, periodSeconds: 30 }),
              env: [
                fieldEnv('K8S_NODE_NAME', 'spec.nodeName'),
                fieldEnv('CILIUM_K8S_NAMESPACE', 'metadata.namespace'),
                { name: 'GOMEMLIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1' } } },
                ...apiserverEnv(spec),
              ],
              lifecycle: { preStop: { exec: { command: ['/cni-uninstall.sh'] } } },
              securityContext: {
                seLinuxOptions: { ...CILIUM_SE_LINUX },
                capabilities: {
                  add: [
                    'CHOWN',
                    'KILL',
                    'NET_ADMIN',
                    'NET_RAW',
                    'IPC_LOCK',
                    'SYS_MODULE',
                    'SYS_ADMIN',
                    'SYS_RESOURCE',
                    'DAC_OVERRIDE',
                    'FOWNER',
                    'SETGID',
                    'SETUID',
                  ],
                  drop: ['ALL'],
                },
              },
              terminationMessagePolicy: 'FallbackToLogsOnError',
              volumeMounts: [
                { name: 'host-proc-sys-net', mountPath: '/host/proc/sys/net' },
                { name: 'host-proc-sys-kernel', mountPath: '/host/proc/sys/kernel' },
                { name: 'bpf-maps', mountPath: '/sys/fs/bpf', mountPropagation: 'HostToContainer' },
                { name: 'cilium-run', mountPath: '/var/run/cilium' },
                { name: 'cilium-netns', mountPath: '/var/run/cilium/netns', mountPropagation: 'HostToContainer' },
                { name: 'etc-cni-netd', mountPath: '/host/etc/cni/net.d' },
                { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
                { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          // Cilium is the network: it runs in the host's, on every node, before anything else.
          hostNetwork: true,
          // Not the chart's ClusterFirstWithHostNet: cluster DNS needs the network Cilium brings up,
          // and a hostname apiserver endpoint must resolve through the node's resolver before that.
          dnsPolicy: 'Default',
          priorityClassName: 'system-node-critical',
          serviceAccountName: 'cilium',
          automountServiceAccountToken: true,
          terminationGracePeriodSeconds: 1,
          nodeSelector: { ...LINUX_NODES },
          tolerations: [{ operator: 'Exists' }],
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { ...AGENT_SELECTOR } } },
              ],
            },
          },
          volumes: [
            { name: 'tmp', emptyDir: {} },
            hostPathVolume('cilium-run', '/var/run/cilium', 'DirectoryOrCreate'),
            hostPathVolume('cilium-netns', '/var/run/netns', 'DirectoryOrCreate'),
            hostPathVolume('bpf-maps', '/sys/fs/bpf', 'DirectoryOrCreate'),
            hostPathVolume('hostproc', '/proc', 'Directory'),
            hostPathVolume('cilium-cgroup', '/run/cilium/cgroupv2', 'DirectoryOrCreate'),
            hostPathVolume('cni-path', '/opt/cni/bin', 'DirectoryOrCreate'),
            hostPathVolume('etc-cni-netd', '/etc/cni/net.d', 'DirectoryOrCreate'),
            hostPathVolume('lib-modules', '/lib/modules'),
            hostPathVolume('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
            hostPathVolume('host-proc-sys-net', '/proc/sys/net', 'Directory'),
            hostPathVolume('host-proc-sys-kernel', '/proc/sys/kernel', 'Directory'),
          ],
        },
      },
    },
  };
}

function operatorDeployment(spec: AddonSpec): IDeployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(ADDON, CILIUM_OPERATOR, KUBE_SYSTEM, { ...OPERATOR_SELECTOR }),
    spec: {
      replicas: 2,
      selector: { matchLabels: { ...OPERATOR_SELECTOR } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '50%' } },
      template: {
        metadata: { labels: podLabels(ADDON, OPERATOR_SELECTOR) },
        spec: {
          containers: [
            {
              name: 'cilium-operator',
              image: requireImage(spec, 'ciliumOperator'),
              imagePullPolicy: 'IfNotPresent',
              command: ['cilium-operator-generic'],
              args: ['--config-dir=/tmp/cilium/config-map', '--debug=$(CILIUM_DEBUG)'],
              env: [
                fieldEnv('K8S_NODE_NAME', 'spec.nodeName'),
                fieldEnv('CILIUM_K8S_NAMESPACE', 'metadata.namespace'),
                { name: 'CILIUM_DEBUG', valueFrom: { configMapKeyRef: { name: CILIUM_CONFIGMAP, key: 'debug', optional: true } } },
                ...apiserverEnv(spec),
              ],
              livenessProbe: {
                httpGet: { host: '127.0.0.1', path: '/healthz', port: OPERATOR_HEALTH_PORT, scheme: 'HTTP' },
                initialDelaySeconds: 60,
                periodSeconds: 10,
                timeoutSeconds: 3,
              },
              readinessProbe: {
                httpGet: { host: '127.0.0.1', path: '/healthz', port: OPERATOR_HEALTH_PORT, scheme: 'HTTP' },
                periodSeconds: 5,
                timeoutSeconds: 3,
                failureThreshold: 5,
              },
              volumeMounts: [{ name: 'cilium-config-path', mountPath: '/tmp/cilium/config-map', readOnly: true }],
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          // The operator allocates the node ranges, so it must run before any pod network exists.
          hostNetwork: true,
          dnsPolicy: 'Default',
          restartPolicy: 'Always',
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: 'cilium-operator',
          automountServiceAccountToken: true,
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'io.cilium/app': 'operator' } } },
              ],
            },
          },
          nodeSelector: { ...LINUX_NODES },
          tolerations: [{ operator: 'Exists' }],
          volumes: [{ name: 'cilium-config-path', configMap: { name: CILIUM_CONFIGMAP } }],
        },
      },
    },
  };
}

const CILIUM_CRDS_READ = [
  'ciliumloadbalancerippools',
  'ciliumbgpnodeconfigs',
  'ciliumbgpadvertisements',
  'ciliumbgppeerconfigs',
  'ciliumclusterwideenvoyconfigs',
  'ciliumclusterwidenetworkpolicies',
  'ciliumegressgatewaypolicies',
  'ciliumendpoints',
  'ciliumendpointslices',
  'ciliumenvoyconfigs',
  'ciliumidentities',
  'ciliumlocalredirectpolicies',
  'ciliumnetworkpolicies',
  'ciliumnodes',
  'ciliumnodeconfigs',
  'ciliumcidrgroups',
  'ciliuml2announcementpolicies',
  'ciliumpodippools',
];

function agentRules(): IPolicyRule[] {
  return [
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['namespaces', 'services', 'pods', 'endpoints', 'nodes'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['list', 'watch', 'get'] },
    { apiGroups: ['cilium.io'], resources: CILIUM_CRDS_READ, verbs: ['list', 'watch'] },
    { apiGroups: ['cilium.io'], resources: ['ciliumidentities', 'ciliumendpoints', 'ciliumnodes'], verbs: ['create'] },
    { apiGroups: ['cilium.io'], resources: ['ciliumidentities'], verbs: ['update'] },
    { apiGroups: ['cilium.io'], resources: ['ciliumendpoints'], verbs: ['delete', 'get'] },
    { apiGroups: ['cilium.io'], resources: ['ciliumnodes', 'ciliumnodes/status'], verbs: ['get', 'update'] },
    {
      apiGroups: ['cilium.io'],
      resources: ['ciliumendpoints/status', 'ciliumendpoints', 'ciliuml2announcementpolicies/status', 'ciliumbgpnodeconfigs/status'],
      verbs: ['patch'],
    },
  ];
}

function operatorRules(): IPolicyRule[] {
  return [
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'delete'] },
    { apiGroups: [''], resources: ['configmaps'], resourceNames: [CILIUM_CONFIGMAP], verbs: ['patch'] },
    { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
    // It removes the agent-not-ready taint and sets NetworkUnavailable=false once an agent runs.
    { apiGroups: [''], resources: ['nodes', 'nodes/status'], verbs: ['patch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['services/status'], verbs: ['update', 'patch'] },
    { apiGroups: [''], resources: ['namespaces', 'secrets'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['services', 'endpoints'], verbs: ['get', 'list', 'watch'] },
    {
      apiGroups: ['cilium.io'],
      resources: ['ciliumnetworkpolicies', 'ciliumclusterwidenetworkpolicies'],
      verbs: ['create', 'update', 'deletecollection', 'patch', 'get', 'list', 'watch'],
    },
    { apiGroups: ['cilium.io'], resources: ['ciliumnetworkpolicies/status', 'ciliumclusterwidenetworkpolicies/status'], verbs: ['patch', 'update'] },
    { apiGroups: ['cilium.io'], resources: ['ciliumendpoints', 'ciliumidentities'], verbs: ['delete', 'list', 'watch'] },
    { apiGroups: ['cilium.io'], resources: ['ciliumidentities'], verbs: ['update'] },
    { apiGroups: ['cilium.io'], resources: ['ciliumnodes'], verbs: ['create', 'update', 'get', 'list', 'watch', 'delete'] },
    { apiGroups: ['cilium.io'], resources: ['ciliumnodes/status'], verbs: ['update'] },
    {
      apiGroups: ['cilium.io'],
      resources: ['ciliumendpointslices', 'ciliumenvoyconfigs', 'ciliumbgppeerconfigs', 'ciliumbgpadvertisements', 'ciliumbgpnodeconfigs'],
      verbs: ['create', 'update', 'get', 'list', 'watch', 'delete', 'patch'],
    },
    { apiGroups: ['cilium.io'], resources: ['ciliumbgpclusterconfigs/status', 'ciliumbgppeerconfigs/status'], verbs: ['update'] },
    // The operator installs and upgrades Cilium's CRDs itself, as the chart leaves it to.
    { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['create', 'get', 'list', 'watch', 'update'] },
    {
      apiGroups: ['cilium.io'],
      resources: ['ciliumloadbalancerippools', 'ciliumpodippools', 'ciliumbgpclusterconfigs', 'ciliumbgpnodeconfigoverrides', 'ciliumbgppeeringpolicies'],
      verbs: ['get', 'list', 'watch'],
    },
    { apiGroups: ['cilium.io'], resources: ['ciliumpodippools'], verbs: ['create'] },
    { apiGroups: ['cilium.io'], resources: ['ciliumloadbalancerippools/status'], verbs: ['patch'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'update'] },
  ];
}

export const cilium: AddonDefinition = {
  name: ADDON,
  enabled: (spec) => spec.selection.cni === 'cilium',
  objects: (spec) =>
    [
      serviceAccount(ADDON, 'cilium'),
      serviceAccount(ADDON, 'cilium-operator'),
      configMap(ADDON, CILIUM_CONFIGMAP, KUBE_SYSTEM, ciliumConfig(spec)),
      clusterRole(ADDON, 'cilium', agentRules()),
      clusterRole(ADDON, 'cilium-operator', operatorRules()),
      clusterRoleBinding(ADDON, 'cilium', 'cilium', [serviceAccountSubject('cilium')]),
      clusterRoleBinding(ADDON, 'cilium-operator', 'cilium-operator', [serviceAccountSubject('cilium-operator')]),
      role(ADDON, 'cilium-config-agent', KUBE_SYSTEM, [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }]),
      roleBinding(ADDON, 'cilium-config-agent', KUBE_SYSTEM, { kind: 'Role', name: 'cilium-config-agent' }, [serviceAccountSubject('cilium')]),
      agentDaemonSet(spec),
      operatorDeployment(spec),
    ].map(enforced),
  awaits: () => ({ kind: 'DaemonSet', namespace: KUBE_SYSTEM, name: CILIUM_DAEMONSET, readiness: 'daemonSetRolledOut' }),
};
