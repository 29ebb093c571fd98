export * from './addon.js';
export * from './sequence.js';
export * from './build.js';
export * from './spec.js';
export * from './validation.js';
export { cilium, ciliumConfig, CILIUM_CONFIGMAP, CILIUM_DAEMONSET, CILIUM_NODE_MASK_SIZE, VXLAN_OVERHEAD } from './cilium.js';
export { flannel, flannelNetConf, FLANNEL_NAMESPACE, FLANNEL_CONFIGMAP, FLANNEL_DAEMONSET, FLANNEL_CNI_CONFIG } from './flannel.js';
export { kubeProxy, kubeProxyConfiguration, kubeProxyKubeconfig } from './kube-proxy.js';
export { coredns, corefile, COREDNS_CONFIGMAP, KUBE_DNS_SERVICE } from './coredns.js';
export {
  konnectivityAgent,
  konnectivityAgentArguments,
  KONNECTIVITY_AUDIENCE,
  KONNECTIVITY_SERVER_USER,
  KONNECTIVITY_AGENT_SERVICE_ACCOUNT,
} from './konnectivity-agent.js';
export { metricsServer, metricsServerArguments } from './metrics-server.js';
export { addonLabels, NAME_LABEL, MANAGED_BY_LABEL, PART_OF_LABEL } from './common.js';
