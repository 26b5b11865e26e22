export { planRollout, cohortSize, IMPLICIT_FORCED_WAVE, type PlanOptions } from './wave-planner.js';
export { inventoryMeshOf, type MeshOf } from './mesh-of.js';
export { rolloutMeshFilter, type InMesh } from './rollout-mesh.js';
export { stableHash, saltSeed, hashWithSeed, hashParts } from './stable-hash.js';
export { compileGlob, compileGlobs, labelsMatch } from './glob.js';
export { CompiledSelector, matchesVmGroup } from './selection.js';
export { ChangeWindows, type StartDelay } from './change-windows.js';
export { formatPlanTable } from './format-table.js';
export { preflightRisks, workloadRisks } from './preflight-risks.js';
export { controlPlaneProblems, isRefused } from './control-plane-checks.js';
export {
  MAX_MINOR_JUMP,
  MAX_CONTROL_PLANE_LEAD,
  UpgradeMethod,
  parseIstioVersion,
  upgradePathVerdict,
  versionSkewVerdict,
  type IstioVersion,
  type RuleVerdict,
} from './upgrade-rules.js';
export { GATEWAY_API_STEP, gatewayStepName, planGatewaySteps, selectGateways } from './gateway-steps.js';
export { ambientStepCommand, ambientStepName, planAmbientSteps } from './ambient-steps.js';
