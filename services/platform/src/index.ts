export * from './config.js';
export * from './logger.js';
export * from './tokens.js';
export * from './queues.js';
export * from './queue.service.js';
export * from './cluster-events.js';
export * from './metrics.js';
export * from './platform.module.js';
