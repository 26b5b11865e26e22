// Poisoned records for a fleet's topics, written straight to Kafka as an attacker or a broken client would:
// malformed, unsigned, forged (a wrong secret under the fleet's key id), signed with an unknown key, expired,
// and a real command replayed onto another cluster's key. Each is something a consumer must refuse to the DLQ
// with its reason, and keep going.
import { Kafka, logLevel } from 'kafkajs';
import {
  Header,
  MessageSigner,
  encodeEnvelope,
  sealRecord,
  type OutgoingMessage,
  type WireRecord,
} from '@meshwave/bus';
import { DeadLetterReason, MessageType, Topic, clusterKey, vmGroupKey } from '@meshwave/contracts';
import type { Fleet } from './fleet-processes.ts';

/** A record as it travels, for a topic of the fleet. */
export interface RawRecord {
  readonly topic: string;
  readonly record: WireRecord;
}

export interface PoisonRecord extends RawRecord {
  /** what the consumer must say in the DLQ */
  readonly reason: DeadLetterReason;
  readonly what: string;
}

const HOUR_MS = 3_600_000;

function variants(fleet: Fleet, message: OutgoingMessage, topic: string): PoisonRecord[] {
  const signer = new MessageSigner(fleet.signing);
  const encode = (nowMs: number): WireRecord =>
    encodeEnvelope({ ...message }, { source: 'drill-poisoner', nowMs, defaultTtlSeconds: 3600, signer, trace: {} });
  const fresh = (): WireRecord => encode(Date.now());
  const unsigned = (): WireRecord => {
    const r = fresh();
    const headers = { ...r.headers };
    delete headers[Header.Signature];
    delete headers[Header.KeyId];
    return { ...r, headers };
  };
  const wrongSecret = new MessageSigner({
    keys: [{ id: fleet.signing.activeKeyId, secret: 'not-the-fleet-secret-0123456789abcdef' }],
    activeKeyId: fleet.signing.activeKeyId,
  });
  const rogue = new MessageSigner({
    keys: [{ id: 'rogue', secret: 'a-rogue-key-0123456789abcdef012345' }],
    activeKeyId: 'rogue',
  });
  const on = (what: string, reason: DeadLetterReason, record: WireRecord): PoisonRecord => ({
    topic,
    record,
    reason,
    what,
  });
  return [
    on('malformed', DeadLetterReason.InvalidData, sealRecord({ ...fresh(), value: Buffer.from('{"not json') }, signer)),
    on('unsigned', DeadLetterReason.Unsigned, unsigned()),
    on('forged', DeadLetterReason.BadSignature, sealRecord(fresh(), wrongSecret)),
    on('unknown key', DeadLetterReason.UnknownKey, sealRecord(fresh(), rogue)),
    on('expired', DeadLetterReason.Expired, encode(Date.now() - 2 * HOUR_MS)),
  ];
}

/** Poison for the agent of `cluster`, the bridge's group and the planner's events, plus one replay. */
export function newPoison(fleet: Fleet): PoisonRecord[] {
  const [first, second] = fleet.clusters;
  if (!first || !second) throw new Error('the poison drill needs two clusters');
  const header = { rolloutId: `poison-${fleet.id}`, wave: 0, generation: 1, epoch: 1, halted: true, maxUnavailable: 1 };
  const toCluster: OutgoingMessage = {
    topic: Topic.Commands,
    key: clusterKey(first.name),
    audience: clusterKey(first.name),
    type: MessageType.ClusterDesiredState,
    data: {
      ...header,
      cluster: first.name,
      from: '1-24-5',
      to: '1-25-2',
      granularity: 'workload',
      progressDeadlineSeconds: 60,
      units: [],
    },
  };
  const toGroup: OutgoingMessage = {
    topic: Topic.Commands,
    key: vmGroupKey(fleet.vmGroup),
    audience: vmGroupKey(fleet.vmGroup),
    type: MessageType.VmGroupDesiredState,
    data: { ...header, group: fleet.vmGroup, from: '1-24-5', to: '1-25-2', hosts: [] },
  };
  // a cluster no agent runs: if the planner ever took it, it would only add an empty cluster
  const toPlanner: OutgoingMessage = {
    topic: Topic.Events,
    key: clusterKey(`poison-${fleet.id}`),
    type: MessageType.Inventory,
    data: { cluster: `poison-${fleet.id}`, labels: {}, generation: 1, workloads: [] },
  };
  const signer = new MessageSigner(fleet.signing);
  const genuine = encodeEnvelope(toCluster, {
    source: 'planner',
    nowMs: Date.now(),
    defaultTtlSeconds: 3600,
    signer,
    trace: {},
  });
  return [
    ...variants(fleet, toCluster, fleet.topics.commands),
    ...variants(fleet, toGroup, fleet.topics.commands),
    ...variants(fleet, toPlanner, fleet.topics.events),
    // a genuine, signed command for the first cluster, replayed under the second cluster's key
    {
      topic: fleet.topics.commands,
      record: { ...genuine, key: clusterKey(second.name) },
      reason: DeadLetterReason.WrongAudience,
      what: 'replayed',
    },
  ];
}

/** Writes the records to Kafka as they are (no envelope, no signature of ours). */
export async function publishRaw(fleet: Fleet, records: readonly RawRecord[]): Promise<void> {
  const kafka = new Kafka({
    clientId: 'drill-poisoner',
    brokers: [...fleet.env.kafka.brokers],
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (const p of records)
      await producer.send({
        topic: p.topic,
        messages: [{ key: p.record.key, value: p.record.value, headers: { ...p.record.headers } }],
      });
  } finally {
    await producer.disconnect();
  }
}

/** Every record on the fleet's commands topic with Kafka key `key`, as written (headers and signature intact). */
export async function recordedCommands(fleet: Fleet, key: string): Promise<RawRecord[]> {
  const kafka = new Kafka({
    clientId: 'drill-replayer',
    brokers: [...fleet.env.kafka.brokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(fleet.topics.commands);
  await admin.disconnect();
  const pending = new Map(ends.filter((e) => e.high !== e.low).map((e) => [e.partition, BigInt(e.high)]));
  const out: RawRecord[] = [];
  const consumer = kafka.consumer({ groupId: `drill-replayer-${fleet.id}-${Date.now()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: fleet.topics.commands, fromBeginning: true });
    await new Promise<void>((resolve) => {
      if (pending.size === 0) resolve();
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (message.key?.toString() === key) {
            const headers = Object.fromEntries(
              Object.entries(message.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString() : String(v)]),
            );
            const record = { key, value: message.value ?? Buffer.alloc(0), headers };
            out.push({ topic: fleet.topics.commands, record });
          }
          if (BigInt(message.offset) + 1n >= (pending.get(partition) ?? 0n)) pending.delete(partition);
          if (pending.size === 0) resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
