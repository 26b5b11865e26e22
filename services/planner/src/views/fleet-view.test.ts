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

describe('sidecarless workloads of an ambient namespace (ADR 0051)', () => {
  const inventory = Inventory.parse({
    clusters: [
      {
        name: 'staging',
        namespaces: [
          { name: 'orders', labels: { 'istio.io/dataplane-mode': 'ambient' } },
          { name: 'shop', labels: {} },
        ],
        workloads: [
          { namespace: 'shop', kind: 'Deployment', name: 'web', revision: '1-25-2', injectedRevision: '1-25-2' },
          // ambient: no sidecar, the node's ztunnel carries them
          { namespace: 'orders', kind: 'Deployment', name: 'orders', revision: null, injectedRevision: null },
          { namespace: 'orders', kind: 'Deployment', name: 'ledger', revision: null },
          // a sidecar still injected in the ambient namespace is a sidecar workload like any other
          { namespace: 'orders', kind: 'Deployment', name: 'legacy', revision: null, injectedRevision: '1-24-5' },
          // no sidecar outside an ambient namespace: a workload on no revision
          { namespace: 'shop', kind: 'Deployment', name: 'batch', revision: null },
        ],
      },
    ],
  });

  it('count as ambient, on no revision (not "none") and never as mismatched', () => {
    const fleet = buildFleetView(inventory, new Map(), new Map());
    expect(fleet.clusters[0]).toMatchObject({
      workloads: 5,
      ambient: 2,
      revisions: { '1-25-2': 1, none: 2 },
      mismatched: 1,
    });
  });

  it('a cluster without ambient namespaces has no ambient count', () => {
    const plain = Inventory.parse({
      clusters: [{ name: 'c', workloads: [{ namespace: 'orders', kind: 'Deployment', name: 'o', revision: null }] }],
    });
    const view = buildFleetView(plain, new Map(), new Map()).clusters[0]!;
    expect(view.ambient).toBeUndefined();
    expect(view.revisions).toEqual({ none: 1 });
  });
});
