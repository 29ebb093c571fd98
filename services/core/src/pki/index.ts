export * from './keys.js';
export * from './certificates.js';
export * from './cluster-pki.js';
export * from './kubeconfig.js';
export * from './discovery.js';
