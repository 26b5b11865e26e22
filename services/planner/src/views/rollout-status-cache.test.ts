import type { Observations } from '../core/rollout-state.js';
import { describe, expect, it } from 'vitest';
import { newHarness } from '../core/engine-harness.js';
import { RolloutStatusCache, STATUS_CACHE_ROLLOUTS } from './rollout-status-cache.js';
import { buildWaveStatuses } from './rollout-status.js';

/**
 * A harness whose first wave went out and whose agents reported (every wave has statuses worth building), read
 * once through a new cache.
 */
function newRolloutReadOnce() {
  const h = newHarness();
  h.settle();
  expect(h.state.dispatchedWaves).toBeGreaterThan(0);
  const cache = new RolloutStatusCache();
  const observations = h.fleet.observations();
  const inputs = { record: h.record, state: h.state, stateVersion: 7, observations };
  return { h, cache, observations, inputs, first: cache.wavesOf('r1', inputs) };
}

describe('a status read builds its wave statuses again only when what they derive from changed', () => {
  it('answers the same wave statuses while the record, the state version and every report stay the same', () => {
    // Given a running rollout read once
    const { h, cache, observations, inputs, first } = newRolloutReadOnce();

    // When it is read again with nothing changed (the state parsed afresh, as each read parses it)
    const again = cache.wavesOf('r1', { ...inputs, state: structuredClone(h.state) });

    // Then the statuses are the ones built before, and they are what building them now gives
    expect(again).toBe(first);
    expect(again).toEqual(buildWaveStatuses(h.record, h.state, observations));
  });

  it('builds them again when a report, a health report or the state version changes', () => {
    const { h, cache, inputs, first } = newRolloutReadOnce();

    // a cluster's report replaced (a unit of the first wave crash-loops now): counted anew
    h.fleet.failing.add(h.record.plan.waves[0]!.units[0]!);
    const moved: Observations = h.fleet.observations();
    const afterReport = cache.wavesOf('r1', { ...inputs, observations: moved });
    expect(afterReport).not.toBe(first);
    expect(afterReport).toEqual(buildWaveStatuses(h.record, h.state, moved));
    expect(afterReport[0]!.units.failed).toBe(first[0]!.units.failed + 1);

    // a health report received
    const health = new Map(moved.health);
    health.set('prod-1', { report: { cluster: 'prod-1', units: [] } as never, receivedAt: h.now.toISOString() });
    const afterHealth = cache.wavesOf('r1', { ...inputs, observations: { ...moved, health } });
    expect(afterHealth).not.toBe(afterReport);

    // the state written again (a new version), with the same reports
    const afterState = cache.wavesOf('r1', { ...inputs, stateVersion: 8, observations: { ...moved, health } });
    expect(afterState).not.toBe(afterHealth);
    expect(afterState).toEqual(afterHealth);
  });

  it(`keeps the statuses of the ${STATUS_CACHE_ROLLOUTS} rollouts read last`, () => {
    const { h } = newRolloutReadOnce();
    const cache = new RolloutStatusCache();
    const inputs = { record: h.record, state: h.state, stateVersion: 1, observations: h.fleet.observations() };
    const first = cache.wavesOf('r0', inputs);
    const r1 = cache.wavesOf('r1', inputs);
    for (let i = 2; i < STATUS_CACHE_ROLLOUTS; i++) cache.wavesOf(`r${i}`, inputs);
    // r0 read again: the one read longest ago is r1 now
    expect(cache.wavesOf('r0', inputs)).toBe(first);
    cache.wavesOf(`r${STATUS_CACHE_ROLLOUTS}`, inputs);
    expect(cache.wavesOf('r0', inputs)).toBe(first);
    expect(cache.wavesOf('r1', inputs)).not.toBe(r1);
  });
});
