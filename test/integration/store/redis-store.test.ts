import { randomUUID } from 'node:crypto';
import {
  createRedisStore,
  describeStateStoreContract,
  describeStoreLossContract,
  newAuditEntry,
  type StateStore,
} from '@meshwave/store';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadTestEnv } from '../../support/env.js';

// Each store gets its own key prefix, so tests never see each other's keys.
const newPrefix = (): string => `mwtest-${randomUUID().slice(0, 8)}`;

describeStateStoreContract(
  'redis',
  async (options) => createRedisStore({ url: loadTestEnv().redis.url, keyPrefix: newPrefix(), ...options }),
  {
    describe,
    it,
    expect,
    afterEach,
  },
);

// The loss of Redis's data, limited to one store's keys: a FLUSHALL would also wipe the shared environment's
// other tests. Every key of a store starts with its prefix, so this is the same loss for that store.
const prefixes = new WeakMap<StateStore, string>();
describeStoreLossContract(
  'redis',
  async (options) => {
    const keyPrefix = newPrefix();
    const store = createRedisStore({ url: loadTestEnv().redis.url, keyPrefix, ...options });
    prefixes.set(store, keyPrefix);
    return store;
  },
  async (store) => {
    const redis = new Redis(loadTestEnv().redis.url);
    try {
      const keys = await redis.keys(`${prefixes.get(store) ?? 'missing-prefix'}:*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
    } finally {
      await redis.quit();
    }
    return store;
  },
  { describe, it, expect, afterEach },
);

describe('Redis StateStore', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(loadTestEnv().redis.url);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('Given a scope, When a transition with audit is applied, Then every key it touched shares the scope as hash tag (one Redis Cluster slot)', async () => {
    const prefix = newPrefix();
    const store = createRedisStore({ redis, keyPrefix: prefix });
    await store.transition({
      scope: 'r-42',
      epoch: 3,
      writes: [
        { name: 'rollout', value: 1 },
        { name: 'target/ns-a', value: 2 },
      ],
      audit: newAuditEntry('r-42', 'started'),
    });
    const keys = await redis.keys(`${prefix}:{r-42}:*`);
    expect(keys.sort()).toEqual([
      `${prefix}:{r-42}:audit`,
      `${prefix}:{r-42}:docs`,
      `${prefix}:{r-42}:epoch`,
      `${prefix}:{r-42}:kinds`,
      `${prefix}:{r-42}:versions`,
    ]);
    // Redis Cluster hashes only the first {...} of a key: the same tag means the same slot.
    expect(new Set(keys.map((k) => /\{[^}]*\}/.exec(k)?.[0]))).toEqual(new Set(['{r-42}']));
    expect(await redis.get(`${prefix}:{r-42}:epoch`)).toBe('3');
  });

  it('Given a retention of one hour, When entries have aged past it and one more is written, Then Redis holds only the young ones (XADD MINID) and each audit stream expires an hour after its last entry', async () => {
    const hour = 3_600_000;
    let now = Date.parse('2026-11-22T20:00:00.000Z');
    const prefix = newPrefix();
    const store = createRedisStore({ redis, keyPrefix: prefix, auditRetentionMs: hour, now: () => now });
    for (let i = 0; i < 5; i++) await store.appendAudit(newAuditEntry('r-1', `old-${i}`));
    now += hour + 1;
    // the scope stream through the transition script, the fleet stream through its own
    await store.transition({ scope: 'r-1', epoch: 1, writes: [], audit: newAuditEntry('r-1', 'young') });
    for (const key of [`${prefix}:{r-1}:audit`, `${prefix}:{audit}:fleet`]) {
      expect(await redis.xlen(key)).toBe(1);
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(hour);
    }
    expect((await store.readAudit()).map((e) => e.action)).toEqual(['young']);
  });

  it('Given a scope whose documents were lost but not their versions (a partial loss), When a writer expects them absent, Then its writes apply and the version keeps growing', async () => {
    const prefix = newPrefix();
    const store = createRedisStore({ redis, keyPrefix: prefix });
    const write = (value: string, expectedVersion: number) =>
      store.transition({ scope: 'vmgroup/g', epoch: 1, writes: [{ name: 'host/a', value, expectedVersion }] });
    expect(await write('before', 0)).toEqual({ ok: true, versions: { 'host/a': 1 } });
    await redis.del(`${prefix}:{vmgroup/g}:docs`);
    // every reader sees no document
    expect(await store.read('vmgroup/g', 'host/a')).toBeUndefined();
    expect((await store.readScope('vmgroup/g')).size).toBe(0);
    expect(await store.readVersion('vmgroup/g', 'host/a')).toBe(0);
    // so a writer that read it absent is not refused (before: version-conflict on every attempt, for ever), and
    // the new document's version is above the lost one's, so no cache takes it for the old
    expect(await write('after', 0)).toEqual({ ok: true, versions: { 'host/a': 2 } });
    expect(await store.read('vmgroup/g', 'host/a')).toEqual({ value: 'after', version: 2 });
    expect(await write('stale', 0)).toMatchObject({ ok: false, reason: 'version-conflict', actualVersion: 2 });
  });

  it('Given a lease, When it is taken, Then it is a plain key with a PX ttl and an INCR epoch counter', async () => {
    const prefix = newPrefix();
    const store = createRedisStore({ redis, keyPrefix: prefix });
    const lease = await store.acquireLease('planner', 'planner-0', 5_000);
    const ttl = await redis.pttl(`${prefix}:{lease/planner}:holder`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5_000);
    expect(await redis.get(`${prefix}:{lease/planner}:epoch`)).toBe(String(lease?.epoch));
  });
});
