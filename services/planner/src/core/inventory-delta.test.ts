import type { InventoryDelta, InventoryReport, InventoryWorkload } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { applyInventoryDelta } from './inventory-delta.js';

const newWorkload = (name: string, revision: string | null = '1-24-5'): InventoryWorkload => ({
  namespace: 'shop',
  kind: 'Deployment',
  name,
  labels: {},
  revision,
  replicas: 1,
});

const held: InventoryReport = {
  cluster: 'c1',
  labels: { env: 'prod' },
  generation: 10,
  workloads: [newWorkload('a'), newWorkload('b'), newWorkload('c')],
  namespaces: [{ name: 'shop', labels: {} }],
  tags: { stable: '1-24-5' },
};

const newDelta = (overrides: Partial<InventoryDelta> = {}): InventoryDelta => ({
  cluster: 'c1',
  labels: { env: 'prod' },
  generation: 11,
  base: 10,
  upserted: [],
  removed: [],
  ...overrides,
});

describe('applying an inventory delta (ADR 0031)', () => {
  it('Given the report it follows, Then changed and new workloads replace or join, gone ones leave, the rest stays', () => {
    const outcome = applyInventoryDelta(
      held,
      newDelta({
        upserted: [newWorkload('b', '1-25-2'), newWorkload('d')],
        removed: [{ namespace: 'shop', kind: 'Deployment', name: 'c' }],
      }),
    );
    expect(outcome.kind).toBe('applied');
    if (outcome.kind !== 'applied') return;
    expect(outcome.report.generation).toBe(11);
    expect(outcome.report.workloads.map((w) => `${w.name}@${w.revision}`)).toEqual([
      'a@1-24-5',
      'b@1-25-2',
      'd@1-24-5',
    ]);
    // a field the delta leaves out is unchanged, never "none"
    expect(outcome.report.namespaces).toEqual(held.namespaces);
    expect(outcome.report.tags).toEqual(held.tags);
    expect(outcome.changes).toEqual([
      { before: newWorkload('c') },
      { before: newWorkload('b'), after: newWorkload('b', '1-25-2') },
      { after: newWorkload('d') },
    ]);
  });

  it('Given no held inventory, Then it is a gap', () => {
    expect(applyInventoryDelta(undefined, newDelta()).kind).toBe('gap');
  });

  it('Given a held report older than the delta’s base (a delta was missed), Then it is a gap', () => {
    const outcome = applyInventoryDelta(held, newDelta({ base: 11, generation: 12 }));
    expect(outcome).toEqual({
      kind: 'gap',
      reason: 'a delta on generation 11 arrived; the planner holds generation 10',
    });
  });

  it('Given a held report as new as the delta (a redelivery), Then it is stale and changes nothing', () => {
    expect(applyInventoryDelta(held, newDelta({ base: 9, generation: 10 })).kind).toBe('stale');
  });

  it('Given a held report with revision pods, Then a delta without them keeps them, one with them replaces them', () => {
    const revisionPods = [{ revision: '1-24-5', pods: 3, users: [], more: 0 }];
    const withPods: InventoryReport = { ...held, revisionPods };
    const kept = applyInventoryDelta(withPods, newDelta({ upserted: [newWorkload('d')] }));
    expect(kept.kind === 'applied' && kept.report.revisionPods).toEqual(revisionPods);
    const moved = [{ revision: '1-25-2', pods: 1, users: [], more: 0 }];
    const replaced = applyInventoryDelta(withPods, newDelta({ revisionPods: moved }));
    expect(replaced.kind === 'applied' && replaced.report.revisionPods).toEqual(moved);
    // a truncation mark describes the list it came with, not the one that replaces it
    const fresh = applyInventoryDelta({ ...withPods, revisionPodsTruncated: true }, newDelta({ revisionPods: moved }));
    expect(fresh.kind === 'applied' && fresh.report.revisionPodsTruncated).toBeUndefined();
  });
  it('Given gateways held, Then a delta without them keeps them and one with them replaces them whole (ADR 0047)', () => {
    const gateway = {
      namespace: 'istio-ingress',
      name: 'ingress',
      kind: 'injected' as const,
      labels: {},
      revision: '1-24-5',
      replicas: 2,
    };
    const withGateways = { ...held, gateways: [gateway] };
    const kept = applyInventoryDelta(withGateways, newDelta());
    expect(kept.kind === 'applied' && kept.report.gateways).toEqual([gateway]);
    const moved = { ...gateway, revision: '1-25-2' };
    const replaced = applyInventoryDelta(withGateways, newDelta({ gateways: [moved] }));
    expect(replaced.kind === 'applied' && replaced.report.gateways).toEqual([moved]);
  });
});
