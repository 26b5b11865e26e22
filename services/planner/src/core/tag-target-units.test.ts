import { Inventory, type UnitProgress } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newHarness, newInventory } from './engine-harness.js';
import type { Observations } from './rollout-state.js';
import { observeUnits, UnitStatus } from './unit-observations.js';
import { waveTallies } from './unit-tallies.js';

// A rollout whose `to` is a revision tag (ADR 0046): the agent labels the units with the tag and judges their pods
// on the revision the tag points at; the sidecar names that revision, never the tag.

/** one wave over 2 clusters whose tag `stable` points at 1-25-2, dispatched */
function onTag() {
  const inventory = newInventory(2, 3);
  const tagged = Inventory.parse({
    ...inventory,
    clusters: inventory.clusters.map((c) => ({ ...c, tags: { stable: '1-25-2' } })),
  });
  const h = newHarness({ to: 'stable', waves: [{ name: 'all', select: {} }] } as never, tagged);
  h.settle();
  return h;
}

/** every unit reported converged on the tag, its pods injected with 1-25-2; `injects` as the agent says it */
function convergedOnTag(observations: Observations, injects: string | undefined): Observations {
  const clusters = new Map(
    [...observations.clusters].map(([name, r]): [string, UnitProgress] => [
      name,
      {
        ...r,
        units: r.units.map((u) => ({
          ...u,
          state: 'converged' as const,
          revision: 'stable',
          injectedRevision: '1-25-2',
          ...(injects !== undefined ? { injects } : {}),
        })),
      },
    ]),
  );
  return { ...observations, clusters };
}

describe('units moved onto a revision tag', () => {
  it('Given the agent reports units converged on tag stable with pods on 1-25-2, the revision the tag points at, Then they are converged and on target', () => {
    const h = onTag();
    const observations = convergedOnTag(h.fleet.observations(), '1-25-2');
    const units = observeUnits(h.record, h.state, observations, [0]);
    expect(units.length).toBe(6);
    expect(units.every((u) => u.status === UnitStatus.Converged)).toBe(true);
    const tallies = waveTallies(h.record, h.state, observations, 0);
    expect(tallies.reduce((n, t) => n + t.onTarget, 0)).toBe(6);
  });

  it('Given pods injected with another revision than the one the tag points at, Then the units are still moving and not on target', () => {
    const h = onTag();
    const observations = convergedOnTag(h.fleet.observations(), '1-26-0');
    const units = observeUnits(h.record, h.state, observations, [0]);
    expect(units.every((u) => u.status === UnitStatus.Moving)).toBe(true);
    expect(waveTallies(h.record, h.state, observations, 0).reduce((n, t) => n + t.onTarget, 0)).toBe(0);
  });

  it('Given an agent that does not say what the tag points at, Then a converged label alone does not count', () => {
    const h = onTag();
    const observations = convergedOnTag(h.fleet.observations(), undefined);
    expect(observeUnits(h.record, h.state, observations, [0]).every((u) => u.status === UnitStatus.Moving)).toBe(true);
  });
});
