import { WavePhase, type Gates } from '@meshwave/contracts';
import { LATENCY_SAMPLE_LIMIT, latencySampleOf } from './latency-sample.js';
import type { MetricQuery, MetricTarget } from './metric-samples.js';
import type { RolloutRecord, RolloutState } from './rollout-state.js';
import { desiredRevisionOf, isExcluded } from './unit-observations.js';
import { waveUnitsOf, type ParsedUnit } from './wave-units.js';
import { gatewayMetricQueryOf } from './gateway-metrics.js';
import { waveInfoOf } from './step-waves.js';

/** Whether a rollout asks for gates only a metrics backend can judge; the spec paths that do. */
export function metricGatePaths(gates: Gates): string[] {
  return [...(gates.errorRate ? ['spec.gates.errorRate'] : []), ...(gates.latencyP99 ? ['spec.gates.latencyP99'] : [])];
}

/** Where the current wave's evaluation window starts: its convergence (soak start), or its dispatch. */
export function metricWindowStartOf(state: RolloutState): string | undefined {
  return state.soakStartedAt ?? state.waveDispatchedAt;
}

const EVALUATED_PHASES: ReadonlySet<string> = new Set(['Converging', 'Soaking', 'Gating']);

/** The targets of some waves, as last built for a record: reused while the waves' units and exclusions are the same. */
interface BuiltTargets {
  readonly units: readonly (readonly ParsedUnit[])[];
  readonly excluded: readonly string[];
  readonly targets: readonly MetricTarget[];
  /** `latencySampleOf(targets)`, built with them */
  readonly sample: readonly MetricTarget[];
}

// A reconcile runs for every report on a large fleet, and the baseline cohort is every unit not yet moved (90,000
// at the start of a 100,000-unit rollout): the targets are built once per change of the waves' units (a plan, a
// membership change) or of the exclusions, not once per reconcile (issue 15). Keyed by the wave list.
const builtTargets = new WeakMap<RolloutRecord, Map<string, BuiltTargets>>();

const sameItems = <T>(a: readonly T[], b: readonly T[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

type Cohort = Pick<BuiltTargets, 'targets' | 'sample'>;

function targetsOf(record: RolloutRecord, state: RolloutState, waves: readonly number[]): Cohort {
  const units = waves.map((w) => waveUnitsOf(record, state, w));
  let byWaves = builtTargets.get(record);
  if (byWaves === undefined) builtTargets.set(record, (byWaves = new Map()));
  const key = waves.join(',');
  const built = byWaves.get(key);
  if (built !== undefined && sameItems(built.units, units) && sameItems(built.excluded, state.excluded)) return built;
  const targets = buildTargets(units, state.excluded);
  const next = { units, excluded: state.excluded, targets, sample: latencySampleOf(targets) };
  byWaves.set(key, next);
  return next;
}

function buildTargets(waves: readonly (readonly ParsedUnit[])[], excluded: readonly string[]): MetricTarget[] {
  const out: MetricTarget[] = [];
  for (const wave of waves) {
    for (const u of wave) {
      if (excluded.length > 0 && isExcluded(u.unit, excluded)) continue;
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
 * still on `from` (waves not dispatched yet, waves failed back) as the comparison cohort. The p99 of each cohort is
 * asked of a stable sample of at most `LATENCY_SAMPLE_LIMIT` units; requests and 5xx of every unit of the wave.
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
  const windowStart = metricWindowStartOf(state);
  if (windowStart === undefined) return undefined;
  const elapsed = Math.floor((now.getTime() - Date.parse(windowStart)) / 1000);
  const windowSeconds = Math.max(0, Math.min(maxWindowSeconds, elapsed));
  const query =
    record.plan.waves[w] === undefined
      ? gatewayMetricQueryOf(record, state, windowStart, windowSeconds)
      : waveMetricQueryOf(record, state, windowStart, windowSeconds);
  if (query === undefined) return undefined;
  const judgedFrom = judgedFromOf(record, state);
  return judgedFrom === undefined ? query : { ...query, judgedFrom };
}

/**
 * From when a sample may decide the current wave's final verdict (`MetricQuery.judgedFrom`): the soak's end while
 * it soaks or is gated, or the retry of a final verdict that could not judge, whichever is later.
 */
export function judgedFromOf(record: RolloutRecord, state: RolloutState): string | undefined {
  if (state.wavePhase !== WavePhase.Soaking && state.wavePhase !== WavePhase.Gating) return undefined;
  if (state.soakStartedAt === undefined) return undefined;
  const soakEnd = Date.parse(state.soakStartedAt) + (waveInfoOf(record, state.wave)?.soakSeconds ?? 0) * 1000;
  const retry = state.gateRetryAt !== undefined ? Date.parse(state.gateRetryAt) : soakEnd;
  return new Date(Math.max(soakEnd, retry)).toISOString();
}

function waveMetricQueryOf(
  record: RolloutRecord,
  state: RolloutState,
  windowStart: string,
  windowSeconds: number,
): MetricQuery | undefined {
  const gates = record.spec.spec.gates;
  const w = state.wave;
  if (desiredRevisionOf(record, state, w) !== record.spec.spec.to) return undefined;
  const oldWaves = record.plan.waves
    .map((_, i) => i)
    .filter(
      (i) => i >= state.dispatchedWaves || (i !== w && desiredRevisionOf(record, state, i) !== record.spec.spec.to),
    );
  const current = targetsOf(record, state, [w]);
  const old: Cohort = gates.latencyP99 ? targetsOf(record, state, oldWaves) : { targets: [], sample: [] };
  const beforeDispatch =
    gates.latencyP99 !== undefined && old.targets.length === 0 && state.waveDispatchedAt !== undefined;
  const baseline = beforeDispatch ? current : old;
  return {
    rolloutId: record.id,
    wave: w,
    windowStart,
    windowSeconds,
    current: current.targets,
    latencyCurrent: current.sample,
    baseline: baseline.sample,
    latencySample: { limit: LATENCY_SAMPLE_LIMIT, current: current.targets.length, baseline: baseline.targets.length },
    ...(beforeDispatch ? { baselineAt: state.waveDispatchedAt } : {}),
    errorRate: gates.errorRate !== undefined,
    latency: gates.latencyP99 !== undefined,
  };
}
