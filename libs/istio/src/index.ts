export * from './revision-labels.js';
