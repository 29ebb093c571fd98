// `cni: none`: the user brings the network plugin. Nothing is applied; the network step is ready
// once the kubelets stop reporting NetworkPluginNotReady, which is what the user's plugin fixes.
import type { AddonDefinition } from './addon.js';

export const userNetworkPlugin: AddonDefinition = {
  name: 'user-network-plugin',
  enabled: (spec) => spec.selection.cni === 'none',
  objects: () => [],
  awaits: () => ({
    readiness: 'nodesNetworkReady',
    waitingFor: 'the cluster was created with cni none; its nodes stay NotReady until a network plugin is installed',
  }),
};
