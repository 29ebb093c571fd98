// flannel as its upstream kube-flannel.yml installs it: a VXLAN overlay over the per-node
// ranges the controller-manager allocates from the pod CIDR (`--allocate-node-cidrs`, /24 each).
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { AddonDefinition, AddonSpec } from './addon.js';
import {
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
  serviceAccount,
  serviceAccountSubject,
} from './common.js';

const ADDON = 'flannel';
export const FLANNEL_NAMESPACE = 'kube-flannel';
export const FLANNEL_CONFIGMAP = 'kube-flannel-cfg';
export const FLANNEL_DAEMONSET = 'kube-flannel-ds';
export const FLANNEL_CNI_CONFIG = '/etc/cni/net.d/10-flannel.conflist';
const SELECTOR = { app: 'flannel', 'k8s-app': 'flannel' };

/** `net-conf.json`: the whole pod CIDR, VXLAN, and the pod MTU when the cluster sets one. */
export function flannelNetConf(spec: AddonSpec): Record<string, unknown> {
  return {
    Network: spec.podCidr,
    EnableNFTables: false,
    Backend: { Type: 'vxlan', ...(spec.mtu === undefined ? {} : { MTU: spec.mtu }) },
  };
}

function cniConf(): Record<string, unknown> {
  return {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

function namespace(): INamespace {
  // flanneld needs NET_ADMIN and host paths, which the restricted and baseline levels refuse.
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: meta(ADDON, FLANNEL_NAMESPACE, undefined, { 'k8s-app': 'flannel', 'pod-security.kubernetes.io/enforce': 'privileged' }),
  };
}

function daemonSet(spec: AddonSpec): IDaemonSet {
  const flannelImage = requireImage(spec, 'flannel');
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: meta(ADDON, FLANNEL_DAEMONSET, FLANNEL_NAMESPACE, SELECTOR),
    spec: {
      selector: { matchLabels: { app: 'flannel' } },
      template: {
        metadata: { labels: podLabels(ADDON, SELECTOR) },
        spec: {
          nodeSelector: { ...LINUX_NODES },
          hostNetwork: true,
          priorityClassName: 'system-node-critical',
          // It has to run on NotReady nodes: it is what makes them Ready.
          tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
          serviceAccountName: 'flannel',
          initContainers: [
            {
              name: 'install-cni-plugin',
              image: requireImage(spec, 'flannelCniPlugin'),
              command: ['cp'],
              args: ['-f', '/flannel', '/opt/cni/bin/flannel'],
              volumeMounts: [{ name: 'cni-plugin', mountPath: '/opt/cni/bin' }],
            },
            {
              name: 'install-cni',
              image: flannelImage,
              command: ['cp'],
              args: ['-f', '/etc/kube-flannel/cni-conf.json', FLANNEL_CNI_CONFIG],
              volumeMounts: [
                { name: 'cni', mountPath: '/etc/cni/net.d' },
                { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
              ],
            },
          ],
          containers: [
            {
              name: 'kube-flannel',
              image: flannelImage,
              command: ['/opt/bin/flanneld'],
              args: ['--ip-masq', '--kube-subnet-mgr'],
              resources: { requests: { cpu: '100m', memory: '50Mi' } },
              securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
              env: [
                fieldEnv('POD_NAME', 'metadata.name'),
                fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
                { name: 'CONT_WHEN_CACHE_NOT_READY', value: 'false' },
              ],
              volumeMounts: [
                { name: 'run', mountPath: '/run/flannel' },
                { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
                { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
              ],
            },
          ],
          volumes: [
            hostPathVolume('run', '/run/flannel'),
            hostPathVolume('cni-plugin', '/opt/cni/bin'),
            hostPathVolume('cni', '/etc/cni/net.d'),
            { name: 'flannel-cfg', configMap: { name: FLANNEL_CONFIGMAP } },
            hostPathVolume('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
          ],
        },
      },
    },
  };
}

export const flannel: AddonDefinition = {
  name: ADDON,
  enabled: (spec) => spec.selection.cni === 'flannel',
  objects: (spec) =>
    [
      namespace(),
      serviceAccount(ADDON, 'flannel', FLANNEL_NAMESPACE, SELECTOR),
      clusterRole(
        ADDON,
        'flannel',
        [
          { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
          { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
        ],
        SELECTOR,
      ),
      clusterRoleBinding(ADDON, 'flannel', 'flannel', [serviceAccountSubject('flannel', FLANNEL_NAMESPACE)]),
      configMap(
        ADDON,
        FLANNEL_CONFIGMAP,
        FLANNEL_NAMESPACE,
        { 'cni-conf.json': JSON.stringify(cniConf(), null, 2), 'net-conf.json': JSON.stringify(flannelNetConf(spec), null, 2) },
        SELECTOR,
      ),
      daemonSet(spec),
    ].map(enforced),
  awaits: () => ({ kind: 'DaemonSet', namespace: FLANNEL_NAMESPACE, name: FLANNEL_DAEMONSET, readiness: 'daemonSetRolledOut' }),
};
