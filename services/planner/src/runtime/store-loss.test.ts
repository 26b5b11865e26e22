import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore, type StateStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { createPlanner, type Planner } from './planner.js';
import { ERA_DOC, ERA_SCOPE } from './store-era.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };

/**
 * One in-memory store that can lose its data, as a Redis FLUSHALL does: `lose()` swaps in an empty store on the
 * same era clock. Each replica gets its own view, which says when that replica has read the era marker.
 */
function newLosableStore(): { view: () => { store: StateStore; sawEra: () => boolean }; lose: () => void } {
  const eraClock = (): number => Date.now();
  let inner = createInMemoryStore({ eraClock });
  return {
    view: () => {
      let saw = false;
      const read = async (scope: string, name: string) => {
        const doc = await inner.read(scope, name);
        if (scope === ERA_SCOPE && name === ERA_DOC && doc !== undefined) saw = true;
        return doc;
      };
      const store = new Proxy(inner, {
        get: (_target, key) =>
          key === 'read' ? read : (Reflect.get(inner, key) as (...a: unknown[]) => unknown).bind(inner),
      });
      return { store, sawEra: () => saw };
    },
    lose: () => {
      inner = createInMemoryStore({ eraClock });
    },
  };
}

const planners: Planner[] = [];
afterEach(async () => {
  for (const p of planners.splice(0)) await p.stop();
});

async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 4_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('planner: the store loses its data (ADR 0025)', () => {
  it('Given a leader and a follower that saw the store era, When the store loses its data, Then both stop acting and say why, and a restarted replica leads a new era with a higher epoch', async () => {
    const broker = createInMemoryBroker();
    const world = newLosableStore();
    const start = async (id: string) => {
      const { store, sawEra } = world.view();
      const planner = createPlanner({
        bus: createInMemoryBus({ broker, source: id, signing }),
        store,
        config: { instanceId: id, leaseRenewMs: 30, leaseTtlMs: 300 },
      });
      planners.push(planner);
      await planner.start();
      return { planner, sawEra };
    };
    const a = await start('a');
    await until('a leads', () => a.planner.isLeader());
    const b = await start('b');
    await until('a and b saw the era', () => a.sawEra() && b.sawEra());
    const oldEpoch = a.planner.epoch();

    world.lose();

    for (const replica of [a.planner, b.planner]) {
      await until('halted', async () => !(await replica.readiness()).checks.store?.ok);
      expect((await replica.readiness()).checks.store?.detail).toContain('the store lost its data');
      expect(replica.isLeader()).toBe(false);
      await expect(replica.putInventory({ clusters: [] }, 'x')).rejects.toMatchObject({ code: 'STORE_DATA_LOST' });
      await expect(replica.getRollout('lost-rollout')).rejects.toMatchObject({ code: 'STORE_DATA_LOST' });
    }

    const c = await start('c');
    await until('c leads a new era', () => c.planner.isLeader());
    expect(c.planner.epoch()).toBeGreaterThan(oldEpoch);
    expect(a.planner.isLeader() || b.planner.isLeader()).toBe(false);
  });
});
