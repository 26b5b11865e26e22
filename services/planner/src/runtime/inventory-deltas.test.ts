import type { OutgoingMessage } from '@meshwave/bus';
import { MessageType, type InventoryDelta, type InventoryReport } from '@meshwave/contracts';
import { createInMemoryStore, type StateStore, type VersionedDoc } from '@meshwave/store';
import { silentLogger } from '@meshwave/telemetry';
import { describe, expect, it } from 'vitest';
import { newFleetWorkloads } from '../../../../test/integration/planner/scripted-agents.js';
import { PlannerMetrics } from '../metrics/planner-metrics.js';
import { FleetInventory } from './fleet-inventory.js';
import { RESYNC_REQUEST_INTERVAL_MS } from './inventory-resync.js';
import type { PlannerContext } from './planner-context.js';

const lease = { name: 'planner/leader', holder: 'test', epoch: 1 };

interface World {
  readonly inventory: FleetInventory;
  readonly metrics: PlannerMetrics;
  readonly store: StateStore;
  /** the resync requests the planner published */
  readonly asked: () => OutgoingMessage[];
  /** documents the store handed out */
  readonly docsRead: () => number;
  advance(ms: number): void;
}

function newWorld(): World {
  const inner = createInMemoryStore();
  let docs = 0;
  const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
    read: async (scope: string, name: string): Promise<VersionedDoc | undefined> => {
      const doc = await inner.read(scope, name);
      if (doc) docs += 1;
      return doc;
    },
  });
  const sent: OutgoingMessage[] = [];
  let now = 1_000_000;
  const metrics = new PlannerMetrics();
  const context = {
    store,
    metrics,
    logger: silentLogger(),
    clock: { now: () => now },
    bus: { publish: async (messages: OutgoingMessage[]) => void sent.push(...messages) },
  } as unknown as PlannerContext;
  return {
    inventory: new FleetInventory(context, { requireLeader: () => lease }),
    metrics,
    store,
    asked: () => sent.filter((m) => m.type === MessageType.InventoryResync),
    docsRead: () => docs,
    advance: (ms) => void (now += ms),
  };
}

const whole = (generation: number): InventoryReport => ({
  cluster: 'c1',
  labels: {},
  generation,
  workloads: newFleetWorkloads(4, '1-24-5'),
});

const delta = (base: number, generation: number, changes: Partial<InventoryDelta> = {}): InventoryDelta => ({
  cluster: 'c1',
  labels: {},
  base,
  generation,
  upserted: [],
  removed: [],
  ...changes,
});

/** the inventory of c1 as stored: as a planner that holds nothing yet (a new leader) reads it */
async function storedReport(store: StateStore): Promise<InventoryReport | undefined> {
  const context = {
    store,
    metrics: new PlannerMetrics(),
    logger: silentLogger(),
    clock: { now: () => 0 },
    bus: { publish: async () => undefined },
  } as unknown as PlannerContext;
  const reader = new FleetInventory(context, { requireLeader: () => lease });
  return (await reader.stored()).reported.get('c1')?.report;
}

async function gauge(metrics: PlannerMetrics): Promise<Record<string, number>> {
  const values = (await metrics.unitsByRevision.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.revision), v.value]));
}

describe('inventory deltas at the planner (ADR 0031)', () => {
  it('Given a whole report, When deltas follow it, Then each is applied without a read and the gauge follows', async () => {
    const w = newWorld();
    await w.inventory.storeReport(lease, whole(10));
    const [first, second] = newFleetWorkloads(4, '1-25-2');
    const readBefore = w.docsRead();
    await w.inventory.storeDelta(lease, delta(10, 11, { upserted: [first!] }));
    await w.inventory.storeDelta(lease, delta(11, 12, { upserted: [second!] }));
    expect(w.docsRead()).toBe(readBefore);
    const report = await storedReport(w.store);
    expect(report?.generation).toBe(12);
    expect(report?.workloads.filter((x) => x.revision === '1-25-2')).toHaveLength(2);
    expect(await gauge(w.metrics)).toEqual({ '1-24-5': 2, '1-25-2': 2 });
    expect(w.asked()).toEqual([]);
  });

  it('Given a missed delta, Then the agent is asked once for its whole inventory and the held one is kept', async () => {
    const w = newWorld();
    await w.inventory.storeReport(lease, whole(10));
    // generation 11 never arrived
    await w.inventory.storeDelta(lease, delta(11, 12));
    await w.inventory.storeDelta(lease, delta(12, 13));
    expect(w.asked()).toHaveLength(1);
    expect(w.asked()[0]).toMatchObject({ topic: 'commands', key: 'cluster/c1', audience: 'cluster/c1' });
    expect((await storedReport(w.store))?.generation).toBe(10);
    // Still no whole report after the interval: asked again (the request or the answer may be lost)
    w.advance(RESYNC_REQUEST_INTERVAL_MS);
    await w.inventory.storeDelta(lease, delta(13, 14));
    expect(w.asked()).toHaveLength(2);
  });

  it('Given no inventory of the cluster (a new leader, a store lost), Then a delta asks for the whole one', async () => {
    const w = newWorld();
    await w.inventory.storeDelta(lease, delta(11, 12));
    expect(w.asked()).toHaveLength(1);
    expect(await storedReport(w.store)).toBeUndefined();
    // the whole report arrives, and the next delta applies on it
    await w.inventory.storeReport(lease, whole(13));
    await w.inventory.storeDelta(
      lease,
      delta(13, 14, { removed: [{ namespace: 'team-0', kind: 'Deployment', name: 'svc-0' }] }),
    );
    const report = await storedReport(w.store);
    expect(report?.generation).toBe(14);
    expect(report?.workloads.map((x) => x.name)).toEqual(['svc-1', 'svc-2', 'svc-3']);
    expect(w.asked()).toHaveLength(1);
  });

  it('Given a redelivered delta, Then nothing changes', async () => {
    const w = newWorld();
    await w.inventory.storeReport(lease, whole(10));
    const [first] = newFleetWorkloads(1, '1-25-2');
    await w.inventory.storeDelta(lease, delta(10, 11, { upserted: [first!] }));
    await w.inventory.storeDelta(lease, delta(10, 11, { upserted: [first!] }));
    expect(await gauge(w.metrics)).toEqual({ '1-24-5': 3, '1-25-2': 1 });
    expect(w.asked()).toEqual([]);
  });
});

describe('ambient workloads in the meshwave_units gauge (ADR 0051)', () => {
  const AMBIENT = { 'istio.io/dataplane-mode': 'ambient' };
  const sidecarless = (name: string) => ({
    namespace: 'orders',
    kind: 'Deployment' as const,
    name,
    labels: {},
    replicas: 1,
    revision: null,
    injectedRevision: null,
  });

  it('Given an ambient namespace, When reports and deltas come, Then its sidecarless workloads count as ambient, not as revision none', async () => {
    const w = newWorld();
    // Given a whole report with 4 sidecar workloads and 2 sidecarless ones in the ambient namespace `orders`
    await w.inventory.storeReport(lease, {
      ...whole(10),
      namespaces: [
        { name: 'orders', labels: AMBIENT },
        { name: 'team-0', labels: {} },
      ],
      workloads: [...newFleetWorkloads(4, '1-24-5'), sidecarless('api'), sidecarless('ledger')],
    });
    expect(await gauge(w.metrics)).toEqual({ '1-24-5': 4, ambient: 2 });

    // When a delta adds a third one and gives another a sidecar, Then the gauge follows the changes
    await w.inventory.storeDelta(
      lease,
      delta(10, 11, {
        upserted: [sidecarless('batch'), { ...sidecarless('ledger'), revision: '1-25-2', injectedRevision: '1-25-2' }],
      }),
    );
    expect(await gauge(w.metrics)).toEqual({ '1-24-5': 4, '1-25-2': 1, ambient: 2 });

    // When `orders` is no longer ambient, Then its sidecarless workloads are on no revision
    await w.inventory.storeDelta(lease, delta(11, 12, { namespaces: [{ name: 'orders', labels: {} }] }));
    expect(await gauge(w.metrics)).toEqual({ '1-24-5': 4, '1-25-2': 1, none: 2 });
    // and labelled ambient again, they count as ambient again
    await w.inventory.storeDelta(lease, delta(12, 13, { namespaces: [{ name: 'orders', labels: AMBIENT }] }));
    expect(await gauge(w.metrics)).toEqual({ '1-24-5': 4, '1-25-2': 1, ambient: 2 });
  });
});

describe('a cluster the planner holds no inventory of', () => {
  it('Given a store that lost the inventory of a quiet cluster (no delta comes), When its agent reports its health, Then the planner asks for the whole inventory, once per interval, and not once it holds one', async () => {
    const w = newWorld();
    await w.inventory.heardFrom('c1');
    expect(w.asked().map((m) => m.key)).toEqual(['cluster/c1']);
    await w.inventory.heardFrom('c1');
    expect(w.asked()).toHaveLength(1);
    await w.inventory.storeReport(lease, whole(3));
    w.advance(RESYNC_REQUEST_INTERVAL_MS);
    await w.inventory.heardFrom('c1');
    expect(w.asked()).toHaveLength(1);
  });
});
