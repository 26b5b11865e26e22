export * from './revision-labels.js';
export * from './control-planes.js';
export * from './revision-tag-webhook.js';
export * from './gateways.js';
export * from './mesh-discovery.js';
export * from './ambient.js';
