import { afterEach, describe, expect, it } from 'vitest';
import { describeStateStoreContract } from './contract/state-store-contract.js';
import { describeStoreLossContract } from './contract/store-loss-contract.js';
import { createInMemoryStore } from './in-memory-store.js';

describeStateStoreContract('in-memory', async (options) => createInMemoryStore(options), {
  describe,
  it,
  expect,
  afterEach,
});

// A store that lost its data is an empty one on the same clock; here the clock moves on by a second per read.
let era = Date.parse('2026-01-01T00:00:00Z');
const eraClock = (): number => (era += 1000);
describeStoreLossContract(
  'in-memory',
  async (options) => createInMemoryStore({ ...options, eraClock }),
  async () => createInMemoryStore({ eraClock }),
  { describe, it, expect, afterEach },
);

describe('in-memory StateStore', () => {
  it('expires a lease on the injected clock', async () => {
    let now = 1_000;
    const store = createInMemoryStore({ now: () => now });
    const lease = await store.acquireLease('planner', 'a', 100);
    now += 99;
    expect(await store.leaseHolder('planner')).toEqual(lease);
    now += 1;
    expect(await store.leaseHolder('planner')).toBeUndefined();
    expect(await store.renewLease(lease!, 100)).toBe(false);
  });
});
