import { TransitionTrigger, unitKey } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newHarness } from './engine-harness.js';
import { failedUnitsOf, retryFailedUnits } from './unit-retry.js';

/** A rollout halted by a unit of its first wave that crash-loops on the new revision. */
function haltedByFailure(): { h: ReturnType<typeof newHarness>; failing: string } {
  const h = newHarness({ onGateFailure: 'halt' });
  const failing = h.record.plan.waves[0]!.units[0]!;
  h.fleet.failing.add(failing);
  h.runUntil(['Halted']);
  expect(h.state.phase).toBe('Halted');
  return { h, failing };
}

describe('engine: retrying failed units on the same target', () => {
  it('Given a rollout halted by a failed unit, When an operator retries it, Then the wave goes out again with the unit on its next attempt, and the rollout completes once it converges', () => {
    const { h, failing } = haltedByFailure();
    expect(failedUnitsOf(h.record, h.state, h.fleet.observations())).toEqual([failing]);

    const r = retryFailedUnits(h.record, h.state, h.fleet.observations(), {
      actor: 'olga',
      reason: 'config map fixed',
      now: h.now,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.transitions.map((t) => [t.trigger, t.to, t.actor])).toEqual([
      [TransitionTrigger.Retry, 'Running/Dispatching', 'olga'],
    ]);
    expect(r.message).toBe(`retry of ${failing} on 1-25-2 by olga: config map fixed`);
    h.state = r.state;
    h.fleet.failing.clear();

    const d = h.reconcile();
    const [cluster] = failing.split('/');
    const sent = d.commands.find((c) => c.kind === 'cluster' && c.data.cluster === cluster);
    expect(sent?.kind === 'cluster' && sent.data.halted).toBe(false);
    const units = sent?.kind === 'cluster' ? sent.data.units : [];
    const retried = units.filter((u) => `${cluster}/${unitKey(u)}` === failing);
    expect(retried).toEqual([expect.objectContaining({ revision: '1-25-2', attempt: 1 })]);
    expect(units.filter((u) => u.attempt !== undefined)).toHaveLength(1);

    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
  });

  it('a second retry of the same unit is its next attempt', () => {
    const { h, failing } = haltedByFailure();
    const first = retryFailedUnits(h.record, h.state, h.fleet.observations(), {
      reason: 'a',
      actor: 'olga',
      now: h.now,
    });
    if (!first.ok) throw new Error(first.why);
    h.state = first.state;
    h.runUntil(['Halted']);
    const second = retryFailedUnits(h.record, h.state, h.fleet.observations(), {
      units: [failing],
      reason: 'b',
      actor: 'olga',
      now: h.now,
    });
    expect(second.ok && second.state.retries).toEqual({ [failing]: 2 });
  });

  it('refuses a unit that is not a failed unit of the rollout, naming units[i]', () => {
    const { h, failing } = haltedByFailure();
    const r = retryFailedUnits(h.record, h.state, h.fleet.observations(), {
      units: [failing, 'prod-9/nowhere'],
      reason: 'x',
      actor: 'olga',
      now: h.now,
    });
    expect(r).toEqual({
      ok: false,
      why: 'only failed units can be retried',
      problems: [{ path: 'units[1]', message: 'prod-9/nowhere is not a failed unit of rollout r1' }],
    });
  });

  it('refuses when nothing failed, and once the rollout is finished', () => {
    const h = newHarness();
    h.reconcile();
    expect(
      retryFailedUnits(h.record, h.state, h.fleet.observations(), { reason: 'x', actor: 'o', now: h.now }),
    ).toEqual({
      ok: false,
      why: 'rollout r1 has no failed unit to retry',
    });
    h.runUntil(['Completed']);
    const done = retryFailedUnits(h.record, h.state, h.fleet.observations(), { reason: 'x', actor: 'o', now: h.now });
    expect(done.ok).toBe(false);
  });
});
