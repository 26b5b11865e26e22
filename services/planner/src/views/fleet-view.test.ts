import { Inventory } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { countByRevision } from '../metrics/unit-gauge.js';
import { buildFleetView } from './fleet-view.js';

describe('workloads labelled with a revision tag', () => {
  const inventory = Inventory.parse({
    clusters: [
      {
        name: 'c1',
        tags: { 'prod-stable': '1-24-5' },
        workloads: [
          // labelled with the tag, injected through it by 1-24-5: on 1-24-5, no mismatch
          { namespace: 'shop', kind: 'Deployment', name: 'web', revision: 'prod-stable', injectedRevision: '1-24-5' },
          { namespace: 'shop', kind: 'Deployment', name: 'api', revision: '1-25-2', injectedRevision: '1-25-2' },
        ],
      },
    ],
  });

  it('count on the revision the tag points to, in the fleet view and the units gauge', () => {
    const fleet = buildFleetView(inventory, new Map(), new Map());
    expect(fleet.clusters[0]).toMatchObject({ revisions: { '1-24-5': 1, '1-25-2': 1 }, mismatched: 0 });
    expect(fleet.revisions.map((r) => [r.revision, r.workloads])).toEqual([
      ['1-24-5', 1],
      ['1-25-2', 1],
    ]);
    const c1 = inventory.clusters[0]!;
    expect([...countByRevision(c1.workloads, c1.tags)]).toEqual([
      ['1-24-5', 1],
      ['1-25-2', 1],
    ]);
  });
});
