export * from './errors.js';
export * from './engine/index.js';
