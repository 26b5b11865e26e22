export * from './errors.js';
export * from './attributes.js';
export * from './propagation.js';
export * from './tracing.js';
export * from './logger.js';
export * from './event-loop-delay.js';
