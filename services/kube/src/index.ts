export * from './kubeconfig.js';
export * from './client.js';
export * from './readiness.js';
export * from './probe.js';
export * from './cluster-credentials.js';
