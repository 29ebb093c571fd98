// The associated data each sealed column uses. One place, so a reader and a writer of the
// same secret cannot disagree.
export const sealingContext = {
  seedKubeconfig: (seedId: string) => `seeds:${seedId}:kubeconfig`,
  providerCredential: (credentialId: string) => `provider_credentials:${credentialId}`,
  clusterSecrets: (clusterId: string) => `clusters:${clusterId}:secrets`,
  poolBootstrapToken: (poolId: string) => `node_pools:${poolId}:bootstrap_token`,
  poolSshPrivateKey: (poolId: string) => `node_pools:${poolId}:ssh_private_key`,
};
