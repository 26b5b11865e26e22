// @meshwave/cli: the `meshwave` command (bin/meshwave.js) and, for tests and embedding, its commands as functions.
export { runCli, buildProgram } from './program.js';
export { PlannerClient, PlannerClientError, ClientErrorCode } from './adapters/planner-client.js';
export { renderRolloutStatus, rolloutStatusLines } from './commands/progress-view.js';
export { LiveView, type LiveLine } from './commands/live-view.js';
export { formatSplitTable, SplitExitCode } from './commands/split-command.js';
export { fetchServiceGraphFromPrometheus, type PrometheusGraphOptions } from './adapters/prometheus-graph-source.js';
export { pinText, PinExitCode, type PinIo } from './commands/pin-command.js';
export {
  runDemo,
  demoRolloutSpec,
  playScenario,
  rolloutOutcome,
  type DemoProgress,
  type DemoScenarioRun,
  type DemoOptions,
  type DemoResult,
  type DemoSummary,
} from './demo/demo-command.js';
export {
  startEmbeddedFleet,
  DEMO_TOKEN,
  type EmbeddedFleet,
  type EmbeddedFleetOptions,
} from './demo/embedded-fleet.js';
export {
  simulatedClustersOf,
  startClusterAgents,
  startSimulatedVms,
  type SimulatedFleetWiring,
} from './demo/simulated-fleet-parts.js';
export {
  overMaxUnavailable,
  peakRestarting,
  vmHostsOnTarget,
  workloadsOnTarget,
  type OverMaxUnavailable,
} from './demo/demo-ground-truth.js';
export { PROGRESS_PREFIX, progressOf, type DemoProgressLine } from './demo/demo-progress.js';
export {
  simulatedTraffic,
  DEFAULT_SIMULATED_MESH_METRICS,
  type SimulatedMeshMetricsOptions,
} from './demo/simulated-mesh-metrics.js';
export {
  SimulatedIstioExposition,
  LATENCY_BUCKETS_MS,
  bucketSplit,
  neededLatencyBuckets,
} from './demo/simulated-istio-exposition.js';
export { DemoFleetConfig, demoWorkloadKind, demoWorkloadNames, demoWorkloadReplicas } from './demo/fleet-config.js';
export {
  createSimulatedVmFleet,
  InProcessBridgeClient,
  type SimulatedVmFleet,
  type SimulatedVmFleetOptions,
  type SimulatedVmGroupSpec,
  type SimulatedVmHost,
} from './demo/simulated-vm-fleet.js';
export { ExitCode, processIo, type CommandIo, type Terminal } from './io.js';
