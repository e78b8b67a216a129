export * from './config/index.js';
export * from './protocol/index.js';
export * from './topology/index.js';
