import type { InventoryReport } from '@meshwave/contracts';
import { createInMemoryStore, type StateStore, type VersionedDoc } from '@meshwave/store';
import { silentLogger } from '@meshwave/telemetry';
import { describe, expect, it } from 'vitest';
import { newFleetWorkloads } from '../../../../test/integration/planner/scripted-agents.js';
import { PlannerMetrics } from '../metrics/planner-metrics.js';
import { FleetInventory } from './fleet-inventory.js';
import type { PlannerContext } from './planner-context.js';

const lease = { name: 'planner/leader', holder: 'test', epoch: 1 };

/** A store that counts the documents it hands out: the planner's parse work follows what it reads. */
function newCountingStore(): { store: StateStore; docsRead: () => number } {
  const inner = createInMemoryStore();
  let docs = 0;
  const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
    readScope: async (scope: string): Promise<ReadonlyMap<string, VersionedDoc>> => {
      const all = await inner.readScope(scope);
      docs += all.size;
      return all;
    },
    read: async (scope: string, name: string): Promise<VersionedDoc | undefined> => {
      const doc = await inner.read(scope, name);
      if (doc) docs += 1;
      return doc;
    },
  });
  return { store, docsRead: () => docs };
}

function newFleetInventory(store: StateStore): { inventory: FleetInventory; metrics: PlannerMetrics } {
  const metrics = new PlannerMetrics();
  const context = { store, metrics, logger: silentLogger(), clock: { now: () => 0 } } as unknown as PlannerContext;
  return { inventory: new FleetInventory(context, { requireLeader: () => lease }), metrics };
}

function newReport(cluster: string, generation: number, revision = '1-24-5'): InventoryReport {
  return { cluster, labels: {}, generation, workloads: newFleetWorkloads(4, revision) };
}

/** Documents read to take one more report, after every cluster of a fleet of `clusters` has reported once. */
async function docsReadPerReport(clusters: number): Promise<number> {
  const { store, docsRead } = newCountingStore();
  const { inventory } = newFleetInventory(store);
  for (let i = 0; i < clusters; i++) await inventory.storeReport(lease, newReport(`c-${i}`, 1));
  const before = docsRead();
  await inventory.storeReport(lease, newReport('c-0', 2, '1-25-0'));
  return docsRead() - before;
}

describe('fleet inventory: the unit gauge', () => {
  it('an agent report reads the same documents whatever the size of the fleet', async () => {
    // Given fleets of 2 and of 40 clusters, When one cluster reports again, Then it reads as much in both
    const small = await docsReadPerReport(2);
    expect(await docsReadPerReport(40)).toBe(small);
    // none: the generation check is on the inventory held, and the write is checked on its head's version (ADR 0079)
    expect(small).toBe(0);
  });

  it('a report replaces its cluster’s series: a revision the cluster no longer has is gone', async () => {
    const { inventory, metrics } = newFleetInventory(createInMemoryStore());
    await inventory.storeReport(lease, newReport('c-0', 1, '1-24-5'));
    await inventory.storeReport(lease, newReport('c-1', 1, '1-24-5'));
    await inventory.storeReport(lease, newReport('c-0', 2, '1-25-0'));
    const series = (await metrics.unitsByRevision.get()).values.map((v) => [
      v.labels.cluster,
      v.labels.revision,
      v.value,
    ]);
    expect(series).toEqual(
      expect.arrayContaining([
        ['c-0', '1-25-0', 4],
        ['c-1', '1-24-5', 4],
      ]),
    );
    expect(series).toHaveLength(2);
  });

  it('an older generation changes nothing', async () => {
    const { inventory, metrics } = newFleetInventory(createInMemoryStore());
    await inventory.storeReport(lease, newReport('c-0', 2, '1-25-0'));
    await inventory.storeReport(lease, newReport('c-0', 1, '1-24-5'));
    const series = (await metrics.unitsByRevision.get()).values.map((v) => [v.labels.revision, v.value]);
    expect(series).toEqual([['1-25-0', 4]]);
  });

  it('an operator’s base inventory counts the whole fleet, and drops clusters it no longer has', async () => {
    const { inventory, metrics } = newFleetInventory(createInMemoryStore());
    await inventory.put({ clusters: [{ name: 'a', labels: {}, workloads: newFleetWorkloads(3) }], vmGroups: [] }, 't');
    await inventory.put({ clusters: [{ name: 'b', labels: {}, workloads: newFleetWorkloads(2) }], vmGroups: [] }, 't');
    const series = (await metrics.unitsByRevision.get()).values.map((v) => [v.labels.cluster, v.value]);
    expect(series).toEqual([['b', 2]]);
  });
});
