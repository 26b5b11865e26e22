// Bus and store against the real servers of the test env, each beside its raw baseline in the same run:
//  1. Kafka: raw kafkajs produce→consume (idempotent producer, acks -1, sendBatch; eachMessage consumer) vs the
//     EventBus (zod validation + HMAC signing on publish; verification, header and data validation, tracing,
//     commit-after-handler on consume). Throughput end to end and latency p50/p99 (publish call → handler).
//     Target: the bus keeps ≥ 50% of raw throughput.
//  2. Where the bus's cost goes: the per-message CPU of each step, measured alone.
//  3. Redis: StateStore.transition (Lua: epoch fence + versions + write) vs raw SET of the same JSON.
// Needs `npm run build` (imports the packages' dist) and `npm run env:up`. Stops by itself (hard limit below).
// Options: --messages N (default 20000), --rounds N (default 2), --redis-ops N (default 20000),
// --only raw,bus,breakdown,redis (default all; e.g. to profile one part with --cpu-prof).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createKafkaBus, encodeEnvelope, inspectRecord, MessageSigner } from '@meshwave/bus';
import { MessageSchemas, MessageType } from '@meshwave/contracts';
import { createRedisStore } from '@meshwave/store';
import { Redis } from 'ioredis';
import { Kafka, Partitioners, logLevel } from 'kafkajs';

const HARD_LIMIT_MS = 600_000;
const hardStop = setTimeout(() => {
  console.error(`bus-store bench: still running after ${HARD_LIMIT_MS / 1000} s, giving up`);
  process.exit(2);
}, HARD_LIMIT_MS);
hardStop.unref();

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const MESSAGES = arg('--messages', 20_000);
const ROUNDS = arg('--rounds', 2);
const REDIS_OPS = arg('--redis-ops', 20_000);
const onlyAt = process.argv.indexOf('--only');
const ONLY = new Set(onlyAt >= 0 ? process.argv[onlyAt + 1].split(',') : ['raw', 'bus', 'breakdown', 'redis']);
const BATCH = 500;
const KEYS = 50;
const PARTITIONS = 6;
const CONCURRENCY = 6;

// kafkajs 2.2.4 on Node 24: see libs/bus/src/kafka-warnings.ts. The bus installs the same filter.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'TimeoutNegativeWarning' && /kafkajs/.test(new Error().stack ?? '')) return;
  emitWarning(warning, ...rest);
};

function loadEnv() {
  const dir = process.env.MESHWAVE_ENV_DIR ?? path.join(os.homedir(), '.cache', 'meshwave', 'run');
  const file = path.join(dir, 'env.json');
  let env;
  try {
    env = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    console.error(`bus-store bench: no test env at ${file}; run \`npm run env:up\` first`);
    process.exit(1);
  }
  return { brokers: env.kafka.brokers, redisUrl: env.redis.url };
}

const SIGNING = { keys: [{ id: 'bench', secret: 'bench-secret-bench-secret-bench-secret!' }], activeKeyId: 'bench' };

function newCommand(seq) {
  const cluster = `c-${seq % KEYS}`;
  return {
    topic: 'commands',
    key: `cluster/${cluster}`,
    audience: `cluster/${cluster}`,
    type: MessageType.ClusterDesiredState,
    data: {
      rolloutId: 'r-bench',
      wave: 1,
      generation: seq + 1,
      epoch: 7,
      cluster,
      from: '1-24-5',
      to: '1-25-2',
      granularity: 'workload',
      maxUnavailable: 2,
      units: Array.from({ length: 5 }, (_, u) => ({
        namespace: `team-${u}`,
        kind: 'Deployment',
        name: `svc-${u}`,
        revision: '1-25-2',
      })),
      halted: false,
      progressDeadlineSeconds: 600,
    },
  };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Waits for `done()` or fails after `ms`. */
async function until(done, ms, what) {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sends MESSAGES in batches of BATCH, one batch at a time, recording when each batch was handed over. */
async function produce(sendBatch, sentAt) {
  for (let start = 0; start < MESSAGES; start += BATCH) {
    const seqs = Array.from({ length: Math.min(BATCH, MESSAGES - start) }, (_, i) => start + i);
    const t = performance.now();
    for (const s of seqs) sentAt[s] = t;
    await sendBatch(seqs);
  }
}

/** `cpuAtStart`: process.cpuUsage() when the first message was sent; CPU per message is load-independent. */
function summarize(name, sentAt, receivedAt, firstSend, cpuAtStart) {
  const cpu = process.cpuUsage(cpuAtStart);
  const last = Math.max(...receivedAt);
  const latencies = receivedAt.map((r, s) => r - sentAt[s]).sort((a, b) => a - b);
  return {
    name,
    throughput: MESSAGES / ((last - firstSend) / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuUsPerMessage: (cpu.user + cpu.system) / MESSAGES,
  };
}

async function createTopic(admin, topic) {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
  });
}

/** The headers a bus message carries (same names, same sizes), for the raw run that isolates their cost. */
function envelopeLikeHeaders(m) {
  return {
    ce_specversion: '1.0',
    ce_id: randomUUID(),
    ce_type: m.type,
    ce_source: 'planner',
    ce_time: new Date().toISOString(),
    'content-type': 'application/json',
    ce_audience: m.audience,
    ce_expiry: new Date(Date.now() + 3_600_000).toISOString(),
    mw_key_id: SIGNING.activeKeyId,
    mw_signature: 'v1=0123456789abcdefghijklmnopqrstuvwxyzABCDEFG',
  };
}

/** `withHeaders`: carry the envelope's headers (unsigned, unchecked) to show what the headers alone cost. */
async function rawKafka(env, admin, withHeaders = false) {
  const topic = `mwbench.${randomUUID().slice(0, 8)}.raw`;
  await createTopic(admin, topic);
  const kafka = new Kafka({ clientId: 'bench-raw', brokers: env.brokers, logLevel: logLevel.ERROR });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({ groupId: `bench-raw-${randomUUID()}` });
  const sentAt = new Array(MESSAGES);
  const receivedAt = new Array(MESSAGES).fill(0);
  let received = 0;
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: CONCURRENCY,
    eachMessage: async ({ message }) => {
      if (withHeaders) for (const value of Object.values(message.headers ?? {})) value?.toString();
      const data = JSON.parse(message.value.toString('utf8'));
      const seq = data.generation - 1;
      if (receivedAt[seq] === 0) {
        receivedAt[seq] = performance.now();
        received++;
      }
    },
  });
  const firstSend = performance.now();
  const cpuAtStart = process.cpuUsage();
  await produce(
    (seqs) =>
      producer.sendBatch({
        acks: -1,
        topicMessages: [
          {
            topic,
            messages: seqs.map((s) => {
              const m = newCommand(s);
              return {
                key: m.key,
                value: JSON.stringify(m.data),
                headers: withHeaders ? envelopeLikeHeaders(m) : { ce_type: m.type },
              };
            }),
          },
        ],
      }),
    sentAt,
  );
  await until(() => received === MESSAGES, 120_000, 'raw consumer');
  const result = summarize(
    withHeaders ? 'raw kafkajs + envelope headers' : 'raw kafkajs',
    sentAt,
    receivedAt,
    firstSend,
    cpuAtStart,
  );
  await consumer.disconnect();
  await producer.disconnect();
  return result;
}

async function busKafka(env, admin) {
  const run = randomUUID().slice(0, 8);
  const topicNames = {
    commands: `mwbench.${run}.commands`,
    events: `mwbench.${run}.events`,
    dlq: `mwbench.${run}.dlq`,
  };
  await createTopic(admin, topicNames.commands);
  const bus = createKafkaBus({
    source: 'planner',
    signing: SIGNING,
    brokers: env.brokers,
    topicNames,
    partitions: { commands: PARTITIONS, events: 1, dlq: 1 },
    replicationFactor: 1,
    concurrency: CONCURRENCY,
  });
  const sentAt = new Array(MESSAGES);
  const receivedAt = new Array(MESSAGES).fill(0);
  let received = 0;
  await bus.subscribe({
    topic: 'commands',
    groupId: `bench-bus-${run}`,
    fromBeginning: true,
    handler: async (m) => {
      const seq = m.data.generation - 1;
      if (receivedAt[seq] === 0) {
        receivedAt[seq] = performance.now();
        received++;
      }
    },
  });
  const firstSend = performance.now();
  const cpuAtStart = process.cpuUsage();
  await produce((seqs) => bus.publish(seqs.map(newCommand)), sentAt);
  await until(() => received === MESSAGES, 120_000, 'bus consumer');
  const result = summarize('EventBus (signed, validated)', sentAt, receivedAt, firstSend, cpuAtStart);
  await bus.close();
  return result;
}

/** CPU µs per message of each step the bus adds, measured alone over the same messages. */
function costBreakdown() {
  const n = 20_000;
  const signer = new MessageSigner(SIGNING);
  const messages = Array.from({ length: n }, (_, i) => newCommand(i));
  const schema = MessageSchemas[MessageType.ClusterDesiredState];
  const time = (fn) => {
    for (let i = 0; i < 2_000; i++) fn(i % n); // warm-up
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) fn(i);
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / n;
  };
  const records = messages.map((m) =>
    encodeEnvelope(m, { source: 'planner', nowMs: Date.now(), defaultTtlSeconds: 3600, signer, trace: {} }),
  );
  const attributes = [
    'meshwave-envelope-v1',
    '1.0',
    'id',
    'type',
    'planner',
    'time',
    'application/json',
    'cluster/c-1',
    'expiry',
    'bench',
  ];
  const position = { topic: 'meshwave.commands', partition: 0, offset: '0' };
  const inspect = { signer, nowMs: Date.now(), clockSkewMs: 30_000, audiences: undefined };
  return [
    ['raw: JSON.stringify + JSON.parse of the data', time((i) => JSON.parse(JSON.stringify(messages[i].data)))],
    ['publish: zod validation of the data', time((i) => schema.parse(messages[i].data))],
    ['publish: HMAC-SHA256 sign', time((i) => signer.sign(attributes, records[i].value))],
    [
      'publish: whole envelope (validate, JSON, headers, sign)',
      time((i) =>
        encodeEnvelope(messages[i], { source: 'planner', nowMs: 0, defaultTtlSeconds: 3600, signer, trace: {} }),
      ),
    ],
    [
      'consume: HMAC-SHA256 verify',
      time((i) => signer.verify('bench', records[i].headers.mw_signature, attributes, records[i].value)),
    ],
    [
      'consume: whole inspection (headers schema, verify, expiry, JSON, data schema)',
      time((i) => inspectRecord(records[i], position, inspect)),
    ],
  ];
}

async function redisBench(env) {
  const redis = new Redis(env.redisUrl);
  const prefix = `mwbench-${randomUUID().slice(0, 8)}`;
  const store = createRedisStore({ redis, keyPrefix: prefix });
  const doc = newCommand(1).data;
  const json = JSON.stringify(doc);
  const sequential = async (op) => {
    const n = Math.min(REDIS_OPS, 5_000);
    const latencies = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await op(i);
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  };
  const concurrent = async (op, inFlight = 64) => {
    let next = 0;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < REDIS_OPS) await op(next++);
      }),
    );
    return REDIS_OPS / ((performance.now() - t) / 1000);
  };
  const set = (i) => redis.set(`${prefix}:raw:${i % 100}`, json);
  const transition = (i) =>
    store.transition({ scope: `r-${i % 100}`, epoch: 7, writes: [{ name: 'target/cluster-1', value: doc }] });
  const transitionAudited = (i) =>
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
  const rows = [];
  for (const [name, op] of [
    ['raw SET (same JSON)', set],
    ['transition: 1 doc, epoch-fenced', transition],
    ['transition: 2 docs + audit', transitionAudited],
  ]) {
    const { p50, p99 } = await sequential(op);
    const throughput = await concurrent(op);
    rows.push({ name, throughput, p50, p99 });
  }
  const keys = await redis.keys(`${prefix}:*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  await redis.quit();
  return rows;
}

function printRows(title, rows) {
  console.log(title);
  for (const r of rows) {
    const cpu = r.cpuUsPerMessage === undefined ? '' : `   CPU ${fmt(r.cpuUsPerMessage, 0).padStart(5)} µs/msg`;
    console.log(
      `  ${r.name.padEnd(34)} ${fmt(r.throughput).padStart(9)} /s   p50 ${fmt(r.p50, 2).padStart(8)} ms   p99 ${fmt(r.p99, 2).padStart(8)} ms${cpu}`,
    );
  }
}

const env = loadEnv();
/** CPU µs per message of the best raw and bus rounds, for the cost split below */
let kafkaCpu;
if (ONLY.has('raw') || ONLY.has('bus')) {
  const admin = new Kafka({ clientId: 'bench-admin', brokers: env.brokers, logLevel: logLevel.ERROR }).admin();
  await admin.connect();
  const raw = [];
  const rawHeaders = [];
  const bus = [];
  console.log(
    `Kafka: ${fmt(MESSAGES)} ClusterDesiredState commands (~${fmt(JSON.stringify(newCommand(0).data).length)} B), ${KEYS} keys, ${PARTITIONS} partitions, batches of ${BATCH}, ${ROUNDS} rounds each, alternating`,
  );
  for (let round = 0; round < ROUNDS; round++) {
    if (ONLY.has('raw')) raw.push(await rawKafka(env, admin));
    if (ONLY.has('raw')) rawHeaders.push(await rawKafka(env, admin, true));
    if (ONLY.has('bus')) bus.push(await busKafka(env, admin));
  }
  await admin.disconnect();
  const best = (rs) => rs.reduce((a, b) => (b.throughput > a.throughput ? b : a));
  printRows('Kafka produce→consume (best round of each):', [
    ...(raw.length > 0 ? [best(raw), best(rawHeaders)] : []),
    ...(bus.length > 0 ? [best(bus)] : []),
  ]);
  if (raw.length > 0 && bus.length > 0) {
    const ratio = best(bus).throughput / best(raw).throughput;
    console.log(
      `  ratio bus/raw throughput: ${fmt(ratio * 100, 1)}% (target ≥ 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'})`,
    );
    // On a CPU-bound machine throughput follows CPU per message; this ratio does not move with other load.
    const cpuRatio = best(raw).cpuUsPerMessage / best(bus).cpuUsPerMessage;
    console.log(
      `  ratio raw/bus CPU per message (throughput ratio when CPU-bound, independent of load): ${fmt(cpuRatio * 100, 1)}%`,
    );
    console.log(
      `  all rounds raw: ${raw.map((r) => fmt(r.throughput)).join(', ')}   bus: ${bus.map((r) => fmt(r.throughput)).join(', ')}`,
    );
    kafkaCpu = {
      raw: best(raw).cpuUsPerMessage,
      rawHeaders: best(rawHeaders).cpuUsPerMessage,
      bus: best(bus).cpuUsPerMessage,
    };
  }
}

if (ONLY.has('breakdown')) {
  console.log('Where the bus spends CPU per message (CPU µs, each step measured alone):');
  const steps = costBreakdown();
  for (const [name, us] of steps) console.log(`  ${name.padEnd(78)} ${fmt(us, 1).padStart(7)}`);
  if (kafkaCpu !== undefined) {
    const extra = kafkaCpu.bus - kafkaCpu.raw;
    const [rawJson, , , encode, , inspect] = steps.map(([, us]) => us);
    const headers = kafkaCpu.rawHeaders - kafkaCpu.raw;
    const rest = extra - headers - (encode - rawJson / 2) - (inspect - rawJson / 2);
    console.log(
      `  the bus's extra ${fmt(extra, 0)} µs/msg over raw: kafkajs encoding and decoding the envelope's 10 headers ~${fmt(headers, 0)} ` +
        `(raw + headers run), envelope on publish ~${fmt(encode - rawJson / 2, 0)}, inspection on consume ~${fmt(inspect - rawJson / 2, 0)}, ` +
        `rest ~${fmt(rest, 0)} (delivery bookkeeping, spans, commits, GC)`,
    );
  }
}

if (ONLY.has('redis')) {
  const redisRows = await redisBench(env);
  printRows(`Redis (${fmt(REDIS_OPS)} ops at 64 in flight; latency sequential):`, redisRows);
  const [rawSet, transition, audited] = redisRows;
  console.log(
    `  ratio transition/SET throughput: ${fmt((transition.throughput / rawSet.throughput) * 100, 1)}%, with 2 docs + audit: ${fmt((audited.throughput / rawSet.throughput) * 100, 1)}%`,
  );
}
clearTimeout(hardStop);
