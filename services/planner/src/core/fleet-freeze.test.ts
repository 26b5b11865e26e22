import { describe, expect, it } from 'vitest';
import { T0, newHarness } from './engine-harness.js';
import { changeFreeze, freezeOf, type Freeze } from './fleet-freeze.js';

const FREEZE: Freeze = { reason: 'incident 4711', since: T0.toISOString(), by: 'olga' };
const later = (ms: number): Date => new Date(T0.getTime() + ms);

describe('engine: a fleet-wide freeze', () => {
  it('Given a running rollout, When the fleet freezes, Then every target is told at once to start no restart and no wave starts; once lifted it runs to the end', () => {
    const h = newHarness();
    h.reconcile();
    expect(h.state.dispatchedWaves).toBe(1);

    const touched = Object.keys(h.state.targets).sort();
    expect(touched.length).toBeGreaterThan(0);

    h.extra = { freeze: FREEZE };
    const frozen = h.reconcile();
    const sent = frozen.commands.filter((c) => c.kind === 'cluster');
    expect(sent.map((c) => c.target).sort()).toEqual(touched);
    expect(sent.every((c) => c.kind === 'cluster' && c.data.halted)).toBe(true);

    h.runUntil(['Completed'], later(7 * 86_400_000));
    expect(h.state.phase).toBe('Running');
    expect(h.state.dispatchedWaves).toBe(1);
    expect(h.state.reason).toBe(
      `frozen since ${FREEZE.since} by olga (incident 4711): nothing starts until the freeze is lifted`,
    );
    expect([...h.fleet.desired.values()].every((d) => d.halted)).toBe(true);

    h.extra = {};
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    expect([...h.fleet.desired.values()].every((d) => !d.halted)).toBe(true);
    expect(h.record.plan.waves.flatMap((w) => w.units).every((u) => h.fleet.revisions.get(u) === '1-25-2')).toBe(true);
  });

  it('Given a frozen fleet, When a rollout is due to start, Then it stays Pending and says why', () => {
    const h = newHarness();
    h.extra = { freeze: FREEZE };
    h.runUntil(['Running'], later(86_400_000));
    expect(h.state.phase).toBe('Pending');
    expect(h.state.reason).toContain('frozen since');
    expect(h.fleet.published).toEqual([]);
  });

  it('Given a finished rollout, When the fleet freezes, Then nothing is sent to its targets', () => {
    const h = newHarness();
    h.runUntil(['Completed']);
    const before = h.fleet.published.length;
    h.extra = { freeze: FREEZE };
    expect(h.reconcile().commands).toEqual([]);
    expect(h.fleet.published.length).toBe(before);
  });
});

describe('changeFreeze', () => {
  it('freezes with who, when and why, and lifts with the same', () => {
    const on = changeFreeze(undefined, { frozen: true, reason: 'incident', actor: 'olga', now: T0 });
    expect(on).toEqual({
      ok: true,
      status: { frozen: true, reason: 'incident', since: T0.toISOString(), by: 'olga' },
      message: 'fleet frozen by olga: incident',
    });
    if (!on.ok) return;
    expect(freezeOf(on.status)).toEqual({ reason: 'incident', since: T0.toISOString(), by: 'olga' });
    const off = changeFreeze(on.status, { frozen: false, reason: 'resolved', actor: 'ada', now: later(60_000) });
    expect(off).toMatchObject({ ok: true, status: { frozen: false, reason: 'resolved', by: 'ada' } });
    if (off.ok) expect(freezeOf(off.status)).toBeUndefined();
  });

  it('refuses a second freeze (keeping the first reason) and lifting a freeze there is not', () => {
    const on = changeFreeze(undefined, { frozen: true, reason: 'incident', actor: 'olga', now: T0 });
    if (!on.ok) throw new Error('freeze refused');
    expect(changeFreeze(on.status, { frozen: true, reason: 'again', actor: 'ada', now: T0 })).toEqual({
      ok: false,
      why: `the fleet is already frozen since ${T0.toISOString()} by olga: incident`,
    });
    expect(changeFreeze(undefined, { frozen: false, reason: 'x', actor: 'ada', now: T0 })).toEqual({
      ok: false,
      why: 'the fleet is not frozen',
    });
  });
});
