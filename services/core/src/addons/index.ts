export * from './addon.js';
export * from './sequence.js';
