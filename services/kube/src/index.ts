export * from './kubeconfig.js';
