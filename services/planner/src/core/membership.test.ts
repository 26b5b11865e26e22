import { describe, expect, it } from 'vitest';
import { T0, newHarness, newInventory, type Harness } from './engine-harness.js';
import { HEARTBEAT_TIMEOUT_MS, listen } from './membership-harness.js';
import { buildMembershipStatus } from '../views/membership-status.js';
import { parseUnit } from './wave-units.js';

const MIN = 60_000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const WAVES = [
  { name: 'canary', percent: 50 },
  { name: 'half', percent: 75 },
  { name: 'all', percent: 100 },
];
const SOAKING = { soak: '10m', maxUnavailable: '50%', batchEstimate: '1m' };
const plannedIn = (h: Harness, w: number, cluster: string): string[] =>
  h.record.plan.waves[w]!.units.filter((u) => parseUnit(u).cluster === cluster);
const onTarget = (h: Harness, cluster: string): number =>
  [...h.fleet.revisions].filter(([k, r]) => k.startsWith(`${cluster}/`) && r === '1-25-2').length;
const sentTo = (h: Harness, cluster: string): boolean =>
  h.fleet.published.some((c) => c.target === `cluster/${cluster}`);

describe('engine: membership changes', () => {
  it('Given onUnreachable: skip and a cluster silent past the heartbeat timeout when a wave starts, Then the wave snapshots the clusters it can reach and leaves the silent one out, saying so; its units come back in the next wave once it speaks', () => {
    const h = newHarness({ waves: WAVES, defaults: SOAKING, onUnreachable: 'skip' });
    const heard = listen(h);
    expect(plannedIn(h, 0, 'prod-2').length).toBeGreaterThan(0);
    heard.silence('prod-2', T0.getTime() - HEARTBEAT_TIMEOUT_MS);
    h.fleet.deaf.add('prod-2');

    h.settle();
    expect(h.state.wavePhase).toBe('Soaking');
    expect(h.state.membership?.snapshots['0']).toEqual(['prod-1']);
    expect(h.state.membership?.skipped['0']).toEqual(plannedIn(h, 0, 'prod-2'));
    expect(sentTo(h, 'prod-2')).toBe(false);
    const dispatched = h.state.history.find((t) => t.trigger === 'dispatched')!;
    expect(dispatched.reason).toContain(`${plannedIn(h, 0, 'prod-2').length} units of Unreachable prod-2 skipped`);

    heard.speak('prod-2');
    h.fleet.deaf.delete('prod-2');
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    expect(h.state.membership?.added['1']).toEqual(expect.arrayContaining(plannedIn(h, 0, 'prod-2')));
    expect(onTarget(h, 'prod-1')).toBe(10);
    expect(onTarget(h, 'prod-2')).toBe(10);
  });

  it('Given onUnreachable: wait (the default) and a silent cluster, Then the wave does not start, the reason naming the cluster and since when; it starts when the cluster speaks', () => {
    const h = newHarness({ waves: WAVES, defaults: SOAKING });
    const heard = listen(h);
    heard.silence('prod-2', T0.getTime() - 2 * MIN);

    h.settle();
    expect(h.state.wavePhase).toBe('Dispatching');
    expect(h.state.dispatchedWaves).toBe(0);
    expect(h.state.reason).toBe(
      `wave "canary" waits for Unreachable cluster(s) prod-2 (silent since ${at(-2 * MIN).toISOString()}) (onUnreachable: wait)`,
    );
    expect(h.fleet.published).toEqual([]);

    h.now = at(MIN);
    heard.speak('prod-2');
    h.settle();
    expect(h.state.wavePhase).toBe('Soaking');
    expect(sentTo(h, 'prod-2')).toBe(true);
    expect(h.state.membership?.snapshots['0']).toEqual(['prod-1', 'prod-2']);
  });

  it('Given onUnreachable: skip and a cluster that falls silent while its units move, Then the engine looks again when the silence becomes Unreachable, the wave goes on without them, and they come back in a later wave', () => {
    const h = newHarness({ waves: WAVES, defaults: SOAKING, onUnreachable: 'skip' });
    const heard = listen(h);
    h.fleet.deaf.add('prod-2'); // its commands are lost: its units never move
    h.settle();
    expect(h.state.wavePhase).toBe('Converging');
    heard.silence('prod-2');
    const d = h.reconcile();
    expect(d.wakeAt!.getTime()).toBeLessThanOrEqual(T0.getTime() + HEARTBEAT_TIMEOUT_MS);

    h.now = at(HEARTBEAT_TIMEOUT_MS);
    h.settle();
    expect(h.state.wavePhase).toBe('Soaking');
    expect(h.state.membership?.skipped['0']).toEqual(plannedIn(h, 0, 'prod-2'));

    h.now = at(HEARTBEAT_TIMEOUT_MS + 10 * MIN); // the soak is over: the next wave starts without prod-2 too
    h.settle();
    expect(h.state.wave).toBe(1);
    expect(h.state.membership?.skipped['1']).toEqual(plannedIn(h, 1, 'prod-2'));
    heard.speak('prod-2');
    h.fleet.deaf.delete('prod-2');
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    expect(onTarget(h, 'prod-2')).toBe(10);
  });

  it('Given onUnreachable: skip and a planner whose own loop lagged, Then a silence counts only from the end of the lag: live agents heard late are not Unreachable, a cluster silent a whole timeout after it is', () => {
    const h = newHarness({ waves: WAVES, defaults: SOAKING, onUnreachable: 'skip' });
    const heard = listen(h);
    h.fleet.deaf.add('prod-2'); // its units never move: they stay in the review
    h.settle();
    expect(h.state.wavePhase).toBe('Converging');
    heard.silence('prod-2');
    const thresholdMs = 1_000;
    // the loop lags right now: a minute of silence is the planner's own deafness
    h.now = at(HEARTBEAT_TIMEOUT_MS);
    h.extra = { ...h.extra, plannerLoad: { lagMs: 20_000, thresholdMs, starvedAt: h.now.getTime() } };
    h.settle();
    expect(h.state.membership?.skipped['0'] ?? []).toEqual([]);
    // back under the threshold: it lagged until 70 s, so prod-2 is Unreachable only at 130 s
    h.now = at(HEARTBEAT_TIMEOUT_MS + 10_000);
    h.extra = { ...h.extra, plannerLoad: { lagMs: 10, thresholdMs, starvedAt: h.now.getTime() } };
    h.settle();
    h.now = at(2 * HEARTBEAT_TIMEOUT_MS + 9_000);
    h.settle();
    expect(h.state.membership?.skipped['0'] ?? []).toEqual([]);
    h.now = at(2 * HEARTBEAT_TIMEOUT_MS + 10_000);
    h.settle();
    expect(h.state.membership?.skipped['0']).toEqual(plannedIn(h, 0, 'prod-2'));
  });

  it('Given onUnreachable: wait and a cluster that falls silent while its units move, Then the wave waits, the status naming the Unreachable cluster; it completes once the cluster is back', () => {
    const h = newHarness({ waves: WAVES, defaults: SOAKING });
    const heard = listen(h);
    h.fleet.deaf.add('prod-2');
    h.settle();
    heard.silence('prod-2');
    h.now = at(HEARTBEAT_TIMEOUT_MS);
    h.settle();
    expect(h.state.wavePhase).toBe('Converging');
    expect(h.state.membership?.unreachable).toEqual({ 'prod-2': T0.toISOString() });
    expect(h.state.reason).toContain(
      `waiting for Unreachable cluster(s) prod-2 (silent since ${T0.toISOString()}) (onUnreachable: wait)`,
    );
    expect(h.state.membership?.skipped).toEqual({});

    heard.speak('prod-2');
    h.fleet.deaf.delete('prod-2');
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    expect(h.state.membership?.unreachable).toEqual({});
    expect(onTarget(h, 'prod-2')).toBe(10);
  });

  it('Given a cluster that joins while the first wave soaks, Then the started wave keeps its snapshot and the waves not started take the units of the new cluster, every one ending on the new revision', () => {
    const h = newHarness({ waves: WAVES, defaults: SOAKING });
    let joined = false;
    const three = newInventory(3);
    listen(h, () => (joined ? three : newInventory(2)));
    h.settle();
    expect(h.state.wavePhase).toBe('Soaking');
    joined = true;
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    expect(h.state.membership?.snapshots['0']).toEqual(['prod-1', 'prod-2']);
    expect(h.state.membership?.snapshots['1']).toContain('prod-3');
    expect(h.state.membership?.added['1']?.every((u) => u.startsWith('prod-3/'))).toBe(true);
    expect(onTarget(h, 'prod-3')).toBe(10);
  });
});

describe('status: membership', () => {
  it('Given units skipped for an Unreachable cluster, Then the status lists the cluster, how many units wait and the wave they come back in', async () => {
    const h = newHarness({ waves: WAVES, defaults: SOAKING, onUnreachable: 'skip' });
    const heard = listen(h);
    heard.silence('prod-2', T0.getTime() - HEARTBEAT_TIMEOUT_MS);
    h.fleet.deaf.add('prod-2');
    h.settle();
    const status = buildMembershipStatus(h.record, h.state);
    expect(status?.skipped).toEqual([
      {
        cluster: 'prod-2',
        units: plannedIn(h, 0, 'prod-2').length,
        wave: 0,
        comesBack: 'they come back in wave "half" if prod-2 is reachable when it starts',
      },
    ]);
    expect(status?.snapshots).toEqual([{ wave: 0, clusters: ['prod-1'] }]);
  });
});
