// The baseline of the halt benchmark: a raw kafkajs publish → consume round trip on the same broker, one message
// at a time, with the producer and consumer settings the bus uses (idempotent producer, acks -1; a consumer
// group with eachMessage): what any halt pays at the least to cross Kafka once.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';

/** `trials` round trips in ms, each from the send call to the consumer's handler. */
export async function kafkaRoundTrips(brokers: readonly string[], trials: number): Promise<number[]> {
  const kafka = new Kafka({ clientId: 'halt-bench-raw', brokers: [...brokers], logLevel: logLevel.NOTHING });
  const topic = `halt-bench-raw-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `${topic}.group`, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
  // the handler resolves the trial waiting for its message, at once (no polling)
  const waiting = new Map<string, (at: number) => void>();
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const at = performance.now();
        waiting.get(message.value?.toString() ?? '')?.(at);
      },
    });
    // one message first, not counted: the group's join and the first fetch are not a round trip
    const rounds: number[] = [];
    for (let i = -1; i < trials; i++) {
      const id = `m${i}`;
      let timer: NodeJS.Timeout | undefined;
      const consumed = new Promise<number>((resolve, reject) => {
        waiting.set(id, resolve);
        timer = setTimeout(() => reject(new Error(`raw round trip ${i}: not consumed within 60 s`)), 60_000);
      });
      const sent = performance.now();
      await producer.send({ topic, acks: -1, messages: [{ key: 'halt', value: id }] });
      const at = await consumed.finally(() => clearTimeout(timer));
      waiting.delete(id);
      if (i >= 0) rounds.push(at - sent);
    }
    return rounds;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
