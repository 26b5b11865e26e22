import { describe, expect, it } from 'vitest';
import { Inventory } from '@meshwave/contracts';
import { newHarness, newInventory } from './engine-harness.js';

// A tag move (ADR 0035) as the engine sends it: each cluster's desired state names the tag once the cluster has
// units; units keep the revision they must end on, and the agents point the tag there before restarting them.
const taggedInventory = (): Inventory => {
  const inv = newInventory(2, 10);
  return Inventory.parse({
    clusters: inv.clusters.map((c) => ({
      ...c,
      tags: { 'prod-stable': '1-24-5' },
      workloads: c.workloads.map((w) => ({ ...w, revision: 'prod-stable' })),
    })),
  });
};

describe('engine: a tag move', () => {
  it('sends the tag with every cluster desired state, the units towards `to`, and completes', () => {
    const h = newHarness({ tag: 'prod-stable' }, taggedInventory());
    h.reconcile();
    const first = [...h.fleet.desired.values()];
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((d) => d.tag === 'prod-stable' && d.units.every((u) => u.revision === '1-25-2'))).toBe(true);
    h.runUntil(['Completed', 'Halted', 'Failed']);
    expect(h.state.phase).toBe('Completed');
    expect(h.record.plan.waves.flatMap((w) => w.units)).toHaveLength(20);
  });

  it('fails back by sending every unit of the clusters back to `from`, so the agents point the tag back', () => {
    const h = newHarness({ tag: 'prod-stable', onGateFailure: 'rollback-all' }, taggedInventory());
    h.fleet.failing.add(h.record.plan.waves[1]!.units[0]!);
    h.runUntil(['RolledBack', 'Completed', 'Failed']);
    expect(h.state.phase).toBe('RolledBack');
    const last = [...h.fleet.desired.values()];
    expect(last.every((d) => d.tag === 'prod-stable' && d.units.every((u) => u.revision === '1-24-5'))).toBe(true);
  });

  it('names no tag where the rollout relabels', () => {
    const h = newHarness();
    h.reconcile();
    expect([...h.fleet.desired.values()].every((d) => d.tag === undefined)).toBe(true);
  });

  it("tells the agents when the rollout allows an unsupported upgrade path, so their live re-check of the tag's path does not refuse it (ADR 0046)", () => {
    const allowed = newHarness(
      { tag: 'prod-stable', allowUnsupportedUpgradePath: { reason: 'tested on staging' } },
      taggedInventory(),
    );
    allowed.reconcile();
    expect([...allowed.fleet.desired.values()].every((d) => d.allowUnsupportedUpgradePath === true)).toBe(true);
    const strict = newHarness({ tag: 'prod-stable' }, taggedInventory());
    strict.reconcile();
    expect([...strict.fleet.desired.values()].every((d) => d.allowUnsupportedUpgradePath === undefined)).toBe(true);
  });
});
