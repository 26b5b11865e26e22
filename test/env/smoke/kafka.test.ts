// Given the real Kafka broker of the test environment, kafkajs 2.2.4 produces and consumes through it.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTestEnv, suppressKafkaJsTimeoutNegativeWarning } from '../../support/env.ts';

suppressKafkaJsTimeoutNegativeWarning();

describe('kafka (KRaft, from Maven Central jars)', () => {
  const env = loadTestEnv();
  const kafka = new Kafka({ clientId: 'meshwave-smoke', brokers: [...env.kafka.brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: `smoke-${randomUUID()}` });

  afterAll(async () => {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
  });

  it('produces and consumes keyed messages with headers through a consumer group', async () => {
    const topic = `smoke.${randomUUID()}`;
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });

    await producer.connect();
    const sent = Array.from({ length: 10 }, (_, i) => ({
      key: `cluster/c${i % 3}`,
      value: JSON.stringify({ n: i }),
      headers: { ce_id: `id-${i}` },
    }));
    await producer.send({ topic, messages: sent });

    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; n: number; ceId: string; partition: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received.length} of 10 messages consumed`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          received.push({
            key: message.key?.toString() ?? '',
            n: (JSON.parse(message.value?.toString() ?? '{}') as { n: number }).n,
            ceId: message.headers?.['ce_id']?.toString() ?? '',
            partition,
          });
          if (received.length === sent.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });

    expect(received.map((m) => m.n).sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(received.every((m) => m.ceId === `id-${m.n}`)).toBe(true);
    // one key always lands on one partition
    for (const key of new Set(received.map((m) => m.key))) {
      expect(new Set(received.filter((m) => m.key === key).map((m) => m.partition)).size).toBe(1);
    }
  });
});
