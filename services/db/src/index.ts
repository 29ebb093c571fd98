export * from './schema.js';
export * from './database.js';
export * from './repositories/identity.repository.js';
export * from './repositories/project.repository.js';
export * from './repositories/seed.repository.js';
export * from './repositories/cluster.repository.js';
export * from './repositories/node-health.repository.js';
export * from './repositories/audit.repository.js';
