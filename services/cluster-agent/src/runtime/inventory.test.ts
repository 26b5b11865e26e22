import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '@meshwave/reconcile';
import { IstioLabel } from '@meshwave/istio';
import { createSimulatedCluster, type SimulatedCluster } from '../adapters/simulated-cluster.js';
import { ClusterCache } from './cluster-cache.js';
import { InventoryBook } from './inventory.js';

const OLD = '1-24-5';
const NEW = '1-25-2';

const sims: SimulatedCluster[] = [];
afterEach(() => {
  for (const s of sims.splice(0)) s.close();
});

/** A namespace of `workloads` workloads with 3 pods each, an agent cache on it and the inventory it keeps. */
async function newInventory(
  workloads: number,
): Promise<{ sim: SimulatedCluster; cache: ClusterCache; book: InventoryBook }> {
  const sim = createSimulatedCluster({ name: 'c1', clock: createManualClock(), revisions: [OLD, NEW] });
  sims.push(sim);
  sim.createNamespace('shop', { [IstioLabel.Revision]: OLD });
  for (let i = 0; i < workloads; i++) sim.createWorkload({ namespace: 'shop', name: `app-${i}`, replicas: 3 });
  const listener: { book?: InventoryBook } = {};
  const cache = new ClusterCache((change) => listener.book?.note(change));
  const book = (listener.book = new InventoryBook(cache));
  cache.start(sim);
  await cache.whenSynced();
  book.refresh();
  return { sim, cache, book };
}

/** What one pod replaced in the namespace costs the inventory, by counts (no timing). */
async function costOfOnePodChange(
  workloads: number,
): Promise<{ evaluations: number; visited: number; entries: number }> {
  const { sim, cache, book } = await newInventory(workloads);
  expect(book.workloads()).toHaveLength(workloads);
  const before = { ...cache.indexStats, entries: book.entriesComputed };
  sim.deletePod('shop', (await sim.listPods('shop')).find((p) => p.labels.app === 'app-7')!.name);
  await new Promise((r) => setTimeout(r, 1)); // the simulated watch delivers asynchronously
  expect(book.refresh()).toBe(false); // a replaced pod on the same revision changes nothing the inventory says
  return {
    evaluations: cache.indexStats.selectorEvaluations - before.selectorEvaluations,
    visited: cache.indexStats.podsVisited - before.podsVisited,
    entries: book.entriesComputed - before.entries,
  };
}

describe('the agent inventory from indexes', () => {
  it('Given namespaces of 20 and 400 workloads, When one pod is replaced, Then the work is the same: that workload only', async () => {
    const small = await costOfOnePodChange(20);
    const large = await costOfOnePodChange(400);
    // the deleted pod and its replacement: one selector evaluation each, no namespace scan, one entry recomputed
    expect(large).toEqual(small);
    expect(large.visited).toBe(0);
    expect(large.evaluations).toBeLessThanOrEqual(2);
    expect(large.entries).toBe(1);
  });

  it('Given a running inventory, When a namespace is relabelled, Then its workloads carry the new assigned revision', async () => {
    const { sim, book } = await newInventory(3);
    expect(new Set(book.workloads().map((w) => w.revision))).toEqual(new Set([OLD]));
    await sim.patchNamespace('shop', { labels: { [IstioLabel.Revision]: NEW } });
    await new Promise((r) => setTimeout(r, 1));
    expect(book.refresh()).toBe(true);
    expect(book.workloads().map((w) => [w.name, w.revision, w.injectedRevision])).toEqual([
      ['app-0', NEW, OLD],
      ['app-1', NEW, OLD],
      ['app-2', NEW, OLD],
    ]);
  });

  it('Given a workload deleted or created, Then the inventory drops or adds it alone', async () => {
    const { sim, cache, book } = await newInventory(5);
    const entries = book.entriesComputed;
    sim.createWorkload({ namespace: 'shop', name: 'new-app', replicas: 2 });
    await new Promise((r) => setTimeout(r, 1));
    expect(book.refresh()).toBe(true);
    expect(book.workloads().map((w) => w.name)).toContain('new-app');
    expect(book.entriesComputed - entries).toBeLessThanOrEqual(3); // the workload and its two pods' owner: itself
    expect([...cache.podsOf({ namespace: 'shop', kind: 'Deployment', name: 'new-app' })]).toHaveLength(2);
  });
});
