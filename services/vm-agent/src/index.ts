// @meshwave/vm-agent: the host daemon that keeps one VM's istio-proxy on the version the vm-bridge says
// (`meshwave-vm-agent`), and its parts for embedding (the demo's simulated fleet, tests).
export * from './errors.js';
export { VmAgent, type VmAgentOptions } from './runtime/vm-agent.js';
export { AgentStep, DEFAULT_AGENT_SETTINGS, type VmAgentSettings } from './runtime/agent-settings.js';
export { hashToken, newHostToken } from './runtime/host-token.js';
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
} from './adapters/proxy-runner.js';
export { HttpBridgeClient, type BridgeClient } from './adapters/bridge-client.js';
export { BundleStore, BUNDLE_MARKER, untar, type BundleUnpacker } from './adapters/bundle-store.js';
export { immediateHostFiles, nodeHostFiles, type HostFileHandle, type HostFiles } from './adapters/host-files.js';
export {
  JournalPhase,
  readJournal,
  writeJournal,
  type AgentJournal,
  type InstalledVersion,
} from './adapters/agent-journal.js';
export { VmAgentConfig, loadAgentConfig } from './config/agent-config.js';
