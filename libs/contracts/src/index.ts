export * from './errors.js';
export * from './primitives.js';
export * from './rollout-spec.js';
export * from './inventory.js';
export * from './plan.js';
export * from './messages.js';
export * from './parse.js';
export * from './api.js';
