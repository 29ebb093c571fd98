// kube-proxy as `kubeadm init` installs it (its addon/proxy phase), so a node's unmodified
// kubeadm and kubectl tooling find the objects they expect. Cilium replaces it.
import { stringify } from 'yaml';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { AddonDefinition, AddonSpec } from './addon.js';
import {
  KUBE_SYSTEM,
  LINUX_NODES,
  clusterRoleBinding,
  configMap,
  enforced,
  fieldEnv,
  groupSubject,
  hostPathVolume,
  meta,
  podLabels,
  requireImage,
  role,
  roleBinding,
  serviceAccount,
  serviceAccountSubject,
} from './common.js';

const ADDON = 'kube-proxy';
const SELECTOR = { 'k8s-app': 'kube-proxy' };
const CONFIG_DIR = '/var/lib/kube-proxy';
/** The group `kubeadm join` authenticates as; kubeadm lets it read the kube-proxy ConfigMap. */
const BOOTSTRAPPERS_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export function kubeProxyConfiguration(spec: AddonSpec): Record<string, unknown> {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    bindAddress: '0.0.0.0',
    clientConnection: { kubeconfig: `${CONFIG_DIR}/kubeconfig.conf` },
    clusterCIDR: spec.podCidr,
    mode: 'iptables',
  };
}

/**
 * The external endpoint, not the `kubernetes` Service: kube-proxy is what makes Services work,
 * so it cannot depend on one. The in-cluster token and CA authenticate it, as kubeadm's does.
 */
export function kubeProxyKubeconfig(spec: AddonSpec): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'default', cluster: { 'certificate-authority': `${SA_DIR}/ca.crt`, server: `https://${spec.apiserver.host}:${spec.apiserver.port}` } }],
    contexts: [{ name: 'default', context: { cluster: 'default', namespace: 'default', user: 'default' } }],
    'current-context': 'default',
    users: [{ name: 'default', user: { tokenFile: `${SA_DIR}/token` } }],
  };
}

function daemonSet(spec: AddonSpec): IDaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: meta(ADDON, 'kube-proxy', KUBE_SYSTEM, SELECTOR),
    spec: {
      selector: { matchLabels: { ...SELECTOR } },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: podLabels(ADDON, SELECTOR) },
        spec: {
          priorityClassName: 'system-node-critical',
          hostNetwork: true,
          serviceAccountName: 'kube-proxy',
          nodeSelector: { ...LINUX_NODES },
          tolerations: [{ operator: 'Exists' }],
          containers: [
            {
              name: 'kube-proxy',
              image: requireImage(spec, 'kubeProxy'),
              imagePullPolicy: 'IfNotPresent',
              command: ['/usr/local/bin/kube-proxy', `--config=${CONFIG_DIR}/config.conf`, '--hostname-override=$(NODE_NAME)'],
              env: [fieldEnv('NODE_NAME', 'spec.nodeName')],
              securityContext: { privileged: true },
              volumeMounts: [
                { name: 'kube-proxy', mountPath: CONFIG_DIR },
                { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'kube-proxy', configMap: { name: 'kube-proxy' } },
            hostPathVolume('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
            hostPathVolume('lib-modules', '/lib/modules'),
          ],
        },
      },
    },
  };
}

export const kubeProxy: AddonDefinition = {
  name: ADDON,
  // Cilium runs with its kube-proxy replacement; two service implementations would fight over the same traffic.
  enabled: (spec) => spec.selection.cni !== 'cilium',
  objects: (spec) =>
    [
      serviceAccount(ADDON, 'kube-proxy'),
      clusterRoleBinding(ADDON, 'kubeadm:node-proxier', 'system:node-proxier', [serviceAccountSubject('kube-proxy')]),
      role(ADDON, 'kube-proxy', KUBE_SYSTEM, [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['kube-proxy'], verbs: ['get'] }]),
      roleBinding(ADDON, 'kube-proxy', KUBE_SYSTEM, { kind: 'Role', name: 'kube-proxy' }, [groupSubject(BOOTSTRAPPERS_GROUP)]),
      configMap(
        ADDON,
        'kube-proxy',
        KUBE_SYSTEM,
        { 'config.conf': stringify(kubeProxyConfiguration(spec)), 'kubeconfig.conf': stringify(kubeProxyKubeconfig(spec)) },
        { app: 'kube-proxy' },
      ),
      daemonSet(spec),
    ].map(enforced),
  awaits: () => ({ kind: 'DaemonSet', namespace: KUBE_SYSTEM, name: 'kube-proxy', readiness: 'daemonSetRolledOut' }),
};
