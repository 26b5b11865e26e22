// Bus and store against the real servers of the test env, each beside its raw baseline in the same run:
//  1. Kafka: raw kafkajs produce→consume (idempotent producer, acks -1, sendBatch; eachMessage consumer) vs the
//     EventBus (zod validation + Ed25519 signing on publish, as every process on Kafka signs, ADR 0038, 0046;
//     verification, header and data validation, tracing, commit-after-handler on consume), and beside it the v1
//     layout with the embedded demo's HMAC. Throughput end to end and latency p50/p99 (publish call → handler).
//     Target: the bus keeps ≥ 50% of raw throughput.
//  2. Where the bus's cost goes: the per-message CPU of each step, measured alone.
//  3. Redis: StateStore.transition (Lua: epoch fence + versions + write) vs raw SET of the same JSON.
// Needs `npm run build` (imports the packages' dist) and `npm run env:up`. Stops by itself (hard limit below).
// The parts live in bus-store-kafka.ts and bus-store-redis.ts.
// Options: --messages N (default 20000), --rounds N (default 3, after one warm-up round that is printed and left
// out of the medians), --redis-ops N (default 20000),
// --only raw,bus,breakdown,redis (default all; e.g. to profile one part with --cpu-prof), --layouts v1,v2,v3 (the
// bus's wire layouts, default all).
import { Kafka, logLevel } from 'kafkajs';
import { optionValue } from '../support/command-line.ts';
import { loadTestEnv, suppressKafkaJsTimeoutNegativeWarning, TestEnvNotUpError } from '../support/env.ts';
import { KEYS, newCommand, SigningScheme } from './bus-store-fixtures.ts';
import { WireLayout } from '@meshwave/bus';
import { BATCH, busKafka, costBreakdown, PARTITIONS, rawKafka, type KafkaResult } from './bus-store-kafka.ts';
import { redisBench, type RedisResult } from './bus-store-redis.ts';

const HARD_LIMIT_MS = 600_000;
const hardStop = setTimeout(() => {
  console.error(`bus-store bench: still running after ${HARD_LIMIT_MS / 1000} s, giving up`);
  process.exit(2);
}, HARD_LIMIT_MS);
hardStop.unref();

const arg = (name: string, fallback: number): number => Number(optionValue(name) ?? fallback);
const MESSAGES = arg('--messages', 20_000);
const ROUNDS = arg('--rounds', 3);
const REDIS_OPS = arg('--redis-ops', 20_000);
const ONLY = new Set((optionValue('--only') ?? 'raw,bus,breakdown,redis').split(','));
/** the bus's wire layouts to run (default all three), e.g. `--layouts v3` to profile one */
const LAYOUTS = new Set((optionValue('--layouts') ?? 'v1,v2,v3').split(','));

// kafkajs 2.2.4 on Node 24: see libs/bus/src/kafka-warnings.ts. The bus installs the same filter.
suppressKafkaJsTimeoutNegativeWarning();

function loadEnv(): { brokers: string[]; redisUrl: string } {
  try {
    const env = loadTestEnv();
    return { brokers: [...env.kafka.brokers], redisUrl: env.redis.url };
  } catch (err) {
    if (!(err instanceof TestEnvNotUpError)) throw err;
    console.error(`bus-store bench: ${err.message}`);
    process.exit(1);
  }
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function printRows(title: string, rows: readonly (KafkaResult | RedisResult)[]): void {
  console.log(title);
  for (const r of rows) {
    const cpu = 'cpuUsPerMessage' in r ? `   CPU ${fmt(r.cpuUsPerMessage, 0).padStart(5)} µs/msg` : '';
    console.log(
      `  ${r.name.padEnd(34)} ${fmt(r.throughput).padStart(9)} /s   p50 ${fmt(r.p50, 2).padStart(8)} ms   p99 ${fmt(r.p99, 2).padStart(8)} ms${cpu}`,
    );
  }
}

const env = loadEnv();
const medianOf = (xs: readonly number[]): number => {
  const v = [...xs].sort((x, y) => x - y);
  return v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};

/** The median of each figure over the measured rounds: a middle round, not the best of each side. */
function medianResult(rs: readonly KafkaResult[]): KafkaResult {
  return {
    name: rs[0]!.name,
    throughput: medianOf(rs.map((r) => r.throughput)),
    p50: medianOf(rs.map((r) => r.p50)),
    p99: medianOf(rs.map((r) => r.p99)),
    cpuUsPerMessage: medianOf(rs.map((r) => r.cpuUsPerMessage)),
  };
}

/** CPU µs per message (medians) of the raw and bus runs, for the cost split below */
let kafkaCpu: { raw: number; rawHeaders: number; bus: number } | undefined;
if (ONLY.has('raw') || ONLY.has('bus')) {
  const admin = new Kafka({ clientId: 'bench-admin', brokers: env.brokers, logLevel: logLevel.ERROR }).admin();
  await admin.connect();
  const runs = {
    raw: [] as KafkaResult[],
    rawHeaders: [] as KafkaResult[],
    bus: [] as KafkaResult[],
    busHmac: [] as KafkaResult[],
    busV2: [] as KafkaResult[],
    busV3: [] as KafkaResult[],
  };
  console.log(
    `Kafka: ${fmt(MESSAGES)} ClusterDesiredState commands (~${fmt(JSON.stringify(newCommand(0).data).length)} B), ${KEYS} keys, ${PARTITIONS} partitions, batches of ${BATCH}, 1 warm-up + ${ROUNDS} rounds each, alternating`,
  );
  const target = { brokers: env.brokers, admin, messages: MESSAGES };
  // Round 0 warms up (JIT, connections, the broker's page cache) and is left out of the medians.
  for (let round = 0; round <= ROUNDS; round++) {
    if (ONLY.has('raw')) runs.raw.push(await rawKafka(target));
    if (ONLY.has('raw')) runs.rawHeaders.push(await rawKafka(target, true));
    if (ONLY.has('bus') && LAYOUTS.has('v1')) runs.bus.push(await busKafka(target, WireLayout.V1));
    if (ONLY.has('bus') && LAYOUTS.has('v1'))
      runs.busHmac.push(await busKafka(target, WireLayout.V1, SigningScheme.Hmac));
    if (ONLY.has('bus') && LAYOUTS.has('v2')) runs.busV2.push(await busKafka(target, WireLayout.V2));
    if (ONLY.has('bus') && LAYOUTS.has('v3')) runs.busV3.push(await busKafka(target, WireLayout.V3));
  }
  await admin.disconnect();
  const measured = (rs: KafkaResult[]): KafkaResult[] => rs.slice(1);
  const median = {
    raw: runs.raw.length > 0 ? medianResult(measured(runs.raw)) : undefined,
    rawHeaders: runs.rawHeaders.length > 0 ? medianResult(measured(runs.rawHeaders)) : undefined,
    bus: runs.bus.length > 0 ? medianResult(measured(runs.bus)) : undefined,
    busHmac: runs.busHmac.length > 0 ? medianResult(measured(runs.busHmac)) : undefined,
    busV2: runs.busV2.length > 0 ? medianResult(measured(runs.busV2)) : undefined,
    busV3: runs.busV3.length > 0 ? medianResult(measured(runs.busV3)) : undefined,
  };
  printRows(
    `Kafka produce→consume (median of ${ROUNDS} rounds of each):`,
    Object.values(median).filter((r): r is KafkaResult => r !== undefined),
  );
  console.log(
    `  all rounds (throughput /s; warm-up first, in brackets): ` +
      Object.entries(runs)
        .filter(([, rs]) => rs.length > 0)
        .map(
          ([name, rs]) =>
            `${name} [${fmt(rs[0]!.throughput)}] ${measured(rs)
              .map((r) => fmt(r.throughput))
              .join(', ')}`,
        )
        .join('; '),
  );
  const raw = median.raw;
  if (raw !== undefined) {
    for (const [label, bus, rounds] of [
      ['v1 headers', median.bus, runs.bus],
      ['v1 headers, HMAC', median.busHmac, runs.busHmac],
      ['v2 headers', median.busV2, runs.busV2],
      ['v3 structured', median.busV3, runs.busV3],
    ] as const) {
      if (bus === undefined) continue;
      const ratio = bus.throughput / raw.throughput;
      // Each bus round against the raw round run just before it: a paired figure, less moved by load swings.
      const perRound = measured(rounds).map((r, i) => r.throughput / measured(runs.raw)[i]!.throughput);
      console.log(
        `  ratio bus (${label})/raw throughput, medians: ${fmt(ratio * 100, 1)}% (target ≥ 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'}); ` +
          `per round: ${perRound.map((r) => fmt(r * 100, 1)).join('%, ')}% (median ${fmt(medianOf(perRound) * 100, 1)}%)`,
      );
      // On a CPU-bound machine throughput follows CPU per message; this ratio does not move with other load.
      console.log(
        `  ratio raw/bus (${label}) CPU per message (throughput ratio when CPU-bound, independent of load): ${fmt((raw.cpuUsPerMessage / bus.cpuUsPerMessage) * 100, 1)}%`,
      );
    }
    // the split below adds up the HMAC steps of the breakdown: set against the HMAC bus run
    if (median.rawHeaders !== undefined && median.busHmac !== undefined)
      kafkaCpu = {
        raw: raw.cpuUsPerMessage,
        rawHeaders: median.rawHeaders.cpuUsPerMessage,
        bus: median.busHmac.cpuUsPerMessage,
      };
    if (median.bus !== undefined && median.busHmac !== undefined)
      console.log(
        `  Ed25519 over HMAC (v1 layout, whole bus, medians): CPU ${fmt(median.bus.cpuUsPerMessage - median.busHmac.cpuUsPerMessage, 1)} µs/msg more, throughput ${fmt((median.bus.throughput / median.busHmac.throughput) * 100, 1)}% of HMAC's`,
      );
  }
}

if (ONLY.has('breakdown')) {
  console.log('Where the bus spends CPU per message (CPU µs, each step measured alone):');
  const steps = costBreakdown();
  for (const [name, us] of steps) console.log(`  ${name.padEnd(78)} ${fmt(us, 1).padStart(7)}`);
  if (kafkaCpu !== undefined) {
    const extra = kafkaCpu.bus - kafkaCpu.raw;
    const [rawJson, , , encode, , inspect] = steps.map(([, us]) => us) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const headers = kafkaCpu.rawHeaders - kafkaCpu.raw;
    const rest = extra - headers - (encode - rawJson / 2) - (inspect - rawJson / 2);
    console.log(
      `  the HMAC bus's extra ${fmt(extra, 0)} µs/msg over raw: kafkajs encoding and decoding the envelope's 10 headers ~${fmt(headers, 0)} ` +
        `(raw + headers run; v1 layout), envelope on publish ~${fmt(encode - rawJson / 2, 0)}, inspection on consume ~${fmt(inspect - rawJson / 2, 0)}, ` +
        `rest ~${fmt(rest, 0)} (delivery bookkeeping, spans, commits, GC)`,
    );
  }
}

if (ONLY.has('redis')) {
  const redisRows = await redisBench(env.redisUrl, REDIS_OPS);
  printRows(`Redis (${fmt(REDIS_OPS)} ops at 64 in flight; latency sequential):`, redisRows);
  const [rawSet, transition, audited] = redisRows as [RedisResult, RedisResult, RedisResult];
  console.log(
    `  ratio transition/SET throughput: ${fmt((transition.throughput / rawSet.throughput) * 100, 1)}%, with 2 docs + audit: ${fmt((audited.throughput / rawSet.throughput) * 100, 1)}%`,
  );
}
clearTimeout(hardStop);
