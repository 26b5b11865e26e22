// Benchmark: time to roll 100 VM hosts with maxUnavailable 10% and a 1 s health check, against the ideal
// (batches x health time), both measured in this run. The hosts run the real vm-agent logic (bundle
// download, sha256, unpack, atomic switch, journal) over the bridge's real HTTP API on 127.0.0.1; only the
// proxy is simulated: it becomes ready 1 s after each restart. Stops by itself.
//   node_modules/.bin/node test/bench/vm-bridge.ts [--hosts 100] [--max-unavailable-percent 10] [--health-ms 1000] [--store memory|redis]
// Needs a build (`npx tsc -b services/vm-bridge`).
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createInMemoryStore, createRedisStore } from '@meshwave/store';
import { createSimulatedVmFleet } from '@meshwave/cli';
import { loadTestEnv } from '../support/env.ts';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '100' },
    'max-unavailable-percent': { type: 'string', default: '10' },
    'health-ms': { type: 'string', default: '1000' },
    store: { type: 'string', default: 'memory' },
  },
});
const hosts = Number(values.hosts);
const maxUnavailable = Math.max(1, Math.ceil((Number(values['max-unavailable-percent']) / 100) * hosts));
const healthMs = Number(values['health-ms']);
const batches = Math.ceil(hosts / maxUnavailable);

const store =
  values.store === 'redis'
    ? createRedisStore({ url: loadTestEnv().redis.url, keyPrefix: `bench-vm-${process.pid}` })
    : createInMemoryStore();

const fleet = await createSimulatedVmFleet({
  groups: [{ name: 'bench', hosts, initialVersion: '1-24-5' }],
  versions: ['1-25-2'],
  store,
  transport: 'http',
  proxyStartMs: healthMs,
  bridgeSettings: { tickMs: 250, batchTimeoutMs: 120_000 },
  agentSettings: { reportIntervalMs: 5000, readinessIntervalMs: 50, readinessTimeoutMs: healthMs * 10 },
});

const deadline = setTimeout(() => {
  console.error('vm-bridge bench: did not finish within 10 minutes');
  process.exit(1);
}, 600_000);

async function rolled(): Promise<boolean> {
  const { hosts: records } = await fleet.bridge.snapshot('bench');
  return records.every((h) => h.report?.runningVersion === '1-25-2' && h.report.phase === 'idle' && h.report.healthy);
}

const start = performance.now();
await fleet.bridge.applyCommand({
  rolloutId: 'bench',
  wave: 0,
  generation: 1,
  epoch: 1,
  group: 'bench',
  from: '1-24-5',
  to: '1-25-2',
  maxUnavailable,
  halted: false,
  hosts: fleet.hosts.map((h) => ({ name: h.name, version: '1-25-2' })),
});
while (!(await rolled())) await new Promise((r) => setTimeout(r, 20));
const elapsedMs = performance.now() - start;
clearTimeout(deadline);
const { group } = await fleet.bridge.snapshot('bench');
await fleet.close();
await store.close();

const ideal = batches * healthMs;
console.log(
  JSON.stringify(
    {
      bench: 'vm-bridge roll',
      hosts,
      maxUnavailable,
      batches: group.batchesStarted,
      healthCheckMs: healthMs,
      store: values.store,
      elapsedMs: Math.round(elapsedMs),
      idealMs: ideal,
      ratio: Number((elapsedMs / ideal).toFixed(2)),
      overheadPerBatchMs: Math.round((elapsedMs - ideal) / batches),
    },
    null,
    2,
  ),
);
