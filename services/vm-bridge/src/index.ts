// @meshwave/vm-bridge: the VM bridge (batches of hosts within maxUnavailable, health-gated, reverting) and its
// host API. The host daemon is @meshwave/vm-agent; the demo's simulated fleet lives in the CLI.
export * from './errors.js';
export * from './core/batch-decision.js';
export { groupProgress } from './core/group-progress.js';
export { createBridgeMetrics, type BridgeMetrics } from './metrics/bridge-metrics.js';
export {
  staticBundleCatalog,
  bundleCatalogFromDirectory,
  sha256OfFile,
  type BundleCatalog,
} from './adapters/bundle-catalog.js';
export { hashToken } from './runtime/host-token.js';
export { DEFAULT_BRIDGE_SETTINGS, type VmGroupConfig, type BridgeSettings } from './config/bridge-settings.js';
export { VmBridge, type VmBridgeOptions } from './runtime/vm-bridge.js';
export type { CommandOutcome } from './runtime/command-intake.js';
export type { DesiredAnswer } from './runtime/long-poll.js';
export { buildApp, type BuildAppOptions } from './http/app.js';
