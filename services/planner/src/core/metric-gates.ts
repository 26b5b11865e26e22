// Metric gates (`gates.errorRate`, `gates.latencyP99`, `gates.compare`): pure judgements of samples an adapter
// fetched from Prometheus (Istio's standard istio_requests_total and istio_request_duration_milliseconds).
// No data, too little data or data for another window is Inconclusive, never a pass.
import { GateOutcome, GateReason, type Gates } from '@meshwave/contracts';
import type { GateRequest, HealthSource, SourceVerdict } from './health-source.js';
import { mannWhitneyGreater, smallestPValue } from './mann-whitney.js';
import type { LatencySampleSizes, WorkloadTraffic } from './metric-samples.js';
import { PASS_SILENTLY, insufficient, label, list, median, ms, pct, usableSamples } from './metric-verdicts.js';
import { advisoryUnless, newRevisionSilent } from './gate-policy.js';

export interface MetricGateOptions {
  /** requests to the wave's workloads in the window below which the error ratio says nothing yet */
  readonly minRequests: number;
  /** requests a workload needs in the window for its p99 to count in a latency cohort */
  readonly minWorkloadRequests: number;
}

export const DEFAULT_METRIC_GATE_OPTIONS: MetricGateOptions = { minRequests: 100, minWorkloadRequests: 20 };

/** `gates.errorRate`: 5xx / requests of the wave's workloads over the window, against `max` (absolute SLO). */
export function errorRateHealthSource(options: MetricGateOptions = DEFAULT_METRIC_GATE_OPTIONS): HealthSource {
  return {
    name: 'prometheus-error-rate',
    evaluate(request: GateRequest): SourceVerdict {
      const gate = request.gates.errorRate;
      return gate === undefined ? PASS_SILENTLY : advisoryUnless(gate.enforce, judge(request, gate));
    },
  };

  function judge(request: GateRequest, gate: { readonly max: number }): SourceVerdict {
    const s = usableSamples(request, 'gates.errorRate');
    if ('verdict' in s) return s.verdict;
    const silent = newRevisionSilent(request, s, 'gates.errorRate');
    if (silent !== undefined) return silent;
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
  }
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
      return gate === undefined ? PASS_SILENTLY : advisoryUnless(gate.enforce, judge(request, gate));
    },
  };

  function judge(request: GateRequest, gate: NonNullable<Gates['latencyP99']>): SourceVerdict {
    const s = usableSamples(request, 'gates.latencyP99');
    if ('verdict' in s) return s.verdict;
    const silent = newRevisionSilent(request, s, 'gates.latencyP99');
    if (silent !== undefined) return silent;
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
    const numbers = `p99 median ${ms(medNew)} over ${fresh.length} new-revision workloads vs ${ms(medOld)} over ${old.length} ${oldCohort} (${window}${sampleText(s.latencySample)})`;
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
  }
}

/** The latency sample, when it left units out: an operator sees that the p99 medians are of a sample. */
function sampleText(sizes: LatencySampleSizes | undefined): string {
  if (sizes === undefined || (sizes.current <= sizes.limit && sizes.baseline <= sizes.limit)) return '';
  const of = (n: number): string => `${Math.min(n, sizes.limit)} of ${n}`;
  return `; p99 of a stable sample of at most ${sizes.limit} units per cohort: ${of(sizes.current)} new, ${of(sizes.baseline)} old`;
}

/** Both metric gate sources (each passes silently when the rollout does not ask for its gate). */
export function metricHealthSources(options: MetricGateOptions = DEFAULT_METRIC_GATE_OPTIONS): HealthSource[] {
  return [errorRateHealthSource(options), latencyHealthSource(options)];
}
