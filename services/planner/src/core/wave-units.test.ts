import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { newHarness, newInventory } from './engine-harness.js';
import { observeUnits } from './unit-observations.js';
import { emptyMembership } from './wave-membership.js';
import { parsedUnitsOf, waveUnitsOf } from './wave-units.js';

describe('a wave whose membership changed', () => {
  it('Given the state parsed afresh (as each status read parses it), Then its units and their observations are the ones kept', () => {
    // Given a dispatched wave whose prod-2 units were skipped
    const h = newHarness({}, newInventory(3, 12));
    h.settle();
    const skipped = h.record.plan.waves[0]!.units.filter((u) => u.startsWith('prod-2/'));
    expect(skipped.length).toBeGreaterThan(0);
    const state = { ...h.state, membership: { ...emptyMembership(), skipped: { '0': skipped } } };
    const observations = h.fleet.observations();
    const units = waveUnitsOf(h.record, state, 0);
    const observed = observeUnits(h.record, state, observations, [0]);
    expect(units.some((u) => u.unit.startsWith('prod-2/'))).toBe(false);

    // When the same state is read again as a new object
    const parsed = structuredClone(state);

    // Then the wave's units are the same list, and no unit is observed again
    expect(waveUnitsOf(h.record, parsed, 0)).toBe(units);
    observeUnits(h.record, parsed, observations, [0]).forEach((o, i) => expect(o).toBe(observed[i]));

    // and a change of its membership is a new list
    const more = { ...parsed, membership: { ...parsed.membership, skipped: { '0': skipped.slice(1) } } };
    const changed = waveUnitsOf(h.record, more, 0);
    expect(changed).not.toBe(units);
    expect(changed.length).toBe(units.length + 1);
  });
});

/** the live heap after a full collection (V8's `gc`, exposed for this measurement) */
function liveHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('a planned wave’s parsed units (issue 15)', () => {
  it('Given a wave of 20,000 units, When parsed, Then their clusters, namespaces and kinds are held once: under 180 bytes a unit', () => {
    // each unit a string of its own, as parsed from the stored record
    const units = JSON.parse(
      JSON.stringify(Array.from({ length: 20_000 }, (_, i) => `prod-${i % 45}/team-${i % 5}/Deployment/svc-${i}`)),
    ) as string[];
    const before = liveHeap();
    const parsed = parsedUnitsOf({ units });
    const perUnit = (liveHeap() - before) / units.length;
    expect(parsed[7]).toEqual({
      unit: 'prod-7/team-2/Deployment/svc-7',
      cluster: 'prod-7',
      namespace: 'team-2',
      kind: 'Deployment',
      name: 'svc-7',
      local: 'team-2/Deployment/svc-7',
    });
    // each unit's own object, name and key remain (~140 bytes); a string per part was ~240 bytes a unit
    expect(perUnit).toBeLessThan(180);
  });
});
