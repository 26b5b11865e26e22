// What every StateStore promises when it loses its data (a Redis FLUSHALL, a restart without persistence): lease
// epochs keep growing (ADR 0025). Run against the in-memory store in unit tests and Redis in test/integration.
import type { StateStore } from '../state-store.js';
import type { StateStoreContractFactory, StoreContractTestApi } from './state-store-contract.js';

/** Loses the store's data as a crash of its server would, and returns the store to use after (the same, or anew). */
export type LoseStoreData = (store: StateStore) => Promise<StateStore>;

export function describeStoreLossContract(
  name: string,
  factory: StateStoreContractFactory,
  loseData: LoseStoreData,
  t: StoreContractTestApi,
): void {
  const { describe, it, expect, afterEach } = t;

  describe(`StateStore loss of data: ${name}`, () => {
    const stores: StateStore[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });

    it('Given leases taken and a rollout written, When the store loses its data, Then the next lease has a higher epoch than any before, and the deposed leader cannot fence it out', async () => {
      const before = await factory();
      stores.push(before);
      const first = await before.acquireLease('planner', 'planner-a', 30_000);
      await before.releaseLease(first!);
      const deposed = await before.acquireLease('planner', 'planner-b', 30_000);
      expect(deposed?.epoch).toBeGreaterThan(first!.epoch);
      const write = (store: StateStore, epoch: number, value: string) =>
        store.transition({ scope: 'r-1', epoch, writes: [{ name: 'rollout', value }] });
      expect((await write(before, deposed!.epoch, 'before the loss')).ok).toBe(true);

      const after = await loseData(before);
      if (after !== before) stores.push(after);
      expect(await after.read('r-1', 'rollout')).toBeUndefined();
      // the deposed leader, not yet aware, writes first at its old epoch: it re-creates the scope
      expect((await write(after, deposed!.epoch, 'by the deposed leader')).ok).toBe(true);
      const next = await after.acquireLease('planner', 'planner-c', 30_000);
      expect(next?.epoch).toBeGreaterThan(deposed!.epoch);
      expect((await write(after, next!.epoch, 'by the new leader')).ok).toBe(true);
      expect(await write(after, deposed!.epoch, 'late')).toMatchObject({ ok: false, reason: 'stale-epoch' });
      expect((await after.read('r-1', 'rollout'))?.value).toBe('by the new leader');
    });
  });
}
