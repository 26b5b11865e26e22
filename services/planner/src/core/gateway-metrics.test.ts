import type { RolloutSpecInput } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newGatewayInventory, newHarness, type Harness } from './engine-harness.js';
import { metricQueryOf } from './metric-query.js';
import { metricSamplesFor, type MetricQuery, type WorkloadTraffic } from './metric-samples.js';

// Gateway gates (ADR 0050): a gateway step is judged on the gateway's own requests, by the revision of the pods
// that served them: the 5xx ratio of the copy's pods, their p99 against the old pods' (Mann–Whitney, per pod).

const REPLICAS = 10;

function newGatewayHarness(gates: RolloutSpecInput['spec']['gates']): Harness {
  const inventory = newGatewayInventory(1, 4, REPLICAS);
  return newHarness(
    {
      gateways: { steps: [10, 50, 100], soak: '2m' },
      onGateFailure: 'rollback-wave',
      gates,
    } as Parameters<typeof newHarness>[0],
    inventory,
  );
}

/** What Prometheus would answer for a gateway query: each pod on a side with its requests, 5xx and p99. */
type Pods = (q: MetricQuery, side: 'new' | 'old') => WorkloadTraffic[];

const pods =
  (errorsNew: number, p99New: number, p99Old: number): Pods =>
  (q, side) => {
    const targets = side === 'new' ? q.current : q.baseline;
    return targets.flatMap((t) =>
      Array.from({ length: REPLICAS / 2 }, (_, i) => ({
        workload: `${t.cluster}/${t.namespace}/${t.name}-${side}-${i}`,
        unit: t.unit,
        requests: 200,
        errors: side === 'new' ? errorsNew : 0,
        p99Ms: (side === 'new' ? p99New : p99Old) + i,
      })),
    );
  };

/** Runs the engine with the metrics `traffic` gives every gateway query (workload waves: all well) until `done`. */
function run(h: Harness, traffic: Pods, done: (h: Harness) => boolean, queries: MetricQuery[] = []): void {
  for (let i = 0; i < 500 && !done(h); i++) {
    const q = metricQueryOf(h.record, h.state, h.now, 300);
    if (q !== undefined) queries.push(q);
    const gateway = q?.current.some((t) => t.gateway !== undefined) ?? false;
    h.extra =
      q === undefined
        ? {}
        : {
            metrics: gateway
              ? metricSamplesFor(q, traffic(q, 'new'), traffic(q, 'old'))
              : metricSamplesFor(
                  q,
                  q.current.map((t) => ({ workload: t.unit, unit: t.unit, requests: 500, errors: 0, p99Ms: 100 })),
                  q.baseline.map((t) => ({ workload: t.unit, unit: t.unit, requests: 500, errors: 0, p99Ms: 100 })),
                ),
          };
    const d = h.reconcile();
    if (d.changed || d.commands.length > 0) continue;
    if (d.wakeAt === undefined) return;
    h.now = new Date(Math.max(d.wakeAt.getTime(), h.now.getTime() + 1));
  }
}

const terminalOrHalted = (h: Harness): boolean =>
  ['Completed', 'Halted', 'Failed', 'RolledBack'].includes(h.state.phase);

describe('gateway gates (ADR 0050)', () => {
  it('Given an error-rate gate, When a gateway step soaks, Then the query reads the gateway’s own requests: the copy’s pods on `to` against the old pods on `from`', () => {
    const h = newGatewayHarness({ errorRate: { max: 0.05 }, latencyP99: { maxIncrease: '20%' } });
    const queries: MetricQuery[] = [];
    run(h, pods(0, 100, 100), terminalOrHalted, queries);
    expect(h.state.phase).toBe('Completed');
    const first = queries.find((q) => q.wave === h.record.plan.waves.length)!;
    expect(first.current).toEqual([
      expect.objectContaining({
        unit: 'prod-1/istio-ingress/Deployment/ingressgateway',
        gateway: { revision: '1-25-2', workloads: ['ingressgateway', 'ingressgateway-1-25-2'] },
      }),
    ]);
    expect(first.baseline[0]?.gateway?.revision).toBe('1-24-5');
    // at 100% no old pod is left: the old cohort is read before the step went out
    const last = queries.filter((q) => q.wave === h.record.plan.waves.length + 2).at(-1)!;
    expect(last.baselineAt).toBeDefined();
  });

  it('Given a copy whose pods answer 20% 5xx, When its step is gated, Then the gate fails on the error ratio and the steps are taken back to 0', () => {
    const h = newGatewayHarness({ errorRate: { max: 0.05 } });
    run(h, pods(40, 100, 100), terminalOrHalted);
    expect(h.state.phase).toBe('Halted');
    const failed = h.state.verdicts.find((v) => v.outcome === 'Failed')!;
    expect(failed.wave).toBe(h.record.plan.waves.length);
    expect(failed.reason).toBe('ErrorRateAboveMax');
    expect(h.fleet.gatewayShares.get('prod-1/istio-ingress/ingressgateway')).toEqual([10, 0]);
  });

  it('Given a p99 gate with the statistical comparison, When the copy’s pods are slower than the old ones, Then Mann–Whitney over the pods fails the step; when they are not, it passes', () => {
    const gates = { latencyP99: { maxIncrease: '20%' }, compare: { test: 'mann-whitney' as const, alpha: 0.05 } };
    const slow = newGatewayHarness(gates);
    run(slow, pods(0, 300, 100), terminalOrHalted);
    expect(slow.state.phase).toBe('Halted');
    const failed = slow.state.verdicts.find((v) => v.outcome === 'Failed')!;
    expect(failed.reason).toBe('LatencyIncreaseAboveMax');
    expect(failed.message).toContain('Mann-Whitney');
    expect(failed.message).toContain('over 5 new-revision workloads');

    const same = newGatewayHarness(gates);
    run(same, pods(0, 100, 100), terminalOrHalted);
    expect(same.state.phase).toBe('Completed');
  });
});
