import { LATENCY_SAMPLE_LIMIT, latencySampleOf } from './latency-sample.js';
import type { MetricQuery, MetricTarget } from './metric-samples.js';
import { gatewayShares, gatewayUnitKey } from './gateway-waves.js';
import { gatewayStepAt } from './step-waves.js';
import type { RolloutRecord, RolloutState } from './rollout-state.js';

/**
 * The metric query of a gateway step (ADR 0050): the gateways' own requests, by the revision of the pods that
 * served them (`istio.io/rev`): the copy's pods on `to` are the new cohort (5xx ratio, p99), the old Deployment's
 * pods on `from` the comparison cohort for the p99 test. At 100% no old pod is left once the step converged: the
 * old cohort is then read in the window before the step went out, as for the last workload wave.
 */
export function gatewayMetricQueryOf(
  record: RolloutRecord,
  state: RolloutState,
  windowStart: string,
  windowSeconds: number,
): MetricQuery | undefined {
  const w = state.wave;
  const step = gatewayStepAt(record, w);
  if (step === undefined || state.rolledBackWaves.includes(w) || state.rollbackAll) return undefined;
  const gates = record.spec.spec.gates;
  const { from, to } = record.spec.spec;
  const shares = gatewayShares(record, state);
  const targetsOn = (revision: string): MetricTarget[] =>
    step.gateways.map((g) => ({
      unit: gatewayUnitKey(g),
      cluster: g.cluster,
      namespace: g.namespace,
      name: g.name,
      // the gateway's Deployment and its copy beside it (`<gateway>-<to>`, ADR 0047) report the same requests
      gateway: { revision, workloads: [g.name, `${g.name}-${to}`] },
    }));
  const whole = step.gateways.every((g) => shares.get(gatewayUnitKey(g))?.percent === 100);
  const beforeDispatch = gates.latencyP99 !== undefined && whole && state.waveDispatchedAt !== undefined;
  const current = targetsOn(to);
  const baseline = gates.latencyP99 ? targetsOn(from) : [];
  return {
    rolloutId: record.id,
    wave: w,
    windowStart,
    windowSeconds,
    current,
    latencyCurrent: latencySampleOf(current),
    baseline: latencySampleOf(baseline),
    latencySample: { limit: LATENCY_SAMPLE_LIMIT, current: current.length, baseline: baseline.length },
    ...(beforeDispatch ? { baselineAt: state.waveDispatchedAt } : {}),
    errorRate: gates.errorRate !== undefined,
    latency: gates.latencyP99 !== undefined,
  };
}
