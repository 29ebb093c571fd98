export * from './kubeconfig.js';
export * from './client.js';
export { MAX_SOCKETS_PER_SERVER } from './transport.js';
export * from './readiness.js';
export * from './probe.js';
export * from './cluster-credentials.js';
export * from './status-watch.js';
