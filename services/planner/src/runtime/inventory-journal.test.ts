import type { OutgoingMessage } from '@meshwave/bus';
import { MessageType, type InventoryDelta, type InventoryReport } from '@meshwave/contracts';
import {
  createInMemoryStore,
  type ScopeChanges,
  type StateStore,
  type TransitionRequest,
  type TransitionResult,
} from '@meshwave/store';
import { silentLogger } from '@meshwave/telemetry';
import { describe, expect, it } from 'vitest';
import { newFleetWorkloads } from '../../../../test/integration/planner/scripted-agents.js';
import { MAX_JOURNAL_DELTAS } from '../core/inventory-journal.js';
import { PlannerError } from '../errors.js';
import { PlannerMetrics } from '../metrics/planner-metrics.js';
import { FleetInventory } from './fleet-inventory.js';
import type { PlannerContext } from './planner-context.js';
import { FLEET_SCOPE, FleetDoc } from './store-layout.js';

const lease = { name: 'planner/leader', holder: 'test', epoch: 1 };

/** A store that counts what it is given to write (JSON characters) and the documents it hands out changed. */
function newCountingStore(inner: StateStore = createInMemoryStore()) {
  const counts = { written: 0, changedRead: 0 };
  const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
    transition: async (request: TransitionRequest): Promise<TransitionResult> => {
      for (const w of request.writes) counts.written += w.value === null ? 0 : JSON.stringify(w.value).length;
      return inner.transition(request);
    },
    readScopeChanges: async (scope: string, known: ReadonlyMap<string, number>): Promise<ScopeChanges> => {
      const changes = await inner.readScopeChanges(scope, known);
      counts.changedRead += JSON.stringify([...changes.changed.values()].map((d) => d.value)).length;
      return changes;
    },
  });
  return { store, counts };
}

function newInventory(store: StateStore, epoch = lease.epoch) {
  const sent: OutgoingMessage[] = [];
  const context = {
    store,
    metrics: new PlannerMetrics(),
    logger: silentLogger(),
    clock: { now: () => 1_000_000 },
    bus: { publish: async (messages: OutgoingMessage[]) => void sent.push(...messages) },
  } as unknown as PlannerContext;
  const inventory = new FleetInventory(context, { requireLeader: () => ({ ...lease, epoch }) });
  return { inventory, asked: () => sent.filter((m) => m.type === MessageType.InventoryResync) };
}

const whole = (generation: number, workloads = 2_000): InventoryReport => ({
  cluster: 'c1',
  labels: {},
  generation,
  workloads: newFleetWorkloads(workloads, '1-24-5'),
});

/** the delta that moves workload `i` to a new revision */
const moved = (base: number, i: number): InventoryDelta => ({
  cluster: 'c1',
  labels: {},
  base,
  generation: base + 1,
  upserted: [{ ...newFleetWorkloads(i + 1, `1-25-${base}`)[i]! }],
  removed: [],
});

/** the inventory of c1 as a planner that has only the store sees it (a new leader, a follower) */
async function readFresh(store: StateStore): Promise<InventoryReport | undefined> {
  return (await newInventory(store).inventory.stored()).reported.get('c1')?.report;
}

async function ownReport(inventory: FleetInventory): Promise<InventoryReport | undefined> {
  return (await inventory.stored()).reported.get('c1')?.report;
}

describe('a cluster inventory stored as a snapshot and a journal (ADR 0079)', () => {
  it('Given a cluster of 2,000 workloads, When a delta changes one, Then what is written is the size of the delta, not of the cluster', async () => {
    const { store, counts } = newCountingStore();
    const { inventory } = newInventory(store);
    await inventory.storeReport(lease, whole(10));
    const wholeSize = counts.written;
    counts.written = 0;
    await inventory.storeDelta(lease, moved(10, 7));
    expect(wholeSize).toBeGreaterThan(100_000);
    expect(counts.written).toBeLessThan(2_000);
  });

  it('Given deltas past a compaction, When another planner reads the store, Then it sees exactly the inventory the agent reported, at its generation', async () => {
    const { store } = newCountingStore();
    const { inventory } = newInventory(store);
    await inventory.storeReport(lease, whole(10, 40));
    for (let g = 10; g < 10 + MAX_JOURNAL_DELTAS + 5; g++) {
      await inventory.storeDelta(lease, moved(g, g % 40));
      // a follower sees each generation as the writer holds it
      if (g % 9 === 0) expect(await readFresh(store)).toEqual(await ownReport(inventory));
    }
    const expected = await ownReport(inventory);
    expect(expected?.generation).toBe(10 + MAX_JOURNAL_DELTAS + 5);
    expect(await readFresh(store)).toEqual(expected);
    // no delta of a compacted journal is left in the store
    const names = [...(await store.readScope(FLEET_SCOPE)).keys()].filter((n) => n.startsWith('inventory/delta/'));
    expect(names.length).toBeLessThan(MAX_JOURNAL_DELTAS);
    // a new leader applies the next delta on it
    const next = newInventory(store);
    await next.inventory.storeDelta(lease, moved(expected!.generation, 3));
    expect((await readFresh(store))?.generation).toBe(expected!.generation + 1);
    expect(next.asked()).toEqual([]);
  });

  it('Given a follower that has read the fleet, When a delta is stored, Then its next read fetches only the delta and the head', async () => {
    const { store, counts } = newCountingStore();
    const writer = newInventory(store).inventory;
    await writer.storeReport(lease, whole(10));
    const follower = newInventory(store).inventory;
    await follower.stored();
    counts.changedRead = 0;
    await writer.storeDelta(lease, moved(10, 7));
    const report = (await follower.stored()).reported.get('c1')?.report;
    expect(report?.generation).toBe(11);
    expect(report?.workloads[7]?.revision).toBe('1-25-10');
    expect(counts.changedRead).toBeLessThan(2_000);
  });

  it('Given a stored inventory, When an older whole report or a redelivered delta comes, Then it replaces nothing; a gap asks for the whole one', async () => {
    const { store } = newCountingStore();
    const { inventory, asked } = newInventory(store);
    await inventory.storeReport(lease, whole(10, 10));
    await inventory.storeDelta(lease, moved(10, 1));
    await inventory.storeDelta(lease, moved(11, 2));
    const held = await readFresh(store);
    await newInventory(store).inventory.storeReport(lease, whole(9, 3));
    await newInventory(store).inventory.storeDelta(lease, moved(10, 5));
    expect(await readFresh(store)).toEqual(held);
    await inventory.storeDelta(lease, moved(20, 5));
    expect(asked()).toHaveLength(1);
    expect(await readFresh(store)).toEqual(held);
  });

  it('Given a newer leader wrote the inventory, When the former leader stores a delta, Then it is refused and the newer one stays', async () => {
    const { store } = newCountingStore();
    const former = newInventory(store, 1);
    await former.inventory.storeReport({ ...lease, epoch: 1 }, whole(10, 10));
    const newer = newInventory(store, 2);
    await newer.inventory.storeDelta({ ...lease, epoch: 2 }, moved(10, 1));
    await former.inventory.storeDelta({ ...lease, epoch: 1 }, moved(10, 2));
    await former.inventory.storeDelta({ ...lease, epoch: 1 }, moved(11, 3));
    const report = await readFresh(store);
    expect(report?.generation).toBe(11);
    expect(report?.workloads[1]?.revision).toBe('1-25-10');
    expect(report?.workloads[2]?.revision).toBe('1-24-5');
  });

  it('Given two writers of the same epoch, When one writes on a head the other has moved, Then its write conflicts, and its retry reads the stored inventory', async () => {
    const { store } = newCountingStore();
    const a = newInventory(store).inventory;
    const b = newInventory(store).inventory;
    await a.storeReport(lease, whole(10, 10));
    await b.storeDelta(lease, moved(10, 1));
    // `a` still holds generation 10: the same generation from it conflicts on the head
    const conflict = await a.storeDelta(lease, moved(10, 2)).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(PlannerError);
    expect((conflict as PlannerError).retryable).toBe(true);
    // the retry reads: generation 11 is stored, the delta is stale
    await a.storeDelta(lease, moved(10, 2));
    await a.storeDelta(lease, moved(11, 3));
    const report = await readFresh(store);
    expect(report?.generation).toBe(12);
    expect(report?.workloads.map((w) => w.revision).slice(0, 4)).toEqual(['1-24-5', '1-25-10', '1-24-5', '1-25-11']);
  });
});

describe('a cluster inventory after a partial loss of its documents (ADR 0079)', () => {
  const drop = async (store: StateStore, name: string): Promise<void> => {
    const r = await store.transition({ scope: FLEET_SCOPE, epoch: lease.epoch, writes: [{ name, value: null }] });
    expect(r.ok).toBe(true);
  };

  it('Given a head stored without its snapshot, When the agent sends its whole inventory, Then it is stored, not refused for ever, and the journal the head named is deleted', async () => {
    const { store } = newCountingStore();
    const writer = newInventory(store).inventory;
    await writer.storeReport(lease, whole(10, 10));
    await writer.storeDelta(lease, moved(10, 1));
    await drop(store, FleetDoc.cluster('c1'));
    const planner = newInventory(store).inventory;
    await planner.storeReport(lease, whole(12, 10));
    expect((await readFresh(store))?.generation).toBe(12);
    expect(await store.read(FLEET_SCOPE, FleetDoc.inventoryDelta('c1', 11))).toBeUndefined();
  });

  it('Given a journal entry lost, When the cluster is heard from (its health report), Then its whole inventory is asked for, though it sends no delta', async () => {
    const { store } = newCountingStore();
    const writer = newInventory(store).inventory;
    await writer.storeReport(lease, whole(10, 10));
    await writer.storeDelta(lease, moved(10, 1));
    await writer.storeDelta(lease, moved(11, 2));
    await drop(store, FleetDoc.inventoryDelta('c1', 11));
    const { inventory, asked } = newInventory(store);
    await inventory.heardFrom('c1');
    expect(asked()).toHaveLength(1);
  });
});
