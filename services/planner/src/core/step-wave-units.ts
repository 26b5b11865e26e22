import type { Gates } from '@meshwave/contracts';
import { observeAmbient } from './ambient-waves.js';
import { observeGateways } from './gateway-waves.js';
import type { Observations, RolloutRecord, RolloutState } from './rollout-state.js';
import { ambientStepAt, gatewayStepAt } from './step-waves.js';
import { observeUnits, type UnitObservation } from './unit-observations.js';

/**
 * What wave `w` itself moves, as its gate judges it: a workload wave's units, an ambient step's clusters (one
 * observation per cluster and step, ADR 0051), a gateway step's gateways (ADR 0050).
 */
export function ownUnitsOf(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  w: number,
): UnitObservation[] {
  if (ambientStepAt(record, w) !== undefined) return observeAmbient(record, state, observations, [w]);
  if (gatewayStepAt(record, w) !== undefined) return observeGateways(record, state, observations, [w]);
  return observeUnits(record, state, observations, [w]);
}

/**
 * The gates of wave `w`. An ambient step is judged by its agents' reports (and the workload waves before it stay
 * watched), not by the metric gates: Istio's request metrics are by workload and revision, not by node, so no
 * cohort tells a node wave's traffic from the rest (ADR 0051); it would wait Inconclusive for samples never queried.
 */
export function stepWaveGates(record: RolloutRecord, w: number): Gates {
  const gates = record.spec.spec.gates;
  if (ambientStepAt(record, w) === undefined) return gates;
  const { errorRate: _errorRate, latencyP99: _latencyP99, compare: _compare, ...rest } = gates;
  return rest;
}
