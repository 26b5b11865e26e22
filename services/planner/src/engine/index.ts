export * from './rollout-state.js';
export * from './transition-table.js';
export * from './unit-observations.js';
export * from './health-source.js';
export * from './desired-state.js';
export * from './decide.js';
export * from './operator-actions.js';
export * from './rollout-record.js';
