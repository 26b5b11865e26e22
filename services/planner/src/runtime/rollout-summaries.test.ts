import { planRollout } from '@meshwave/plan';
import { createInMemoryStore, type StateStore } from '@meshwave/store';
import { describe, expect, it } from 'vitest';
import { T0, newInventory, newSpec } from '../core/engine-harness.js';
import { newRolloutRecord } from '../core/rollout-record.js';
import { newRolloutState, type RolloutState } from '../core/rollout-state.js';
import { RolloutSummaries } from './rollout-summaries.js';
import { RolloutDoc, stateWrite } from './store-layout.js';

/** A store that counts which documents were read whole. */
function countingStore(): { store: StateStore; reads: string[] } {
  const store = createInMemoryStore();
  const reads: string[] = [];
  const counting = Object.create(store) as StateStore;
  counting.read = (scope, name) => {
    reads.push(name);
    return store.read(scope, name);
  };
  return { store: counting, reads };
}

async function storeRollout(store: StateStore, id: string): Promise<void> {
  const spec = newSpec({ waves: [{ name: 'all', percent: 100 }] });
  const inventory = newInventory(1, 1);
  const plan = planRollout(spec, inventory, { now: T0 });
  const record = newRolloutRecord({ id, spec, plan, inventory, createdBy: 'alice', now: T0 });
  await store.transition({
    scope: id,
    epoch: 1,
    writes: [{ name: RolloutDoc.Record, value: record, expectedVersion: 0 }, stateWrite(newRolloutState(T0), 1, 0)],
  });
}

async function writeState(store: StateStore, id: string, state: RolloutState): Promise<void> {
  const version = await store.readVersion(id, RolloutDoc.State);
  await store.transition({ scope: id, epoch: 1, writes: [stateWrite(state, 1, version)] });
}

describe('RolloutSummaries (GET /v1/rollouts)', () => {
  it('Given a stored rollout, When the list is read again and again, Then its record (every unit) is read once', async () => {
    const { store, reads } = countingStore();
    await storeRollout(store, 'r1');
    const summaries = new RolloutSummaries(store);
    const first = await summaries.list();
    expect(first).toMatchObject([{ id: 'r1', name: 'upgrade', phase: 'Pending', waves: 1 }]);
    for (let i = 0; i < 3; i++) expect(await summaries.list()).toEqual(first);
    expect(reads.filter((r) => r === RolloutDoc.Record)).toHaveLength(1);
  });

  it('Given a listed rollout, When its state moves on, Then the list says so without reading its record again', async () => {
    const { store, reads } = countingStore();
    await storeRollout(store, 'r1');
    const summaries = new RolloutSummaries(store);
    await summaries.list();
    await writeState(store, 'r1', { ...newRolloutState(T0), phase: 'Running', wavePhase: 'Converging' });
    expect(await summaries.list()).toMatchObject([{ id: 'r1', phase: 'Running', wavePhase: 'Converging' }]);
    expect(reads.filter((r) => r === RolloutDoc.Record)).toHaveLength(1);
    expect(reads.filter((r) => r === RolloutDoc.State)).toHaveLength(2);
  });

  it('lists every stored rollout', async () => {
    const { store } = countingStore();
    await storeRollout(store, 'r1');
    await storeRollout(store, 'r2');
    const ids = (await new RolloutSummaries(store).list()).map((s) => s.id);
    expect(ids.sort()).toEqual(['r1', 'r2']);
  });
});
