// The Kafka part of the bus/store benchmark (bus-store.ts): raw kafkajs produce→consume (idempotent producer,
// acks -1, sendBatch; eachMessage consumer) against the EventBus over the same commands, and the CPU per
// message of each step the bus adds, measured alone.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createKafkaBus, encodeEnvelope, inspectRecord, MessageSigner, WireLayout } from '@meshwave/bus';
import { MessageSchemas, MessageType } from '@meshwave/contracts';
import { Kafka, Partitioners, logLevel, type Admin, type IHeaders } from 'kafkajs';
import {
  newCommand,
  percentile,
  SIGNING,
  ED25519_SIGNING,
  SigningScheme,
  signingOf,
  type BenchCommand,
} from './bus-store-fixtures.ts';

/** messages per sendBatch / publish call */
export const BATCH = 500;
export const PARTITIONS = 6;
const CONCURRENCY = 6;

/** One produce→consume run: throughput end to end, latency from the publish call to the handler. */
export interface KafkaResult {
  readonly name: string;
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpuUsPerMessage: number;
}

/** Where the runs go: the test env's brokers, an admin to create each run's topic, how many messages. */
export interface KafkaTarget {
  readonly brokers: string[];
  readonly admin: Admin;
  readonly messages: number;
}

/** Waits for `done()` or fails after `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sends `messages` in batches of BATCH, one batch at a time, recording when each batch was handed over. */
async function produce(
  messages: number,
  sendBatch: (seqs: number[]) => Promise<unknown>,
  sentAt: number[],
): Promise<void> {
  for (let start = 0; start < messages; start += BATCH) {
    const seqs = Array.from({ length: Math.min(BATCH, messages - start) }, (_, i) => start + i);
    const t = performance.now();
    for (const s of seqs) sentAt[s] = t;
    await sendBatch(seqs);
  }
}

/** `cpuAtStart`: process.cpuUsage() when the first message was sent; CPU per message is load-independent. */
function summarize(
  name: string,
  sentAt: readonly number[],
  receivedAt: readonly number[],
  firstSend: number,
  cpuAtStart: NodeJS.CpuUsage,
): KafkaResult {
  const messages = receivedAt.length;
  const cpu = process.cpuUsage(cpuAtStart);
  const last = Math.max(...receivedAt);
  const latencies = receivedAt.map((r, s) => r - sentAt[s]!).sort((a, b) => a - b);
  return {
    name,
    throughput: messages / ((last - firstSend) / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuUsPerMessage: (cpu.user + cpu.system) / messages,
  };
}

async function createTopic(admin: Admin, topic: string): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
  });
}

/** The headers a bus message carries (same names, same sizes), for the raw run that isolates their cost. */
function envelopeLikeHeaders(m: BenchCommand): IHeaders {
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
export async function rawKafka(target: KafkaTarget, withHeaders = false): Promise<KafkaResult> {
  const { admin, messages } = target;
  const topic = `mwbench.${randomUUID().slice(0, 8)}.raw`;
  await createTopic(admin, topic);
  const kafka = new Kafka({ clientId: 'bench-raw', brokers: target.brokers, logLevel: logLevel.ERROR });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({ groupId: `bench-raw-${randomUUID()}` });
  const sentAt = new Array<number>(messages);
  const receivedAt = new Array<number>(messages).fill(0);
  let received = 0;
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: CONCURRENCY,
    eachMessage: async ({ message }) => {
      if (withHeaders) for (const value of Object.values(message.headers ?? {})) value?.toString();
      const data = JSON.parse(message.value!.toString('utf8')) as { generation: number };
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
    messages,
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
  await until(() => received === messages, 120_000, 'raw consumer');
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

/** The EventBus: zod validation + signing on publish; verification, validation, tracing, commit on consume. */
export async function busKafka(
  target: KafkaTarget,
  wireLayout: WireLayout = WireLayout.V1,
  scheme: SigningScheme = SigningScheme.Ed25519,
): Promise<KafkaResult> {
  const { admin, messages } = target;
  const run = randomUUID().slice(0, 8);
  const topicNames = {
    commands: `mwbench.${run}.commands`,
    events: `mwbench.${run}.events`,
    dlq: `mwbench.${run}.dlq`,
  };
  await createTopic(admin, topicNames.commands);
  const bus = createKafkaBus({
    source: 'planner',
    signing: signingOf(scheme),
    brokers: target.brokers,
    topicNames,
    partitions: { commands: PARTITIONS, events: 1, dlq: 1 },
    replicationFactor: 1,
    concurrency: CONCURRENCY,
    wireLayout,
  });
  const sentAt = new Array<number>(messages);
  const receivedAt = new Array<number>(messages).fill(0);
  let received = 0;
  await bus.subscribe({
    topic: 'commands',
    groupId: `bench-bus-${run}`,
    fromBeginning: true,
    handler: async (m) => {
      // Only ClusterDesiredState commands are published to this run's topic.
      const seq = (m.data as BenchCommand['data']).generation - 1;
      if (receivedAt[seq] === 0) {
        receivedAt[seq] = performance.now();
        received++;
      }
    },
  });
  const firstSend = performance.now();
  const cpuAtStart = process.cpuUsage();
  await produce(messages, (seqs) => bus.publish(seqs.map(newCommand)), sentAt);
  await until(() => received === messages, 120_000, 'bus consumer');
  const result = summarize(`EventBus (${scheme}, ${wireLayout} layout)`, sentAt, receivedAt, firstSend, cpuAtStart);
  await bus.close();
  return result;
}

/** CPU µs per message of each step the bus adds, measured alone over the same messages. */
export function costBreakdown(): [string, number][] {
  const n = 20_000;
  const signer = new MessageSigner(SIGNING);
  const messages = Array.from({ length: n }, (_, i) => newCommand(i));
  const schema = MessageSchemas[MessageType.ClusterDesiredState];
  const time = (fn: (i: number) => unknown): number => {
    for (let i = 0; i < 2_000; i++) fn(i % n); // warm-up
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) fn(i);
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / n;
  };
  const records = messages.map((m) =>
    encodeEnvelope(m, { source: 'planner', nowMs: Date.now(), defaultTtlSeconds: 3600, signer, trace: {} }),
  );
  const v3Context = {
    source: 'planner',
    nowMs: Date.now(),
    defaultTtlSeconds: 3600,
    signer,
    trace: {},
    wireLayout: WireLayout.V3,
  };
  const v3Records = messages.map((m) => encodeEnvelope(m, v3Context));
  const ed25519 = new MessageSigner(ED25519_SIGNING);
  const ed25519Context = { source: 'planner', nowMs: Date.now(), defaultTtlSeconds: 3600, signer: ed25519, trace: {} };
  const ed25519Records = messages.map((m) => encodeEnvelope(m, ed25519Context));
  const ed25519Inspect = inspectContext(ed25519);
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
  const inspect = inspectContext(signer);
  return [
    ['raw: JSON.stringify + JSON.parse of the data', time((i) => JSON.parse(JSON.stringify(messages[i]!.data)))],
    ['publish: zod validation of the data', time((i) => schema.parse(messages[i]!.data))],
    ['publish: HMAC-SHA256 sign', time((i) => signer.sign(attributes, records[i]!.value))],
    [
      'publish: whole envelope (validate, JSON, headers, sign)',
      time((i) =>
        encodeEnvelope(messages[i]!, { source: 'planner', nowMs: 0, defaultTtlSeconds: 3600, signer, trace: {} }),
      ),
    ],
    [
      'consume: HMAC-SHA256 verify',
      time((i) => signer.verify('bench', records[i]!.headers.mw_signature!, attributes, records[i]!.value)),
    ],
    [
      'consume: whole inspection (headers schema, verify, expiry, JSON, data schema)',
      time((i) => inspectRecord(records[i]!, position, inspect)),
    ],
    [
      'publish: whole envelope, v3 structured (validate, JSON event, sign)',
      time((i) => encodeEnvelope(messages[i]!, { ...v3Context, nowMs: 0 })),
    ],
    [
      'consume: whole inspection, v3 structured (verify, JSON event, checks, data schema)',
      time((i) => inspectRecord(v3Records[i]!, position, inspect)),
    ],
    ['publish: Ed25519 sign', time((i) => ed25519.sign(attributes, records[i]!.value))],
    [
      'consume: Ed25519 verify',
      time((i) =>
        ed25519.verify(
          ED25519_SIGNING.activeKeyId,
          ed25519Records[i]!.headers.mw_signature!,
          attributes,
          records[i]!.value,
        ),
      ),
    ],
    [
      'publish: whole envelope, Ed25519 (validate, JSON, headers, sign)',
      time((i) => encodeEnvelope(messages[i]!, { ...ed25519Context, nowMs: 0 })),
    ],
    [
      'consume: whole inspection, Ed25519 (headers schema, verify, expiry, JSON, data schema)',
      time((i) => inspectRecord(ed25519Records[i]!, position, ed25519Inspect)),
    ],
  ];
}

/** What a consumer checks a record with: `signer`'s keys, now, no audience filter. */
const inspectContext = (signer: MessageSigner) => ({
  signer,
  nowMs: Date.now(),
  clockSkewMs: 30_000,
  audiences: undefined,
});
