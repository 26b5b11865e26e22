import { planRollout } from '@meshwave/plan';
import { describe, expect, it } from 'vitest';
import { T0, newInventory, newSpec } from './engine-harness.js';
import { LATENCY_SAMPLE_LIMIT } from './latency-sample.js';
import { metricQueryOf } from './metric-query.js';
import { newRolloutRecord } from './rollout-record.js';
import { newRolloutState, type RolloutRecord, type RolloutState } from './rollout-state.js';

/** A rollout with both metric gates over 2 clusters of 25 workloads: canary 10%, then the rest. */
function newRecord(): RolloutRecord {
  const spec = newSpec({
    waves: [
      { name: 'canary', percent: 10 },
      { name: 'all', percent: 100 },
    ],
    gates: { errorRate: { max: 0.1 }, latencyP99: { maxIncrease: '20%' } },
  });
  const inventory = newInventory(2, 25);
  return newRolloutRecord({
    id: 'r1',
    spec,
    plan: planRollout(spec, inventory, { now: T0 }),
    inventory,
    createdBy: 'alice',
    now: T0,
  });
}

/** The first wave soaking: its units are the current cohort, the second wave's the baseline. */
const soaking = (overrides: Partial<RolloutState> = {}): RolloutState => ({
  ...newRolloutState(T0),
  phase: 'Running',
  wavePhase: 'Soaking',
  wave: 0,
  dispatchedWaves: 1,
  waveDispatchedAt: T0.toISOString(),
  soakStartedAt: T0.toISOString(),
  ...overrides,
});

describe('metricQueryOf on a large fleet', () => {
  it('Given one rollout, When reconciles ask again with the same units and exclusions, Then the cohorts are built once', () => {
    const record = newRecord();
    const now = new Date(T0.getTime() + 60_000);
    // each reconcile of one stored state: a new state object with the same content (re-read from the store)
    const first = metricQueryOf(record, soaking(), now, 300)!;
    const again = metricQueryOf(record, soaking(), new Date(now.getTime() + 1_000), 300)!;
    expect(first.baseline.length).toBeGreaterThan(0);
    expect(again.current).toBe(first.current);
    expect(again.baseline).toBe(first.baseline);
  });

  it('Given cohorts built once, When an operator excludes a unit, Then the cohorts leave it out', () => {
    const record = newRecord();
    const now = new Date(T0.getTime() + 60_000);
    const before = metricQueryOf(record, soaking(), now, 300)!;
    const excluded = before.baseline[0]!.unit;
    const after = metricQueryOf(record, soaking({ excluded: [excluded] }), now, 300)!;
    expect(after.baseline.map((t) => t.unit)).not.toContain(excluded);
    expect(after.baseline).toHaveLength(before.baseline.length - 1);
    expect(after.current).toHaveLength(before.current.length);
  });
});

describe('metricQueryOf on a fleet of 100,000 units', () => {
  it('Given a wave and an old cohort larger than the latency sample, When queried, Then p99 targets are a bounded sample and the error rate every unit', () => {
    const spec = newSpec({
      waves: [
        { name: 'first', percent: 10 },
        { name: 'all', percent: 100 },
      ],
      gates: { errorRate: { max: 0.1 }, latencyP99: { maxIncrease: '20%' } },
    });
    const inventory = newInventory(50, 2_000);
    const record = newRolloutRecord({
      id: 'big',
      spec,
      plan: planRollout(spec, inventory, { now: T0 }),
      inventory,
      createdBy: 'alice',
      now: T0,
    });
    const q = metricQueryOf(record, soaking(), new Date(T0.getTime() + 60_000), 300)!;
    expect(q.current.length).toBeGreaterThan(LATENCY_SAMPLE_LIMIT);
    expect(q.latencyCurrent.length).toBe(LATENCY_SAMPLE_LIMIT);
    expect(q.baseline.length).toBe(LATENCY_SAMPLE_LIMIT);
    expect(q.latencySample).toEqual({ limit: LATENCY_SAMPLE_LIMIT, current: q.current.length, baseline: 90_000 });
    const inWave = new Set(q.current.map((t) => t.unit));
    expect(q.latencyCurrent.every((t) => inWave.has(t.unit))).toBe(true);
  });
});
