import { describe, expect, it } from 'vitest';
import { newHarness, newInventory } from './engine-harness.js';
import { observeUnits } from './unit-observations.js';
import { emptyMembership } from './wave-membership.js';
import { waveUnitsOf } from './wave-units.js';

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
