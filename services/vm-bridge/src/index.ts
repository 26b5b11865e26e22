// @meshwave/vm-bridge: the VM bridge (batches of hosts within maxUnavailable, health-gated, reverting) and
// the vm-agent host daemon, plus an in-process simulated fleet for the embedded demo.
export * from './errors.js';
export * from '@meshwave/contracts';
export * from './batch-decision.js';
export { groupProgress } from './group-progress.js';
export { createBridgeMetrics, type BridgeMetrics } from './bridge-metrics.js';
export { staticBundleCatalog, bundleCatalogFromDirectory, sha256OfFile, type BundleCatalog } from './bundle-catalog.js';
export { hashToken, newHostToken } from './host-token.js';
export {
  VmBridge,
  DEFAULT_BRIDGE_SETTINGS,
  type VmBridgeOptions,
  type VmGroupConfig,
  type BridgeSettings,
  type CommandOutcome,
  type DesiredAnswer,
} from './vm-bridge.js';
export { buildApp, type BuildAppOptions } from './app.js';
export {
  createSimulatedVmFleet,
  InProcessBridgeClient,
  type SimulatedVmFleet,
  type SimulatedVmFleetOptions,
  type SimulatedVmGroupSpec,
  type SimulatedVmHost,
} from './simulated-fleet.js';
export {
  VmAgent,
  AgentStep,
  DEFAULT_AGENT_SETTINGS,
  type VmAgentOptions,
  type VmAgentSettings,
} from './vm-agent/vm-agent.js';
export {
  ChildProcessProxyRunner,
  SystemdProxyRunner,
  SimulatedProxyRunner,
  HttpReadinessProbe,
  waitReady,
  type ProxyRunner,
  type ReadinessProbe,
  type ReadinessResult,
  type SimulatedProxyFaults,
} from './vm-agent/proxy-runner.js';
export { HttpBridgeClient, type BridgeClient } from './vm-agent/bridge-client.js';
export { BundleStore, BUNDLE_MARKER } from './vm-agent/bundle-store.js';
export { JournalPhase, readJournal, type AgentJournal, type InstalledVersion } from './vm-agent/agent-journal.js';
export { VmAgentConfig, loadAgentConfig } from './vm-agent/agent-config.js';
