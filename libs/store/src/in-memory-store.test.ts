import { afterEach, describe, expect, it } from 'vitest';
import { describeStateStoreContract } from './contract/state-store-contract.js';
import { createInMemoryStore } from './in-memory-store.js';

describeStateStoreContract('in-memory', async (options) => createInMemoryStore(options), {
  describe,
  it,
  expect,
  afterEach,
});

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
