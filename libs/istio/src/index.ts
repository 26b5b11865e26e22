export * from './revision-labels.js';
export * from './control-planes.js';
