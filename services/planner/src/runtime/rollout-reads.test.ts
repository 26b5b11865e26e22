import { createInMemoryStore, type StateStore } from '@meshwave/store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { newRolloutState, type RolloutRecord } from '../core/rollout-state.js';
import { HELD_AFTER_DEMOTION_MS, RolloutReads } from './rollout-reads.js';
import { RolloutDoc, stateWrite } from './store-layout.js';

const T0 = new Date('2026-11-22T20:00:00Z');
const ID = 'r1-20261122-ab12';
const record = {
  id: ID,
  spec: { metadata: { name: 'r1' } },
  plan: { waves: [] },
  createdAt: T0.toISOString(),
  createdBy: 'alice',
  notBefore: [],
} as unknown as RolloutRecord;
const report = (generation: number): object => ({ cluster: 'c1', rolloutId: ID, generation, units: [], halted: false });

/** The in-memory store, counting the document values it hands out (each one fetched and JSON-parsed). */
function newCountingStore(): { store: StateStore; fetched: string[] } {
  const inner = createInMemoryStore();
  const fetched: string[] = [];
  const store = Object.assign(Object.create(inner) as StateStore, {
    readScope: async (scope: string) => {
      const docs = await inner.readScope(scope);
      fetched.push(...docs.keys());
      return docs;
    },
    readScopeChanges: async (scope: string, known: ReadonlyMap<string, number>) => {
      const changes = await inner.readScopeChanges(scope, known);
      fetched.push(...changes.changed.keys());
      return changes;
    },
  });
  return { store, fetched };
}

async function newRollout(store: StateStore): Promise<void> {
  await store.transition({
    scope: ID,
    epoch: 1,
    writes: [
      { name: RolloutDoc.Record, value: record, expectedVersion: 0 },
      stateWrite(newRolloutState(T0), 1, 0),
      { name: RolloutDoc.clusterReport('c1'), value: report(1) },
    ],
  });
}

describe('RolloutReads', () => {
  it('Given a driven rollout read once, When one report changes and it is read again, Then only that report is fetched and the rollout loads as stored', async () => {
    const { store, fetched } = newCountingStore();
    await newRollout(store);
    const reads = new RolloutReads(store);
    await reads.read(ID, new Map(), true);
    fetched.length = 0;

    await store.transition({
      scope: ID,
      epoch: 1,
      writes: [{ name: RolloutDoc.clusterReport('c1'), value: report(2) }],
    });
    const { loaded } = await reads.read(ID, new Map(), true);

    expect(fetched).toEqual([RolloutDoc.clusterReport('c1')]);
    expect(loaded?.record).toEqual(record);
    expect(loaded?.observations.clusters.get('c1')?.generation).toBe(2);
    // the engine's state is its own on every read, never an object another read got
    const again = await reads.read(ID, new Map(), true);
    expect(again.loaded?.state).toEqual(loaded?.state);
    expect(again.loaded?.state).not.toBe(loaded?.state);
  });

  it('Given a rollout that is not driven, When it is read twice, Then both reads fetch it whole and nothing is kept', async () => {
    const { store, fetched } = newCountingStore();
    await newRollout(store);
    const reads = new RolloutReads(store);
    await reads.read(ID, new Map(), false);
    await reads.read(ID, new Map(), false);
    expect(fetched.filter((name) => name === RolloutDoc.Record)).toHaveLength(2);
  });

  it('Given a driven rollout that ended, When it is forgotten and read again, Then it is fetched whole', async () => {
    const { store, fetched } = newCountingStore();
    await newRollout(store);
    const reads = new RolloutReads(store);
    await reads.read(ID, new Map(), true);
    reads.forget(ID);
    await reads.read(ID, new Map(), false);
    expect(fetched.filter((name) => name === RolloutDoc.Record)).toHaveLength(2);
  });

  describe('a leader that stood down', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const heldThenDemoted = async (): Promise<{ reads: RolloutReads; fetched: string[] }> => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const { store, fetched } = newCountingStore();
      await newRollout(store);
      const reads = new RolloutReads(store);
      await reads.read(ID, new Map(), true);
      fetched.length = 0;
      reads.forgetAllAfter(HELD_AFTER_DEMOTION_MS);
      return { reads, fetched };
    };

    it('Given it does not lead again, When the time it keeps what it held has passed, Then a read fetches the rollout whole', async () => {
      const { reads, fetched } = await heldThenDemoted();
      vi.advanceTimersByTime(HELD_AFTER_DEMOTION_MS);
      await reads.read(ID, new Map(), true);
      expect(fetched).toContain(RolloutDoc.Record);
    });

    it('Given it leads again within that time, When the time has passed, Then a read fetches nothing unchanged', async () => {
      const { reads, fetched } = await heldThenDemoted();
      reads.keepAll();
      vi.advanceTimersByTime(HELD_AFTER_DEMOTION_MS);
      await reads.read(ID, new Map(), true);
      expect(fetched).toEqual([]);
    });
  });

  it('Given a kept scope whose documents are gone from the store, When it is read, Then they are gone from the read too', async () => {
    const { store } = newCountingStore();
    await newRollout(store);
    const reads = new RolloutReads(store);
    await reads.read(ID, new Map(), true);
    await store.transition({ scope: ID, epoch: 1, writes: [{ name: RolloutDoc.clusterReport('c1'), value: null }] });
    const { docs, loaded } = await reads.read(ID, new Map(), true);
    expect([...docs.keys()].sort()).toEqual([RolloutDoc.Record, RolloutDoc.State]);
    expect(loaded?.observations.clusters.size).toBe(0);
  });

  it('Given a driven rollout read, When it is read again, Then the record and reports it holds are the validated values, not also the JSON they came from (issue 15)', async () => {
    const { store } = newCountingStore();
    await newRollout(store);
    const reads = new RolloutReads(store);
    const first = await reads.read(ID, new Map(), true);
    const again = await reads.read(ID, new Map(), true);
    expect(again.docs.get(RolloutDoc.Record)!.value).toBe(first.loaded!.record);
    expect(again.docs.get(RolloutDoc.clusterReport('c1'))!.value).toBe(first.loaded!.observations.clusters.get('c1'));
    expect(again.loaded!.record).toBe(first.loaded!.record);
  });
});
