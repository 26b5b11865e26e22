// @meshwave/cli: the `meshwave` command (bin/meshwave.js) and, for tests and embedding, its commands as functions.
export { runPlanCommand } from './plan-command.js';
export { runPinCommand, pinText, PinExitCode, type PinIo } from './commands/pin-command.js';
export { operatorAction, runApplyCommand, runFleetCommand, runStatusCommand } from './operator-commands.js';
export { PlannerClient, PlannerClientError, ClientErrorCode } from './planner-client.js';
export { renderRolloutStatus } from './progress-view.js';
export {
  runDemo,
  runDemoCommand,
  demoRolloutSpec,
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
export { DemoFleetConfig } from './demo/fleet-config.js';
export { ExitCode, processIo, type CommandIo } from './io.js';
