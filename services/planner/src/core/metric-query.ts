import type { Gates } from '@meshwave/contracts';
import type { MetricQuery, MetricTarget } from './metric-samples.js';
import type { RolloutRecord, RolloutState } from './rollout-state.js';
import { desiredRevisionOf, isExcluded } from './unit-observations.js';
import { waveUnitsOf } from './wave-units.js';

/** Whether a rollout asks for gates only a metrics backend can judge; the spec paths that do. */
export function metricGatePaths(gates: Gates): string[] {
  return [...(gates.errorRate ? ['spec.gates.errorRate'] : []), ...(gates.latencyP99 ? ['spec.gates.latencyP99'] : [])];
}

/** Where the current wave's evaluation window starts: its convergence (soak start), or its dispatch. */
export function metricWindowStartOf(state: RolloutState): string | undefined {
  return state.soakStartedAt ?? state.waveDispatchedAt;
}

const EVALUATED_PHASES: ReadonlySet<string> = new Set(['Converging', 'Soaking', 'Gating']);

function targetsOf(record: RolloutRecord, state: RolloutState, waves: readonly number[]): MetricTarget[] {
  const out: MetricTarget[] = [];
  for (const w of waves) {
    for (const u of waveUnitsOf(record, state, w)) {
      if (state.excluded.length > 0 && isExcluded(u.unit, state.excluded)) continue;
      out.push({
        unit: u.unit,
        cluster: u.cluster,
        namespace: u.namespace,
        ...(u.name !== undefined ? { name: u.name } : {}),
      });
    }
  }
  return out;
}

/**
 * The metric query a reconcile needs (pure): while a wave on `to` converges, soaks or is gated, its units over
 * the window since the wave converged (or was dispatched), at most `maxWindowSeconds`; for latency, the units
 * still on `from` (waves not dispatched yet, waves failed back) as the comparison cohort.
 */
export function metricQueryOf(
  record: RolloutRecord,
  state: RolloutState,
  now: Date,
  maxWindowSeconds: number,
): MetricQuery | undefined {
  const gates = record.spec.spec.gates;
  if (!gates.errorRate && !gates.latencyP99) return undefined;
  if (state.phase !== 'Running' || state.wavePhase === undefined || !EVALUATED_PHASES.has(state.wavePhase))
    return undefined;
  const w = state.wave;
  if (record.plan.waves[w] === undefined || desiredRevisionOf(record, state, w) !== record.spec.spec.to)
    return undefined;
  const windowStart = metricWindowStartOf(state);
  if (windowStart === undefined) return undefined;
  const elapsed = Math.floor((now.getTime() - Date.parse(windowStart)) / 1000);
  const oldWaves = record.plan.waves
    .map((_, i) => i)
    .filter(
      (i) => i >= state.dispatchedWaves || (i !== w && desiredRevisionOf(record, state, i) !== record.spec.spec.to),
    );
  const current = targetsOf(record, state, [w]);
  const old = gates.latencyP99 ? targetsOf(record, state, oldWaves) : [];
  const beforeDispatch = gates.latencyP99 !== undefined && old.length === 0 && state.waveDispatchedAt !== undefined;
  return {
    rolloutId: record.id,
    wave: w,
    windowStart,
    windowSeconds: Math.max(0, Math.min(maxWindowSeconds, elapsed)),
    current,
    baseline: beforeDispatch ? current : old,
    ...(beforeDispatch ? { baselineAt: state.waveDispatchedAt } : {}),
    errorRate: gates.errorRate !== undefined,
    latency: gates.latencyP99 !== undefined,
  };
}
