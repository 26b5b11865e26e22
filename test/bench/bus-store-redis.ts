// The Redis part of the bus/store benchmark (bus-store.ts): StateStore.transition (Lua: epoch fence + versions +
// write) against a raw SET of the same JSON, each sequential (latency) and 64 in flight (throughput).
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createRedisStore } from '@meshwave/store';
import { Redis } from 'ioredis';
import { newCommand, percentile } from './bus-store-fixtures.ts';

export interface RedisResult {
  readonly name: string;
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
}

/** `ops`: operations of each kind at 64 in flight (at most 5,000 of them sequential, for the latencies). */
export async function redisBench(redisUrl: string, ops: number): Promise<RedisResult[]> {
  const redis = new Redis(redisUrl);
  const prefix = `mwbench-${randomUUID().slice(0, 8)}`;
  const store = createRedisStore({ redis, keyPrefix: prefix });
  const doc = newCommand(1).data;
  const json = JSON.stringify(doc);
  type Op = (i: number) => Promise<unknown>;
  const sequential = async (op: Op): Promise<{ p50: number; p99: number }> => {
    const n = Math.min(ops, 5_000);
    const latencies: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await op(i);
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  };
  const concurrent = async (op: Op, inFlight = 64): Promise<number> => {
    let next = 0;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < ops) await op(next++);
      }),
    );
    return ops / ((performance.now() - t) / 1000);
  };
  const set: Op = (i) => redis.set(`${prefix}:raw:${i % 100}`, json);
  const transition: Op = (i) =>
    store.transition({ scope: `r-${i % 100}`, epoch: 7, writes: [{ name: 'target/cluster-1', value: doc }] });
  const transitionAudited: Op = (i) =>
    store.transition({
      scope: `a-${i % 100}`,
      epoch: 7,
      writes: [
        { name: 'wave/1', value: { phase: 'Converging' } },
        { name: 'target/cluster-1', value: doc },
      ],
      audit: { actor: 'planner-0', action: 'wave-converging', scope: `a-${i % 100}`, at: '2026-11-22T20:00:00Z' },
    });
  await set(0);
  await transition(0); // loads the script
  const rows: RedisResult[] = [];
  for (const [name, op] of [
    ['raw SET (same JSON)', set],
    ['transition: 1 doc, epoch-fenced', transition],
    ['transition: 2 docs + audit', transitionAudited],
  ] as const) {
    const { p50, p99 } = await sequential(op);
    const throughput = await concurrent(op);
    rows.push({ name, throughput, p50, p99 });
  }
  const keys = await redis.keys(`${prefix}:*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  await redis.quit();
  return rows;
}
