// Given the real Redis of the test environment (AOF, appendfsync always), writes survive restarts.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { crashRedis, loadTestEnv, restartRedis } from '../../support/env.ts';

async function withRedis<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

describe('redis (Debian redis-server, AOF on)', () => {
  it('runs with appendonly yes', async () => {
    const { redis } = loadTestEnv();
    const config = await withRedis(redis.url, (r) => r.config('GET', 'appendonly'));
    expect(config).toEqual(['appendonly', 'yes']);
  });

  it('keeps a MULTI transaction across a clean restart and across SIGKILL', async () => {
    const key = `mw:{smoke-${randomUUID()}}`;
    const before = loadTestEnv().redis;
    await withRedis(before.url, (r) =>
      r.multi().hset(`${key}:rollout`, 'state', 'Running').xadd(`${key}:audit`, '*', 'event', 'started').exec(),
    );

    const restarted = await restartRedis();
    expect(restarted.port).toBe(before.port);
    expect(restarted.pid).not.toBe(before.pid);
    expect(await withRedis(restarted.url, (r) => r.hget(`${key}:rollout`, 'state'))).toBe('Running');

    await withRedis(restarted.url, (r) => r.hset(`${key}:rollout`, 'state', 'Completed'));
    const crashed = await crashRedis();
    expect(crashed.pid).not.toBe(restarted.pid);
    const [state, audit] = await withRedis(crashed.url, (r) =>
      Promise.all([r.hget(`${key}:rollout`, 'state'), r.xlen(`${key}:audit`)]),
    );
    expect(state).toBe('Completed');
    expect(audit).toBe(1);
  });
});
