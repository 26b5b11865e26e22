import type { HealthDelta, HealthReport, UnitProgress, UnitProgressDelta, VmProgress } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { applyHealthDelta, applyProgressDelta, applyVmProgressDelta } from './report-delta.js';

const entry = (name: string, state: 'pending' | 'restarting' | 'converged' | 'failed' = 'pending') => ({
  namespace: 'shop',
  kind: 'Deployment',
  name,
  state,
  revision: '1-25-2',
});

const held: UnitProgress = {
  cluster: 'c1',
  rolloutId: 'r1',
  generation: 3,
  halted: false,
  units: [entry('a'), entry('b'), entry('c')],
  seq: 100,
};

const delta = (overrides: Partial<UnitProgressDelta> = {}): UnitProgressDelta => ({
  cluster: 'c1',
  rolloutId: 'r1',
  generation: 3,
  halted: false,
  seq: 101,
  base: 100,
  upserted: [],
  removed: [],
  ...overrides,
});

describe('applying a progress delta (ADR 0048)', () => {
  it('Given the report it follows, Then changed units replace theirs in place, new ones join, gone ones leave', () => {
    const outcome = applyProgressDelta(
      held,
      delta({
        generation: 4,
        upserted: [entry('b', 'converged'), entry('d', 'restarting')],
        removed: [{ namespace: 'shop', kind: 'Deployment', name: 'c' }],
      }),
    );
    expect(outcome.kind).toBe('applied');
    if (outcome.kind !== 'applied') return;
    expect(outcome.report.units.map((u) => `${u.name}:${u.state}`)).toEqual([
      'a:pending',
      'b:converged',
      'd:restarting',
    ]);
    // the next delta follows this one, and the rest of the report is the delta's
    expect(outcome.report).toMatchObject({ seq: 101, generation: 4, halted: false });
    expect(outcome.report).not.toHaveProperty('base');
    // the held report is not changed (the planner may still hold it)
    expect(held.units).toHaveLength(3);
  });

  it('Given a redelivered delta (its seq not above the held one), Then it is stale', () => {
    expect(applyProgressDelta(held, delta({ seq: 100, base: 99 })).kind).toBe('stale');
  });

  it('Given a delta that follows a report the planner missed, Then it is a gap with why', () => {
    expect(applyProgressDelta(held, delta({ seq: 103, base: 102 }))).toEqual({
      kind: 'gap',
      reason: 'a delta on seq 102 arrived; the planner holds seq 100',
    });
  });

  it('Given nothing held (a new leader) or a whole report with no place in a chain (an older agent), Then a gap', () => {
    expect(applyProgressDelta(undefined, delta()).kind).toBe('gap');
    const { seq: _seq, ...unchained } = held;
    expect(applyProgressDelta(unchained, delta()).kind).toBe('gap');
  });
});

describe('applying a health delta (ADR 0048)', () => {
  const unit = (name: string, restarts: number) => ({
    namespace: 'shop',
    kind: 'Deployment',
    name,
    unavailableReplicas: 0,
    restarts,
    crashLooping: restarts > 3,
    sidecarMismatch: false,
  });
  const report: HealthReport = {
    source: 'c1',
    generation: 1_000,
    observedAt: '2026-12-06T10:00:00.000Z',
    units: [unit('a', 0), unit('b', 0)],
  };
  const healthDelta: HealthDelta = {
    source: 'c1',
    generation: 1_500,
    base: 1_000,
    observedAt: '2026-12-06T10:00:02.000Z',
    degraded: { reason: 'event-loop-lag', lagMs: 900 },
    upserted: [unit('b', 5)],
    removed: [{ namespace: 'shop', kind: 'Deployment', name: 'a' }],
  };

  it('Given the report it follows (its generation), Then its units change and the rest is the delta’s', () => {
    const outcome = applyHealthDelta(report, healthDelta);
    expect(outcome.kind).toBe('applied');
    if (outcome.kind !== 'applied') return;
    expect(outcome.report.units).toEqual([unit('b', 5)]);
    expect(outcome.report).toMatchObject({ generation: 1_500, degraded: { lagMs: 900 } });
  });

  it('Given a delta on another generation, Then a gap; on an older one, stale', () => {
    expect(applyHealthDelta(report, { ...healthDelta, base: 1_200 }).kind).toBe('gap');
    expect(applyHealthDelta(report, { ...healthDelta, generation: 900 }).kind).toBe('stale');
  });
});

describe('applying a VM progress delta (ADR 0048)', () => {
  const host = (name: string, state: 'pending' | 'converged') => ({
    name,
    version: state === 'converged' ? '1-25-2' : '1-24-5',
    state,
    healthy: true,
  });
  const group: VmProgress = {
    group: 'g1',
    rolloutId: 'r1',
    generation: 2,
    halted: false,
    hosts: [host('h1', 'pending'), host('h2', 'pending')],
    seq: 7,
  };

  it('Given the report it follows, Then only the named hosts change', () => {
    const outcome = applyVmProgressDelta(group, {
      group: 'g1',
      rolloutId: 'r1',
      generation: 2,
      halted: false,
      seq: 8,
      base: 7,
      upserted: [host('h2', 'converged')],
      removed: [],
    });
    expect(outcome.kind).toBe('applied');
    if (outcome.kind !== 'applied') return;
    expect(outcome.report.hosts).toEqual([host('h1', 'pending'), host('h2', 'converged')]);
    expect(outcome.report.seq).toBe(8);
  });
});
