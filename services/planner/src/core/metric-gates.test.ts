import {
  GateOutcome,
  GateReason,
  Inventory,
  RolloutSpec,
  UnitState,
  unitKey,
  type ClusterDesiredState,
  type RolloutSpecInput,
  type UnitProgress,
} from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';
import { describe, expect, it } from 'vitest';
import { decide } from './decide.js';
import type { EngineCommand } from './desired-state.js';
import { evaluateGate, agentReportHealthSource } from './health-source.js';
import { errorRateHealthSource, latencyHealthSource } from './metric-gates.js';
import { newRequest, samples, w } from './metric-gates-harness.js';
import { metricGatePaths, metricQueryOf } from './metric-query.js';
import {
  MetricObservationKind,
  type MetricObservation,
  type MetricQuery,
  type WorkloadTraffic,
} from './metric-samples.js';
import { newRolloutRecord } from './rollout-record.js';
import { newRolloutState, type Observations, type RolloutRecord, type RolloutState } from './rollout-state.js';

const T0 = new Date('2026-11-02T09:00:00Z');
const WINDOW = 300;

function newInventory(workloads = 20): Inventory {
  return Inventory.parse({
    clusters: ['prod-1', 'prod-2'].map((name) => ({
      name,
      labels: { env: 'prod' },
      workloads: Array.from({ length: workloads / 2 }, (_, w) => ({
        namespace: `ns-${w % 3}`,
        kind: 'Deployment',
        name: `app-${w}`,
        labels: {},
        revision: '1-24-5',
      })),
    })),
    vmGroups: [],
  });
}

function newRecord(gates: RolloutSpecInput['spec']['gates'], overrides: Partial<RolloutSpecInput['spec']> = {}) {
  const spec = RolloutSpec.parse({
    apiVersion: 'meshwave.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'upgrade' },
    spec: {
      from: '1-24-5',
      to: '1-25-2',
      deadline: '2026-12-20T00:00:00Z',
      defaults: { soak: '5m', maxUnavailable: '100%', batchEstimate: '1m' },
      waves: [
        { name: 'canary', percent: 30 },
        { name: 'all', percent: 100 },
      ],
      gates,
      onGateFailure: 'rollback-wave',
      ...overrides,
    },
  });
  const inventory = newInventory();
  const plan = planRollout(spec, inventory, { now: T0 });
  return newRolloutRecord({ id: 'r1', spec, plan, inventory, createdBy: 'alice', now: T0 });
}

/** What each workload does on each revision: error ratio and p99 in ms. */
interface Behaviour {
  readonly errorRatio: (workload: string, revision: string) => number;
  readonly p99: (workload: string, revision: string) => number;
  readonly requestsPerSecond: number;
}

const healthy: Behaviour = { errorRatio: () => 0, p99: (w) => 40 + (hash(w) % 10), requestsPerSecond: 10 };

function hash(s: string): number {
  let h = 7;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) % 9973;
  return h;
}

/** Scripted agents and an Istio traffic model: what a Prometheus adapter would return for a query. */
class Fleet {
  readonly revisions = new Map<string, string>();
  readonly desired = new Map<string, ClusterDesiredState>();
  readonly halts: string[] = [];

  constructor(public behaviour: Behaviour) {}

  apply(commands: readonly EngineCommand[]): void {
    for (const c of commands) {
      if (c.kind === 'halt') this.halts.push(c.target);
      if (c.kind !== 'cluster') continue;
      const prev = this.desired.get(c.data.cluster);
      if (prev && prev.generation >= c.data.generation) continue;
      this.desired.set(c.data.cluster, c.data);
      if (!c.data.halted)
        for (const u of c.data.units) this.revisions.set(`${c.data.cluster}/${unitKey(u)}`, u.revision);
    }
  }

  observations(): Observations {
    const clusters = new Map<string, UnitProgress>();
    for (const [cluster, d] of this.desired)
      clusters.set(cluster, {
        cluster,
        rolloutId: d.rolloutId,
        generation: d.generation,
        halted: d.halted,
        units: d.units.map((u) => {
          const revision = this.revisions.get(`${cluster}/${unitKey(u)}`) ?? '1-24-5';
          return {
            namespace: u.namespace,
            kind: u.kind,
            name: u.name,
            revision,
            injectedRevision: revision,
            state: revision === u.revision ? UnitState.Converged : UnitState.Pending,
          };
        }),
      });
    return { clusters, vmGroups: new Map(), health: new Map() };
  }

  /** The adapter's job, done from the traffic model instead of Prometheus. */
  sample(q: MetricQuery): MetricObservation {
    const traffic = (targets: MetricQuery['current'], before = false): WorkloadTraffic[] =>
      targets.map((t) => {
        const workload = `${t.cluster}/${t.namespace}/${t.name ?? ''}`;
        const now = this.revisions.get(`${t.cluster}/${t.namespace}/Deployment/${t.name ?? ''}`) ?? '1-24-5';
        const revision = before ? '1-24-5' : now;
        const requests = this.behaviour.requestsPerSecond * q.windowSeconds;
        return {
          workload,
          unit: t.unit,
          requests,
          errors: Math.round(requests * this.behaviour.errorRatio(workload, revision)),
          p99Ms: this.behaviour.p99(workload, revision),
        };
      });
    return {
      kind: MetricObservationKind.Samples,
      samples: {
        wave: q.wave,
        windowStart: q.windowStart,
        windowSeconds: q.windowSeconds,
        current: traffic(q.current),
        baseline: traffic(q.baseline, q.baselineAt !== undefined),
        ...(q.baselineAt !== undefined ? { baselineAt: q.baselineAt } : {}),
      },
    };
  }
}

class Harness {
  now = T0;
  state: RolloutState = newRolloutState(T0);
  readonly fleet: Fleet;
  /** what the adapter returns; default: sample the traffic model */
  metrics: ((q: MetricQuery | undefined) => MetricObservation | undefined) | undefined;

  constructor(
    readonly record: RolloutRecord,
    behaviour: Behaviour = healthy,
  ) {
    this.fleet = new Fleet(behaviour);
    this.metrics = (q) => (q ? this.fleet.sample(q) : undefined);
  }

  reconcile(): void {
    const q = metricQueryOf(this.record, this.state, this.now, WINDOW);
    const metrics = this.metrics?.(q);
    const d = decide({
      record: this.record,
      state: this.state,
      observations: this.fleet.observations(),
      now: this.now,
      epoch: 1,
      config: { resyncAfterMs: 30_000, gateRetryMs: 15_000, maxVerdicts: 500 },
      ...(metrics !== undefined ? { metrics } : {}),
    });
    this.state = d.state;
    this.fleet.apply(d.commands);
  }

  /** reconciles every 15 s of fake time until a phase in `phases` or `maxSteps` */
  runUntil(phases: readonly string[], maxSteps = 200): void {
    for (let i = 0; i < maxSteps && !phases.includes(this.state.phase); i++) {
      this.reconcile();
      this.reconcile();
      this.now = new Date(this.now.getTime() + 15_000);
    }
  }

  finalVerdicts(): string[] {
    return this.state.verdicts.filter((v) => v.final).map((v) => `${v.wave}:${v.outcome}:${v.reason}`);
  }
}

const onNew =
  (value: number, otherwise: number) =>
  (_w: string, revision: string): number =>
    revision === '1-25-2' ? value : otherwise;

describe('metric gates in the engine: errorRate', () => {
  it('Given new-revision workloads answering 5% 5xx, When the canary soaks, Then the wave fails with the numbers and is rolled back', () => {
    const h = new Harness(newRecord({ errorRate: { max: 0.01 } }), { ...healthy, errorRatio: onNew(0.05, 0) });
    h.runUntil(['Halted']);
    expect(h.state.phase).toBe('Halted');
    expect(h.state.wave).toBe(0);
    expect(h.state.history.map((t) => t.trigger)).toContain('gate-failed');
    expect(h.state.history.map((t) => t.trigger)).toContain('rollback-started');
    const failed = h.state.verdicts.find((v) => v.outcome === GateOutcome.Failed);
    expect(failed).toMatchObject({ reason: GateReason.ErrorRateAboveMax, source: 'prometheus-error-rate' });
    expect(failed?.message).toMatch(
      /^error ratio \d\.\d+% > 1\.00% \(\d+ 5xx of \d+ requests in \d+s\) on prod-\d\/ns-\d\/app-\d+ \d\.\d+%/,
    );
    expect(failed?.failed.length).toBeGreaterThan(0);
    expect(failed?.failed.every((u) => h.record.plan.waves[0]!.units.includes(u))).toBe(true);
    expect(h.fleet.halts.length).toBeGreaterThan(0);
    // the canary's units went back to `from`; the second wave was never dispatched
    const canary = h.record.plan.waves[0]!.units;
    expect(canary.every((u) => h.fleet.revisions.get(u) === '1-24-5')).toBe(true);
    expect(h.state.dispatchedWaves).toBe(1);
  });

  it('Given the same rollout with healthy new-revision workloads, Then every wave passes, with the error ratio in the verdict', () => {
    const h = new Harness(newRecord({ errorRate: { max: 0.01 } }));
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    expect(h.finalVerdicts()).toEqual(['0:Successful:AllUnitsConverged', '1:Successful:AllUnitsConverged']);
    expect(h.state.verdicts.filter((v) => v.final)[0]?.message).toMatch(
      /error ratio 0\.0% <= 1\.00% \(0 5xx of \d+ requests/,
    );
  });

  it('Given a planner without Prometheus, Then the final gate is Inconclusive, never passes, and after gates.inconclusive.limit evaluations the rollout pauses for a person saying why', () => {
    const h = new Harness(newRecord({ errorRate: { max: 0.01 }, inconclusive: { limit: 4 } }));
    h.metrics = undefined;
    h.runUntil(['Completed', 'Halted', 'Paused'], 60);
    expect(h.state).toMatchObject({ phase: 'Paused', wave: 0, pausedFrom: { phase: 'Running', wavePhase: 'Gating' } });
    expect(h.finalVerdicts()).toEqual(Array.from({ length: 4 }, () => '0:Inconclusive:MetricsNotConfigured'));
    expect(h.state.history.at(-1)).toMatchObject({
      trigger: 'inconclusive-limit',
      from: 'Running/Gating',
      to: 'Paused',
    });
    expect(h.state.reason).toMatch(
      /^paused for a person: the final gate of wave 0 could not judge 4 times in a row .*gates\.errorRate needs Prometheus/,
    );
    // and it stays paused: nothing passes it on missing data
    h.runUntil(['Completed'], 20);
    expect(h.state.phase).toBe('Paused');
  });

  it('Given a gate that cannot judge, Then while within gates.inconclusive the reason says how many evaluations and until when, and the timeout pauses it even below the limit', () => {
    const h = new Harness(newRecord({ errorRate: { max: 0.01 }, inconclusive: { limit: 1000, timeout: '1m' } }));
    h.metrics = undefined;
    for (let i = 0; i < 60 && h.finalVerdicts().length === 0; i++) h.runUntil(['Paused'], 1);
    expect(h.state.reason).toMatch(
      /^gate Inconclusive \(MetricsNotConfigured\): .*; \d of 1000 inconclusive evaluations, pauses for a person at \S+ at the latest/,
    );
    h.runUntil(['Paused'], 20);
    expect(h.state.phase).toBe('Paused');
    expect(h.finalVerdicts().length).toBeLessThan(10);
  });

  it('Given Prometheus unreachable, Then the final gate is an Error naming the code, and it passes once Prometheus answers', () => {
    const h = new Harness(newRecord({ errorRate: { max: 0.01 }, inconclusive: { limit: 100 } }));
    const sample = h.metrics!;
    h.metrics = (q) =>
      q
        ? {
            kind: MetricObservationKind.Unavailable,
            wave: q.wave,
            code: 'PROMETHEUS_UNREACHABLE',
            message: 'connect ECONNREFUSED',
          }
        : undefined;
    h.runUntil(['Completed'], 40);
    expect(h.state.phase).toBe('Running');
    expect(h.state.verdicts.at(-1)).toMatchObject({
      outcome: GateOutcome.Error,
      reason: GateReason.MetricsUnavailable,
    });
    expect(h.state.verdicts.at(-1)?.message).toContain('PROMETHEUS_UNREACHABLE');
    h.metrics = sample;
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
  });

  it('Given too little traffic, Then the final gate is Inconclusive, not a pass', () => {
    const h = new Harness(newRecord({ errorRate: { max: 0.01 }, inconclusive: { limit: 100 } }), {
      ...healthy,
      requestsPerSecond: 0,
    });
    h.runUntil(['Completed', 'Halted'], 40);
    expect(h.state.phase).toBe('Running');
    expect(h.state.verdicts.at(-1)).toMatchObject({
      outcome: GateOutcome.Inconclusive,
      reason: GateReason.MetricsInsufficient,
    });
    expect(h.state.verdicts.at(-1)?.message).toMatch(
      /0 requests to the wave's \d+ workloads in the last \d+s, at least 100 needed/,
    );
  });
});

describe('metric gates in the engine: watching during the soak', () => {
  it('Given a long soak, Then the engine looks again every gate retry and halts as soon as the 5xx appear', () => {
    const record = newRecord({ errorRate: { max: 0.01 } }, { defaults: { soak: '1h', maxUnavailable: '100%' } });
    let broken = false;
    const h = new Harness(record, { ...healthy, errorRatio: (_w, r) => (broken && r === '1-25-2' ? 0.5 : 0) });
    const wake = (): number | undefined => {
      const q = metricQueryOf(h.record, h.state, h.now, WINDOW);
      const d = decide({
        record: h.record,
        state: h.state,
        observations: h.fleet.observations(),
        now: h.now,
        epoch: 1,
        config: { resyncAfterMs: 3_600_000, gateRetryMs: 15_000, maxVerdicts: 500 },
        ...(q ? { metrics: h.fleet.sample(q) } : {}),
      });
      h.state = d.state;
      h.fleet.apply(d.commands);
      return d.wakeAt?.getTime();
    };
    wake();
    wake();
    expect(h.state.wavePhase).toBe('Soaking');
    expect(wake()).toBe(h.now.getTime() + 15_000);
    h.now = new Date(h.now.getTime() + 15_000);
    broken = true;
    wake();
    expect(h.state.phase).toBe('RollingBack');
    expect(h.state.verdicts.at(-1)).toMatchObject({ final: false, outcome: 'Failed', reason: 'ErrorRateAboveMax' });
  });
});

describe('metric gates in the engine: latencyP99', () => {
  it('Given a new revision four times slower and mann-whitney at 0.05, Then the wave fails with both medians and the test', () => {
    const h = new Harness(
      newRecord({ latencyP99: { maxIncrease: '20%' }, compare: { test: 'mann-whitney', alpha: 0.05 } }),
      { ...healthy, p99: (w, r) => (40 + (hash(w) % 10)) * (r === '1-25-2' ? 4 : 1) },
    );
    h.runUntil(['Halted']);
    expect(h.state.phase).toBe('Halted');
    const failed = h.state.verdicts.find((v) => v.outcome === GateOutcome.Failed);
    expect(failed).toMatchObject({ reason: GateReason.LatencyIncreaseAboveMax, source: 'prometheus-latency' });
    expect(failed?.message).toMatch(
      /^p99 median \d+ms over 6 new-revision workloads vs \d+\.\dms over 14 old-revision workloads \(\d+s\): \+\d+\.\d% > \+20%, Mann-Whitney U=84 p=\S+ \((exact|normal)\) < alpha 0\.05/,
    );
  });

  it('Given a new revision as fast as the old one, Then every wave passes', () => {
    const h = new Harness(
      newRecord({ latencyP99: { maxIncrease: '20%' }, compare: { test: 'mann-whitney', alpha: 0.05 } }),
    );
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    // the last wave leaves nothing on `from`: its own workloads before the wave are the comparison cohort
    const last = h.state.verdicts.filter((v) => v.final).at(-1);
    expect(last?.message).toMatch(/over 14 new-revision workloads vs \S+ over 14 the same workloads before the wave/);
  });
});

describe('metric gate sources', () => {
  const errorRate = errorRateHealthSource({ minRequests: 100, minWorkloadRequests: 20 });
  const latency = latencyHealthSource({ minRequests: 100, minWorkloadRequests: 20 });

  it('names the ratio, the limit and the worst workloads', () => {
    const v = errorRate.evaluate(
      newRequest({ errorRate: { max: 0.001 } }, samples([w('cart', 1000, 8), w('web', 1000, 0)])),
    );
    expect(v).toMatchObject({ outcome: 'Failed', reason: 'ErrorRateAboveMax', failed: ['c1/shop/cart'] });
    expect(v.message).toBe('error ratio 0.40% > 0.10% (8 5xx of 2000 requests in 120s) on c1/shop/cart 0.80% (8/1000)');
  });

  it('judges the ratio at the limit as a pass', () => {
    expect(errorRate.evaluate(newRequest({ errorRate: { max: 0.01 } }, samples([w('cart', 1000, 10)]))).outcome).toBe(
      'Successful',
    );
  });

  it('ignores samples of another window for the final verdict (Inconclusive), and never blocks a watch', () => {
    const stale: MetricObservation = {
      kind: MetricObservationKind.Samples,
      samples: {
        wave: 0,
        windowStart: '2026-11-02T08:00:00.000Z',
        windowSeconds: 120,
        current: [w('cart', 1000, 900)],
        baseline: [],
      },
    };
    expect(errorRate.evaluate(newRequest({ errorRate: { max: 0.01 } }, stale))).toMatchObject({
      outcome: 'Inconclusive',
      reason: 'MetricsInsufficient',
    });
    expect(errorRate.evaluate(newRequest({ errorRate: { max: 0.01 } }, stale, false)).outcome).toBe('Successful');
  });

  it('fails a watch (not final) as soon as the data is conclusive', () => {
    expect(
      errorRate.evaluate(newRequest({ errorRate: { max: 0.01 } }, samples([w('cart', 1000, 50)]), false)).outcome,
    ).toBe('Failed');
  });

  it('names the latency sample when a cohort was larger than it', () => {
    const observed = samples([w('a', 100, 0, 41)], [w('b', 100, 0, 40)]);
    if (observed.kind !== MetricObservationKind.Samples) throw new Error('samples expected');
    const sampled: MetricObservation = {
      ...observed,
      samples: { ...observed.samples, latencySample: { limit: 200, current: 10_000, baseline: 90_000 } },
    };
    const v = latency.evaluate(newRequest({ latencyP99: { maxIncrease: { kind: 'percent', value: 20 } } }, sampled));
    expect(v.outcome).toBe('Successful');
    expect(v.message).toContain(
      '(120s; p99 of a stable sample of at most 200 units per cohort: 200 of 10000 new, 200 of 90000 old)',
    );
  });

  it('fails latency without compare on the increase alone, in milliseconds for a count', () => {
    const v = latency.evaluate(
      newRequest(
        { latencyP99: { maxIncrease: { kind: 'count', value: 25 } } },
        samples([w('a', 100, 0, 90)], [w('b', 100, 0, 60)]),
      ),
    );
    expect(v).toMatchObject({ outcome: 'Failed', reason: 'LatencyIncreaseAboveMax' });
    expect(v.message).toContain('+30.0ms > +25.0ms');
  });

  it('waits (Inconclusive) when the cohorts are too small for the test to ever reach alpha', () => {
    const v = latency.evaluate(
      newRequest(
        { latencyP99: { maxIncrease: { kind: 'percent', value: 10 } }, compare: { test: 'mann-whitney', alpha: 0.05 } },
        samples([w('a', 100, 0, 200)], [w('b', 100, 0, 50), w('c', 100, 0, 55)]),
      ),
    );
    expect(v).toMatchObject({ outcome: 'Inconclusive', reason: 'MetricsInsufficient' });
    expect(v.message).toContain('cannot reach alpha 0.05 with 1 vs 2 workloads (smallest p 0.33)');
  });

  it('passes a large but not significant increase, saying so', () => {
    const v = latency.evaluate(
      newRequest(
        { latencyP99: { maxIncrease: { kind: 'percent', value: 10 } }, compare: { test: 'mann-whitney', alpha: 0.05 } },
        samples(
          [w('a', 100, 0, 90), w('b', 100, 0, 40), w('c', 100, 0, 95), w('d', 100, 0, 41)],
          [w('e', 100, 0, 50), w('f', 100, 0, 60), w('g', 100, 0, 45), w('h', 100, 0, 70)],
        ),
      ),
    );
    expect(v).toMatchObject({ outcome: 'Successful', reason: 'LatencyWithinMax' });
    expect(v.message).toMatch(/> \+10% but not significant, Mann-Whitney U=\d+ p=\S+ \(exact\) >= alpha 0\.05/);
  });

  it('leaves out workloads with too few requests or no histogram', () => {
    const v = latency.evaluate(
      newRequest(
        { latencyP99: { maxIncrease: { kind: 'percent', value: 10 } } },
        samples([w('a', 5, 0, 900), w('b', 100, 0)], [w('c', 100, 0, 50)]),
      ),
    );
    expect(v).toMatchObject({ outcome: 'Inconclusive', reason: 'MetricsInsufficient' });
  });

  it('combines with agent reports: worst wins, and passing numbers are appended', () => {
    const sources = [agentReportHealthSource, errorRate, latency];
    const ok = evaluateGate(sources, newRequest({ errorRate: { max: 0.01 } }, samples([w('cart', 1000, 1)])));
    expect(ok.outcome).toBe('Successful');
    expect(ok.message).toBe('the wave moves nothing; error ratio 0.10% <= 1.00% (1 5xx of 1000 requests in 120s)');
    const bad = evaluateGate(sources, newRequest({ errorRate: { max: 0.01 } }, samples([w('cart', 1000, 100)])));
    expect(bad).toMatchObject({ outcome: 'Failed', source: 'prometheus-error-rate' });
  });

  it('lists the spec paths that need a metrics backend', () => {
    expect(metricGatePaths({})).toEqual([]);
    expect(
      metricGatePaths({ errorRate: { max: 0.1 }, latencyP99: { maxIncrease: { kind: 'percent', value: 5 } } }),
    ).toEqual(['spec.gates.errorRate', 'spec.gates.latencyP99']);
  });
});

describe('metricQueryOf', () => {
  it('asks for the current wave since its convergence, and the units still on `from` as the comparison cohort', () => {
    const h = new Harness(newRecord({ latencyP99: { maxIncrease: '20%' } }));
    expect(metricQueryOf(h.record, h.state, h.now, WINDOW)).toBeUndefined(); // Pending
    h.reconcile();
    h.reconcile();
    expect(h.state.wavePhase).toBe('Soaking');
    h.now = new Date(T0.getTime() + 1_000_000);
    const q = metricQueryOf(h.record, h.state, h.now, WINDOW)!;
    expect(q).toMatchObject({
      wave: 0,
      windowStart: h.state.soakStartedAt,
      windowSeconds: WINDOW,
      latency: true,
      errorRate: false,
    });
    const keys = (ts: MetricQuery['current']): string[] =>
      ts.map((t) => `${t.cluster}/${t.namespace}/Deployment/${t.name}`).sort();
    expect(keys(q.current)).toEqual([...h.record.plan.waves[0]!.units].sort());
    expect(keys(q.baseline)).toEqual([...h.record.plan.waves[1]!.units].sort());
  });

  it('asks nothing of a rollout without metric gates', () => {
    const h = new Harness(newRecord({}));
    h.reconcile();
    h.reconcile();
    expect(metricQueryOf(h.record, h.state, h.now, WINDOW)).toBeUndefined();
  });
});
