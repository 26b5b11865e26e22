import { describe, expect, it } from 'vitest';
import { T0, newHarness } from './engine-harness.js';

const MIN = 60_000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const BLACKOUT = { from: at(10 * MIN).toISOString(), to: at(120 * MIN).toISOString(), reason: 'sales event' };

describe('engine: windows and blackouts govern every restart', () => {
  it('Given a wave soaking when a blackout begins, Then its agents are told to start no new restart and no wave starts until the blackout ends, the reason saying until when; then it runs to the end', () => {
    const h = newHarness({
      defaults: { soak: '30m', maxUnavailable: '50%', batchEstimate: '1m' },
      windows: { blackouts: [BLACKOUT] },
    });
    h.settle();
    expect(h.state.wavePhase).toBe('Soaking');
    const touched = Object.keys(h.state.targets).sort();

    h.now = at(10 * MIN);
    const d = h.reconcile();
    const held = d.commands.filter((c) => c.kind === 'cluster');
    expect(held.map((c) => c.target).sort()).toEqual(touched);
    expect(held.every((c) => c.kind === 'cluster' && c.data.halted)).toBe(true);
    const until = new Date(BLACKOUT.to).toISOString();
    expect(h.state.reason).toBe(
      `waiting for window until ${until} (blackout "sales event" until ${until}): no new restart starts, those in flight finish`,
    );
    expect(d.wakeAt!.getTime()).toBeLessThanOrEqual(Date.parse(BLACKOUT.to));

    const sentBefore = h.fleet.published.length;
    h.runUntil(['Completed'], at(120 * MIN - 1));
    expect(h.state.dispatchedWaves).toBe(1);
    expect(h.fleet.published.slice(sentBefore).every((c) => c.kind !== 'cluster' || c.data.halted)).toBe(true);
    expect([...h.fleet.desired.values()].every((x) => x.halted)).toBe(true);
    expect(h.state.reason).toMatch(/^waiting for window until /);

    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    expect(h.triggers().filter((t) => t.startsWith('dispatched'))).toEqual([
      'dispatched:0',
      'dispatched:1',
      'dispatched:2',
    ]);
    const dispatchedAt = h.state.history.filter((t) => t.trigger === 'dispatched').map((t) => Date.parse(t.at));
    expect(dispatchedAt.slice(1).every((t) => t >= Date.parse(BLACKOUT.to))).toBe(true);
  });

  it('Given a failback under way when a blackout begins, Then it goes on: restoring is not held', () => {
    const h = newHarness({
      defaults: { soak: '0s', maxUnavailable: '50%', batchEstimate: '1m' },
      windows: { blackouts: [BLACKOUT] },
      onGateFailure: 'rollback-all',
    });
    h.fleet.failing.add(h.record.plan.waves[0]!.units[0]!);
    h.reconcile();
    h.now = at(10 * MIN);
    h.runUntil(['RolledBack'], at(20 * MIN));
    expect(h.state.phase).toBe('RolledBack');
  });
});
