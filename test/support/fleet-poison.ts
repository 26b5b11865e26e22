// Poisoned records for a fleet's topics, written straight to Kafka as an attacker or a broken client would:
// malformed, unsigned, forged (signed by a key pair that is not the trusted one under its key id), signed with an
// unknown key, signed with a cluster-agent's own valid key while posing as the planner or as another cluster
// (ADR 0038), expired, and a real command replayed onto another cluster's key. Each is something a consumer must
// refuse to the DLQ with its reason, and keep going.
import { Kafka, logLevel } from 'kafkajs';
import {
  Header,
  MessageSigner,
  encodeEnvelope,
  generateSigningKeyPair,
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

/** Signs as `who` of the fleet (its own private key), or with any Ed25519 pair under `keyId`. */
const signerOf = (fleet: Fleet, who: string): MessageSigner => new MessageSigner(fleet.signing.signingFor(who));
const strangerSigner = (keyId: string): MessageSigner => {
  const pair = generateSigningKeyPair(keyId, 'planner');
  return new MessageSigner({ privateKeys: [pair.privateKey], activeKeyId: keyId });
};

/**
 * The poison variants of `message`, whose legitimate sender is `sender` (`planner`, or a cluster name) writing
 * as `source`; `impostor` is a member of the fleet whose own valid key must not pass for the sender's: refused as
 * `wrong-signer` by a consumer that trusts the impostor's key (the planner trusts every agent's), as `unknown-key`
 * by one that does not (agents and the bridge trust the planner's keys only; README "Run it for real").
 */
function variants(
  fleet: Fleet,
  message: OutgoingMessage,
  topic: string,
  from: { sender: string; source: string; impostor: string; posingAs: string; impostorRefused: DeadLetterReason },
): PoisonRecord[] {
  const signer = signerOf(fleet, from.sender);
  const encode = (nowMs: number, by = signer, source = from.source): WireRecord =>
    encodeEnvelope({ ...message }, { source, nowMs, defaultTtlSeconds: 3600, signer: by, trace: {} });
  const fresh = (): WireRecord => encode(Date.now());
  const unsigned = (): WireRecord => {
    const r = fresh();
    const headers = { ...r.headers };
    delete headers[Header.Signature];
    delete headers[Header.KeyId];
    return { ...r, headers };
  };
  const on = (what: string, reason: DeadLetterReason, record: WireRecord): PoisonRecord => ({
    topic,
    record,
    reason,
    what,
  });
  return [
    on('malformed', DeadLetterReason.InvalidData, sealRecord({ ...fresh(), value: Buffer.from('{"not json') }, signer)),
    on('unsigned', DeadLetterReason.Unsigned, unsigned()),
    // the sender's key id, another private key: verification with the trusted public key fails
    on('forged', DeadLetterReason.BadSignature, sealRecord(fresh(), strangerSigner(signer.activeKeyId))),
    on('unknown key', DeadLetterReason.UnknownKey, sealRecord(fresh(), strangerSigner('rogue-1'))),
    // a valid, trusted key of another principal, claiming to be the sender: the source says the sender
    on(
      `signed by ${from.impostor} as ${from.posingAs}`,
      from.impostorRefused,
      encode(Date.now(), signerOf(fleet, from.impostor)),
    ),
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
  // the second cluster's inventory, emptied: if the planner ever took one, the rollout would lose its units
  const toPlanner: OutgoingMessage = {
    topic: Topic.Events,
    key: clusterKey(second.name),
    type: MessageType.Inventory,
    data: { cluster: second.name, labels: {}, generation: 1, workloads: [] },
  };
  const asPlanner = {
    sender: 'planner',
    source: 'planner',
    impostor: first.name,
    posingAs: 'the planner',
    impostorRefused: DeadLetterReason.UnknownKey,
  };
  const genuine = encodeEnvelope(toCluster, {
    source: 'planner',
    nowMs: Date.now(),
    defaultTtlSeconds: 3600,
    signer: signerOf(fleet, 'planner'),
    trace: {},
  });
  return [
    ...variants(fleet, toCluster, fleet.topics.commands, asPlanner),
    ...variants(fleet, toGroup, fleet.topics.commands, asPlanner),
    ...variants(fleet, toPlanner, fleet.topics.events, {
      sender: second.name,
      source: clusterKey(second.name),
      impostor: first.name,
      posingAs: 'another cluster',
      impostorRefused: DeadLetterReason.WrongSigner,
    }),
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

/** How long reading the commands topic back may take: a few hundred records on a local broker. */
const READ_TIMEOUT_MS = 60_000;

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
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const left = [...pending.keys()].join(', ');
        reject(new Error(`commands topic not read to its end in ${READ_TIMEOUT_MS} ms (partitions ${left} left)`));
      }, READ_TIMEOUT_MS);
      const finish = (): void => {
        clearTimeout(timer);
        resolve();
      };
      if (pending.size === 0) finish();
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
          if (pending.size === 0) finish();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
