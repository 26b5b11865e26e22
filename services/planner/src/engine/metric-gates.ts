// Metric gates (`gates.errorRate`, `gates.latencyP99`, `gates.compare`): pure judgements of samples an adapter
// fetched from Prometheus (Istio's standard istio_requests_total and istio_request_duration_milliseconds).
// No data, too little data or data for another window is Inconclusive, never a pass.
import { GateOutcome, GateReason, type Gates } from '@meshwave/contracts';
import type { GateRequest, HealthSource, SourceVerdict } from './health-source.js';
import { mannWhitneyGreater, smallestPValue } from './mann-whitney.js';
import type { RolloutRecord, RolloutState } from './rollout-state.js';
import { desiredRevisionOf, isExcluded, parsedUnitsOf } from './unit-observations.js';

/** What Istio reported for one workload over the evaluation window. */
export interface WorkloadTraffic {
  /** `cluster/namespace/name`; the cluster is empty when the backend has no cluster label */
  readonly workload: string;
  /** requests the workload received (reporter=destination) */
  readonly requests: number;
  /** of which answered 5xx */
  readonly errors: number;
  /** p99 latency in ms from the request-duration histogram; absent without histogram data */
  readonly p99Ms?: number;
  /** the rollout unit it belongs to (`cluster/namespace[/kind/name]`), named in a failed verdict */
  readonly unit?: string;
}

/** Samples of one wave's evaluation window, as the adapter fetched them. */
export interface MetricSamples {
  readonly wave: number;
  /** the window starts here (the wave's convergence, or dispatch while it converges) */
  readonly windowStart: string;
  readonly windowSeconds: number;
  /** the wave's workloads: the new-revision cohort */
  readonly current: readonly WorkloadTraffic[];
  /** comparable workloads still on `from`: the old-revision cohort */
  readonly baseline: readonly WorkloadTraffic[];
  /** set when the baseline is the wave's own workloads in the window before its dispatch (no unit left on `from`) */
  readonly baselineAt?: string;
}

export const MetricObservationKind = {
  Samples: 'samples',
  Unavailable: 'unavailable',
  NotConfigured: 'not-configured',
} as const;

/** What the adapter hands the engine for the current wave. */
export type MetricObservation =
  | { readonly kind: typeof MetricObservationKind.Samples; readonly samples: MetricSamples }
  | {
      readonly kind: typeof MetricObservationKind.Unavailable;
      readonly wave: number;
      /** stable error code, e.g. PROMETHEUS_UNREACHABLE */
      readonly code: string;
      readonly message: string;
    }
  | { readonly kind: typeof MetricObservationKind.NotConfigured };

export interface MetricGateOptions {
  /** requests to the wave's workloads in the window below which the error ratio says nothing yet */
  readonly minRequests: number;
  /** requests a workload needs in the window for its p99 to count in a latency cohort */
  readonly minWorkloadRequests: number;
}

export const DEFAULT_METRIC_GATE_OPTIONS: MetricGateOptions = { minRequests: 100, minWorkloadRequests: 20 };

/** Whether a rollout asks for gates only a metrics backend can judge; the spec paths that do. */
export function metricGatePaths(gates: Gates): string[] {
  return [...(gates.errorRate ? ['spec.gates.errorRate'] : []), ...(gates.latencyP99 ? ['spec.gates.latencyP99'] : [])];
}

/** A workload or namespace whose traffic the adapter fetches. */
export interface MetricTarget {
  /** the unit key, `cluster/namespace[/kind/name]` */
  readonly unit: string;
  readonly cluster: string;
  readonly namespace: string;
  /** absent: every workload of the namespace (namespace granularity) */
  readonly name?: string;
}

/** The samples an adapter hands in for `query`: its wave and window, with the traffic it fetched per cohort. */
export function metricSamplesFor(
  query: MetricQuery,
  current: readonly WorkloadTraffic[],
  baseline: readonly WorkloadTraffic[],
): MetricObservation {
  return {
    kind: MetricObservationKind.Samples,
    samples: {
      wave: query.wave,
      windowStart: query.windowStart,
      windowSeconds: query.windowSeconds,
      current,
      baseline,
      ...(query.baselineAt !== undefined ? { baselineAt: query.baselineAt } : {}),
    },
  };
}

/** What the adapter must fetch for a rollout now, or undefined when no metric gate is being evaluated. */
export interface MetricQuery {
  readonly rolloutId: string;
  readonly wave: number;
  readonly windowStart: string;
  readonly windowSeconds: number;
  readonly current: readonly MetricTarget[];
  /** only when `gates.latencyP99` is asked */
  readonly baseline: readonly MetricTarget[];
  /**
   * Evaluate the baseline at this instant instead of now: the last wave leaves no unit on `from`, so its own
   * workloads in the window before its dispatch are the old-revision cohort.
   */
  readonly baselineAt?: string;
  readonly errorRate: boolean;
  readonly latency: boolean;
}

/** Where the current wave's evaluation window starts: its convergence (soak start), or its dispatch. */
export function metricWindowStartOf(state: RolloutState): string | undefined {
  return state.soakStartedAt ?? state.waveDispatchedAt;
}

const EVALUATED_PHASES: ReadonlySet<string> = new Set(['Converging', 'Soaking', 'Gating']);

function targetsOf(record: RolloutRecord, state: RolloutState, waves: readonly number[]): MetricTarget[] {
  const out: MetricTarget[] = [];
  for (const w of waves) {
    const planned = record.plan.waves[w];
    if (planned === undefined) continue;
    for (const u of parsedUnitsOf(planned)) {
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

// ---- judging ----

const PASS_SILENTLY: SourceVerdict = {
  outcome: GateOutcome.Successful,
  reason: GateReason.NothingToMove,
  message: '',
  failed: [],
};

function pct(ratio: number): string {
  const v = ratio * 100;
  return `${v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2)}%`;
}

function ms(v: number): string {
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}ms`;
}

function list(items: readonly string[], max = 5): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** `cluster/ns/name` → `ns/name` (with the cluster when there is one: `cluster/ns/name`). */
function label(workload: string): string {
  return workload.startsWith('/') ? workload.slice(1) : workload;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Judged {
  readonly verdict: SourceVerdict;
}

/**
 * The samples the request may be judged on, or the verdict when there are none: a watch (not final) never
 * blocks on missing metrics, the final evaluation waits (Inconclusive) or reports the backend's error.
 */
function usableSamples(request: GateRequest, what: string): MetricSamples | Judged {
  const m = request.metrics;
  if (m === undefined || m.kind === MetricObservationKind.NotConfigured) {
    if (!request.final) return { verdict: PASS_SILENTLY };
    return {
      verdict: {
        outcome: GateOutcome.Inconclusive,
        reason: GateReason.MetricsNotConfigured,
        message: `${what} needs Prometheus and this planner has none configured (MESHWAVE_PROMETHEUS_URL); the wave waits`,
        failed: [],
      },
    };
  }
  if (m.kind === MetricObservationKind.Unavailable) {
    if (!request.final || m.wave !== request.wave) return { verdict: PASS_SILENTLY };
    return {
      verdict: {
        outcome: GateOutcome.Error,
        reason: GateReason.MetricsUnavailable,
        message: `${what}: metrics unavailable (${m.code}): ${m.message}`,
        failed: [],
      },
    };
  }
  const s = m.samples;
  const sameWindow = s.wave === request.wave && s.windowStart === request.metricWindowStart;
  if (!sameWindow) {
    if (!request.final) return { verdict: PASS_SILENTLY };
    return {
      verdict: {
        outcome: GateOutcome.Inconclusive,
        reason: GateReason.MetricsInsufficient,
        message: `${what}: no samples yet for the window since ${request.metricWindowStart ?? 'the wave started'}`,
        failed: [],
      },
    };
  }
  return s;
}

function insufficient(request: GateRequest, message: string): SourceVerdict {
  return request.final
    ? { outcome: GateOutcome.Inconclusive, reason: GateReason.MetricsInsufficient, message, failed: [] }
    : PASS_SILENTLY;
}

/** `gates.errorRate`: 5xx / requests of the wave's workloads over the window, against `max` (absolute SLO). */
export function errorRateHealthSource(options: MetricGateOptions = DEFAULT_METRIC_GATE_OPTIONS): HealthSource {
  return {
    name: 'prometheus-error-rate',
    evaluate(request: GateRequest): SourceVerdict {
      const gate = request.gates.errorRate;
      if (gate === undefined) return PASS_SILENTLY;
      const s = usableSamples(request, 'gates.errorRate');
      if ('verdict' in s) return s.verdict;
      const requests = s.current.reduce((n, t) => n + t.requests, 0);
      const errors = s.current.reduce((n, t) => n + t.errors, 0);
      const window = `${s.windowSeconds}s`;
      if (requests < options.minRequests || requests <= 0)
        return insufficient(
          request,
          `gates.errorRate: ${Math.round(requests)} requests to the wave's ${s.current.length} workloads in the last ${window}, at least ${options.minRequests} needed`,
        );
      const ratio = errors / requests;
      const worst = s.current
        .filter((t) => t.requests > 0 && t.errors / t.requests > gate.max)
        .sort((a, b) => b.errors / b.requests - a.errors / a.requests);
      const detail = worst.map(
        (t) => `${label(t.workload)} ${pct(t.errors / t.requests)} (${Math.round(t.errors)}/${Math.round(t.requests)})`,
      );
      if (ratio > gate.max)
        return {
          outcome: GateOutcome.Failed,
          reason: GateReason.ErrorRateAboveMax,
          message: `error ratio ${pct(ratio)} > ${pct(gate.max)} (${Math.round(errors)} 5xx of ${Math.round(requests)} requests in ${window})${detail.length > 0 ? ` on ${list(detail)}` : ''}`,
          failed: [...new Set(worst.map((t) => t.unit ?? label(t.workload)))].slice(0, 20),
        };
      return {
        outcome: GateOutcome.Successful,
        reason: GateReason.ErrorRateWithinMax,
        message: `error ratio ${pct(ratio)} <= ${pct(gate.max)} (${Math.round(errors)} 5xx of ${Math.round(requests)} requests in ${window})`,
        failed: [],
      };
    },
  };
}

/**
 * `gates.latencyP99` (+ `gates.compare`): the median of the new-revision cohort's per-workload p99 against the
 * old cohort's; it fails when the increase is above `maxIncrease` (percent, or milliseconds for a count) and,
 * with `compare`, a one-sided Mann–Whitney U test at `alpha` says the new cohort is slower.
 */
export function latencyHealthSource(options: MetricGateOptions = DEFAULT_METRIC_GATE_OPTIONS): HealthSource {
  return {
    name: 'prometheus-latency',
    evaluate(request: GateRequest): SourceVerdict {
      const gate = request.gates.latencyP99;
      if (gate === undefined) return PASS_SILENTLY;
      const s = usableSamples(request, 'gates.latencyP99');
      if ('verdict' in s) return s.verdict;
      const usable = (ts: readonly WorkloadTraffic[]): { workload: string; unit: string; p99: number }[] =>
        ts
          .filter((t) => t.p99Ms !== undefined && Number.isFinite(t.p99Ms) && t.requests >= options.minWorkloadRequests)
          .map((t) => ({ workload: t.workload, unit: t.unit ?? label(t.workload), p99: t.p99Ms! }));
      const fresh = usable(s.current);
      const old = usable(s.baseline);
      const window = `${s.windowSeconds}s`;
      if (fresh.length === 0 || old.length === 0)
        return insufficient(
          request,
          `gates.latencyP99: ${fresh.length} workloads on the new revision and ${old.length} on the old one with p99 data (>= ${options.minWorkloadRequests} requests in ${window}); at least one of each needed`,
        );
      const medNew = median(fresh.map((f) => f.p99));
      const medOld = median(old.map((f) => f.p99));
      const percent = gate.maxIncrease.kind === 'percent';
      const increase = percent
        ? medOld > 0
          ? ((medNew - medOld) / medOld) * 100
          : medNew > 0
            ? Infinity
            : 0
        : medNew - medOld;
      const shown = percent
        ? `${increase >= 0 ? '+' : ''}${increase.toFixed(1)}%`
        : `${increase >= 0 ? '+' : ''}${ms(increase)}`;
      const limit = percent ? `+${gate.maxIncrease.value}%` : `+${ms(gate.maxIncrease.value)}`;
      const oldCohort =
        s.baselineAt !== undefined
          ? `the same workloads before the wave (window ending ${s.baselineAt})`
          : 'old-revision workloads';
      const numbers = `p99 median ${ms(medNew)} over ${fresh.length} new-revision workloads vs ${ms(medOld)} over ${old.length} ${oldCohort} (${window})`;
      if (increase <= gate.maxIncrease.value)
        return {
          outcome: GateOutcome.Successful,
          reason: GateReason.LatencyWithinMax,
          message: `${numbers}: ${shown} <= ${limit}`,
          failed: [],
        };
      const slow = [...fresh].sort((a, b) => b.p99 - a.p99).filter((f) => f.p99 > medOld);
      const slowText = slow.length > 0 ? `; slowest ${list(slow.map((f) => `${label(f.workload)} ${ms(f.p99)}`))}` : '';
      const slowest = [...new Set(slow.map((f) => f.unit))];
      const compare = request.gates.compare;
      if (compare === undefined)
        return {
          outcome: GateOutcome.Failed,
          reason: GateReason.LatencyIncreaseAboveMax,
          message: `${numbers}: ${shown} > ${limit}${slowText}`,
          failed: slowest.slice(0, 20),
        };
      const floor = smallestPValue(fresh.length, old.length);
      if (floor >= compare.alpha)
        return insufficient(
          request,
          `gates.latencyP99: ${numbers}: ${shown} > ${limit}, but Mann-Whitney cannot reach alpha ${compare.alpha} with ${fresh.length} vs ${old.length} workloads (smallest p ${floor.toPrecision(2)})`,
        );
      const test = mannWhitneyGreater(
        fresh.map((f) => f.p99),
        old.map((f) => f.p99),
      );
      const testText = `Mann-Whitney U=${test.u} p=${test.pValue.toPrecision(2)} (${test.method})`;
      if (test.pValue < compare.alpha)
        return {
          outcome: GateOutcome.Failed,
          reason: GateReason.LatencyIncreaseAboveMax,
          message: `${numbers}: ${shown} > ${limit}, ${testText} < alpha ${compare.alpha}${slowText}`,
          failed: slowest.slice(0, 20),
        };
      return {
        outcome: GateOutcome.Successful,
        reason: GateReason.LatencyWithinMax,
        message: `${numbers}: ${shown} > ${limit} but not significant, ${testText} >= alpha ${compare.alpha}`,
        failed: [],
      };
    },
  };
}

/** Both metric gate sources (each passes silently when the rollout does not ask for its gate). */
export function metricHealthSources(options: MetricGateOptions = DEFAULT_METRIC_GATE_OPTIONS): HealthSource[] {
  return [errorRateHealthSource(options), latencyHealthSource(options)];
}
