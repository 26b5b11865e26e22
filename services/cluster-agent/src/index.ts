export * from './errors.js';
export * from './ports/kubernetes-port.js';
// Istio's label rules live in @meshwave/istio; re-exported by name so the agent's public API stays as it was.
export {
  DEFAULT_REVISION_TAG,
  IstioAnnotation,
  IstioLabel,
  MeshwaveAnnotation,
  MeshwaveLabel,
  PROTECTED_NAMESPACES,
  PROXY_CONTAINER,
  imageTag,
  injectedRevisionOf,
  lastRestartOf,
  optsOutOfInjection,
  proxyVersionOfRevision,
  revisionForcedByNamespace,
  type TemplateRestart,
} from '@meshwave/istio';
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
  type NodeChangeHandler,
  type SimulatedAmbient,
  type SimulatedAmbientConfig,
  type SimulatedNodeAgentSpec,
  type SimulatedNodeSpec,
  type SimulatedWaypointSpec,
} from './adapters/simulated-cluster.js';
export * from './core/converge-decisions.js';
export * from './core/command-ledger.js';
export { AgentMetrics } from './metrics/agent-metrics.js';
export {
  createClusterAgent,
  AGENT_VERSION,
  DEFAULT_INTERVALS,
  type AgentIntervals,
  type AssignmentSource,
  type ClusterAgent,
  type ClusterAgentOptions,
  type UnitStatus,
} from './runtime/cluster-agent.js';
export { kubernetesPortScenarios, type PortScenario, type PortScenarioFixture } from './ports/port-scenarios.js';
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
} from './http/admission-webhook.js';
export { diffJsonPatch, type JsonPatchOperation } from './core/json-patch.js';
export {
  createKubernetesClient,
  loadKubeConfig,
  toNamespaceView,
  toPodView,
  toWorkloadView,
  type KubernetesClient,
  type KubernetesClientOptions,
} from './adapters/kubernetes-client.js';
export { TokenBucket } from './adapters/token-bucket.js';
export { startLeaderElection, type LeaderElection, type LeaderElectionOptions } from './runtime/leader-election.js';
export { parseAgentConfig, AGENT_USAGE, type AgentConfig } from './config/agent-config.js';
export { startAgentProcess, type AgentProcess } from './runtime/agent-process.js';
export * from './ports/gateway-port.js';
export {
  canaryCopyBody,
  isGatewayDeployment,
  nextGatewayAction,
  type DeploymentObject,
  type GatewaySide,
  type GatewayStepAction,
  type GatewayStepTarget,
} from './core/gateway-step.js';
export {
  reconcileGatewayStep,
  runGatewayStep,
  type GatewayCanaryPort,
  type GatewayStepOutcome,
  type RunGatewayStepOptions,
} from './runtime/gateway-canary.js';
export * from './ports/ambient-port.js';
export { AmbientNodeAnnotation, decideNode, stepMark, type NodeAction, type NodeMove } from './core/node-step.js';
export { NodeState, nodeWavePass, runNodeWave, type NodeProgress, type NodeWave } from './runtime/node-wave.js';
export { waypointPass, type WaypointProgress } from './runtime/waypoint-move.js';
export { readAmbient } from './runtime/ambient-reader.js';
