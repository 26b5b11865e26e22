export * from './errors.js';
export * from './kubernetes-port.js';
export * from './revision-labels.js';
export {
  createSimulatedCluster,
  type AdmissionPod,
  type FaultTarget,
  type PodAdmission,
  type SimulatedCluster,
  type SimulatedClusterConfig,
  type SimulatedClusterStats,
  type SimulatedFaults,
  type SimulatedNamespaceSpec,
  type SimulatedWorkloadSpec,
} from './simulated-cluster.js';
export * from './converge-decisions.js';
export * from './command-ledger.js';
export { AgentMetrics } from './agent-metrics.js';
export {
  createClusterAgent,
  AGENT_VERSION,
  DEFAULT_INTERVALS,
  type AgentIntervals,
  type AssignmentSource,
  type ClusterAgent,
  type ClusterAgentOptions,
  type UnitStatus,
} from './cluster-agent.js';
export { kubernetesPortScenarios, type PortScenario, type PortScenarioFixture } from './port-scenarios.js';
export {
  mutate,
  podOwner,
  reviewAdmission,
  startWebhookServer,
  webhookConfiguration,
  simulatedAdmission,
  WEBHOOK_CONFIGURATION_NAME,
  type AdmissionTarget,
  type AdmittedObject,
  type WebhookServer,
  type WebhookServerOptions,
} from './admission-webhook.js';
export { diffJsonPatch, type JsonPatchOperation } from './json-patch.js';
export {
  createKubernetesClient,
  loadKubeConfig,
  toNamespaceView,
  toPodView,
  toWorkloadView,
  type KubernetesClient,
  type KubernetesClientOptions,
} from './kubernetes-client.js';
export { TokenBucket } from './token-bucket.js';
export { startLeaderElection, type LeaderElection, type LeaderElectionOptions } from './leader-election.js';
export {
  runPinCommand,
  pinText,
  pinDocument,
  assignmentFromPlan,
  PinExitCode,
  type PinIo,
  type PinAssignment,
  type PinChange,
} from './pin-command.js';
export { parseAgentConfig, AGENT_USAGE, type AgentConfig } from './agent-config.js';
export { startAgentProcess, type AgentProcess } from './agent-process.js';
