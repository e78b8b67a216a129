export * from './ConfigSchema.js';
