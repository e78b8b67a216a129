export * from './api.js';
export * from './codec.js';
export * from './errors.js';
export * from './messages.js';
export * from './closeCodes.js';
export * from './permissions.js';
export * from './roles.js';
export * from './wire.js';
