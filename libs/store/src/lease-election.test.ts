import { afterEach, describe, expect, it, vi } from 'vitest';
import { createInMemoryStore } from './in-memory-store.js';
import { LeaseElection, type LeaseElectionOptions } from './lease-election.js';
import type { Lease, StateStore } from './state-store.js';

const TTL = 10_000;

function newWorld(): { store: StateStore; clock: { now: number } } {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  return { store: createInMemoryStore({ now: () => clock.now }), clock };
}

function newElection(
  store: StateStore,
  clock: { now: number },
  holder: string,
  extra: Partial<LeaseElectionOptions> = {},
): { election: LeaseElection; events: string[] } {
  const events: string[] = [];
  const election = new LeaseElection({
    store,
    leaseName: 'leader',
    holder,
    ttlMs: TTL,
    renewEveryMs: 1000,
    now: () => clock.now,
    onElected: async (lease) => {
      events.push(`elected ${lease.epoch}`);
      await Promise.resolve();
    },
    onDemoted: async (lease, why) => {
      events.push(`demoted ${lease.epoch}: ${why}`);
      await Promise.resolve();
    },
    ...extra,
  });
  return { election, events };
}

describe('LeaseElection on the in-memory store', () => {
  it('Given a free lease, When two replicas tick, Then the first leads and the second only learns who leads', async () => {
    const { store, clock } = newWorld();
    const a = newElection(store, clock, 'a');
    const b = newElection(store, clock, 'b');
    await a.election.tick();
    await a.election.settled();
    await b.election.tick();
    await b.election.settled();
    expect(a.election.current).toMatchObject({ holder: 'a', epoch: 1 });
    expect(a.events).toEqual(['elected 1']);
    expect(b.election.current).toBeUndefined();
    expect(b.election.known).toBe(true);
    expect(b.events).toEqual([]);
  });

  it('Given a leader, When it ticks again in time, Then it keeps the same lease (no new epoch)', async () => {
    const { store, clock } = newWorld();
    const a = newElection(store, clock, 'a');
    await a.election.tick();
    await a.election.settled();
    clock.now += TTL / 2;
    await a.election.tick();
    await a.election.settled();
    clock.now += TTL / 2;
    await a.election.tick();
    await a.election.settled();
    expect(a.election.current?.epoch).toBe(1);
    expect(a.events).toEqual(['elected 1']);
  });

  it('Given a leader whose lease expired and was taken, When it ticks, Then it is demoted and the new holder has a higher epoch', async () => {
    const { store, clock } = newWorld();
    const a = newElection(store, clock, 'a');
    const b = newElection(store, clock, 'b');
    await a.election.tick();
    await a.election.settled();
    clock.now += TTL + 1;
    await b.election.tick();
    await b.election.settled();
    await a.election.tick();
    await a.election.settled();
    expect(a.events).toEqual(['elected 1', 'demoted 1: lease renewal refused']);
    expect(a.election.current).toBeUndefined();
    expect(b.election.current).toMatchObject({ holder: 'b', epoch: 2 });
  });

  it('Given a leader told it lost (a stale-epoch write), When it ticks and the lease is free, Then it leads again with a new epoch', async () => {
    const { store, clock } = newWorld();
    const a = newElection(store, clock, 'a');
    await a.election.tick();
    await a.election.settled();
    await a.election.lost('fenced');
    await a.election.settled();
    expect(a.election.current).toBeUndefined();
    clock.now += TTL + 1;
    await a.election.tick();
    await a.election.settled();
    expect(a.events).toEqual(['elected 1', 'demoted 1: fenced', 'elected 2']);
  });

  it('Given a leader whose store fails, When the failure lasts until the lease could expire, Then it demotes itself first', async () => {
    const { store, clock } = newWorld();
    let failing = false;
    const errors: unknown[] = [];
    const renewLease = (lease: Lease, ttl: number): Promise<boolean> =>
      failing ? Promise.reject(new Error('store down')) : store.renewLease(lease, ttl);
    const flaky = new Proxy(store, {
      get: (target, key) =>
        key === 'renewLease' ? renewLease : (Reflect.get(target, key) as (...a: unknown[]) => unknown).bind(target),
    });
    const a = newElection(flaky, clock, 'a', { onError: (e) => errors.push(e) });
    await a.election.tick();
    await a.election.settled();
    failing = true;
    clock.now += 1000;
    await a.election.tick();
    await a.election.settled();
    expect(a.election.current?.epoch).toBe(1);
    clock.now = clock.now - 1000 + TTL - 1000;
    await a.election.tick();
    await a.election.settled();
    expect(a.election.current).toBeUndefined();
    expect(a.events).toEqual(['elected 1', 'demoted 1: lease renewal failed']);
    expect(errors).toHaveLength(2);
  });

  it('Given a leader, When it stops, Then the lease is released and a successor takes it at once with a higher epoch', async () => {
    const { store, clock } = newWorld();
    const a = newElection(store, clock, 'a');
    const b = newElection(store, clock, 'b');
    await a.election.tick();
    await a.election.settled();
    await a.election.stop();
    await b.election.tick();
    await b.election.settled();
    expect(a.events).toEqual(['elected 1', 'demoted 1: stopping']);
    expect(b.election.current).toMatchObject({ holder: 'b', epoch: 2 });
  });

  it('Given a leader, When it stops without releasing (as a crash would), Then a successor waits for the lease to expire', async () => {
    const { store, clock } = newWorld();
    const a = newElection(store, clock, 'a');
    const b = newElection(store, clock, 'b');
    await a.election.tick();
    await a.election.settled();
    await a.election.stop({ release: false });
    await b.election.tick();
    await b.election.settled();
    expect(b.election.current).toBeUndefined();
    clock.now += TTL + 1;
    await b.election.tick();
    await b.election.settled();
    expect(b.election.current?.epoch).toBe(2);
  });

  it('Given a started election, When the lease is free, Then it is elected by itself', async () => {
    const { store, clock } = newWorld();
    let elected: (lease: Lease) => void = () => undefined;
    const leased = new Promise<Lease>((resolve) => (elected = resolve));
    const a = newElection(store, clock, 'a', {
      onElected: async (lease) => {
        elected(lease);
        await Promise.resolve();
      },
    });
    a.election.start();
    expect((await leased).epoch).toBe(1);
    await a.election.stop();
    expect(await store.leaseHolder('leader')).toBeUndefined();
  });
});

/** A promise the test settles itself: elected work that hangs until the test lets it go. */
function newGate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('LeaseElection: renewal never waits on elected work', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('Given a started leader whose elected work hangs past the lease, When a second replica runs, Then the lease is renewed and there is no second leader', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
    const store = createInMemoryStore({ now: () => Date.now() });
    const clock = {
      get now() {
        return Date.now();
      },
    };
    const joined = newGate();
    let signal: AbortSignal | undefined;
    const a = newElection(store, clock, 'a', {
      now: () => Date.now(),
      onElected: async (_lease, s) => {
        signal = s;
        await joined.promise; // a consumer-group join waiting for a dead member's session to expire
      },
    });
    const b = newElection(store, clock, 'b', { now: () => Date.now() });
    a.election.start();
    await vi.advanceTimersByTimeAsync(0);
    b.election.start();
    await vi.advanceTimersByTimeAsync(3 * TTL);
    expect(a.election.current).toMatchObject({ holder: 'a', epoch: 1 });
    expect(await store.leaseHolder('leader')).toMatchObject({ holder: 'a', epoch: 1 });
    expect(b.election.current).toBeUndefined();
    expect(b.events).toEqual([]);
    expect(signal?.aborted).toBe(false);
    joined.open();
    await a.election.stop();
    await b.election.stop();
  });

  it('Given a leader whose elected work hangs, When it loses the lease, Then it stops acting at once, the work is cancelled, and demotion runs after it', async () => {
    const { store, clock } = newWorld();
    const joined = newGate();
    const events: string[] = [];
    let signal: AbortSignal | undefined;
    const a = newElection(store, clock, 'a', {
      onElected: async (lease, s) => {
        signal = s;
        events.push(`electing ${lease.epoch}`);
        await joined.promise;
        events.push(`elected ${lease.epoch}`);
      },
      onDemoted: async (lease, why) => {
        events.push(`demoted ${lease.epoch}: ${why}`);
        await Promise.resolve();
      },
    });
    await a.election.tick();
    const demoted = a.election.lost('fenced');
    expect(a.election.current).toBeUndefined();
    expect(signal?.aborted).toBe(true);
    joined.open();
    await demoted;
    expect(events).toEqual(['electing 1', 'elected 1', 'demoted 1: fenced']);
  });

  it('Given a leader, When its lease lapses on its side before a renewal confirms it, Then it is no longer current', async () => {
    const { store, clock } = newWorld();
    const a = newElection(store, clock, 'a');
    await a.election.tick();
    clock.now += TTL;
    expect(a.election.current).toBeUndefined();
    await a.election.tick();
    await a.election.settled();
    expect(a.events).toEqual(['elected 1', 'demoted 1: lease renewal refused', 'elected 2']);
  });

  it('Given a leader, When its elected work fails, Then it gives the lease up', async () => {
    const { store, clock } = newWorld();
    const errors: unknown[] = [];
    const a = newElection(store, clock, 'a', {
      onElected: () => Promise.reject(new Error('cannot subscribe')),
      onError: (e) => errors.push(e),
    });
    await a.election.tick();
    await a.election.settled();
    expect(a.election.current).toBeUndefined();
    expect(a.events).toEqual(['demoted 1: elected work failed: cannot subscribe']);
    expect(errors).toHaveLength(1);
  });
});
