// @meshwave/reconcile: the plumbing every service reconciles with, written once: the injected clock and the
// de-duplicating key queue (controller-runtime's workqueue contract).
export * from './clock.js';
export * from './key-queue.js';
export * from './level-report.js';
export * from './report-chain.js';
