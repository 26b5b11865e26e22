import { randomUUID } from 'node:crypto';
import {
  CONTRACT_SIGNING,
  ContractSigningMode,
  createKafkaBus,
  describeEventBusContract,
  WireLayout,
  newHeartbeat,
  type EventBusContractHarness,
} from '@meshwave/bus';
import { DEFAULT_TOPIC_NAMES, type Topic } from '@meshwave/contracts';
import { startTelemetry } from '@meshwave/telemetry';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadTestEnv } from '../../support/env.js';

// A started SDK registers the context manager that carries the active span into handlers, as in a service.
startTelemetry({ serviceName: 'bus-contract-kafka', env: {} });

const negativeTimeoutWarnings: Error[] = [];
const onWarning = (warning: Error): void => {
  if (warning.name === 'TimeoutNegativeWarning') negativeTimeoutWarnings.push(warning);
};
process.on('warning', onWarning);
afterAll(() => void process.off('warning', onWarning));

function newTopicNames(): Record<Topic, string> {
  const run = randomUUID().slice(0, 8);
  return { commands: `mwtest.${run}.commands`, events: `mwtest.${run}.events`, dlq: `mwtest.${run}.dlq` };
}

async function newKafkaHarness(wireLayout: WireLayout = WireLayout.V1): Promise<EventBusContractHarness> {
  const { brokers } = loadTestEnv().kafka;
  const topicNames = newTopicNames();
  const kafka = new Kafka({ clientId: 'contract-raw', brokers: [...brokers], logLevel: logLevel.NOTHING });
  let producer: Producer | undefined;
  return {
    createBus: async (options) =>
      createKafkaBus({
        ...options,
        brokers,
        topicNames,
        partitions: { commands: 3, events: 3, dlq: 1 },
        replicationFactor: 1,
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 500,
        wireLayout,
      }),
    produceRaw: async (topic, record) => {
      if (producer === undefined) {
        producer = kafka.producer({ allowAutoTopicCreation: false });
        await producer.connect();
      }
      await producer.send({
        topic: topicNames[topic],
        acks: -1,
        messages: [{ key: record.key, value: record.value, headers: { ...record.headers } }],
      });
    },
    close: async () => {
      await producer?.disconnect();
    },
  };
}

// Both signing schemes: on Kafka every process signs with Ed25519 (ADR 0038, 0046); HMAC is the embedded demo's.
for (const signing of Object.values(ContractSigningMode))
  describeEventBusContract(
    `kafka, ${signing}`,
    () => newKafkaHarness(),
    { describe, it, expect, afterEach },
    { waitMs: 60_000, signing },
  );
// ADR 0021, 0026: the same contract with the v2 and v3 layouts through kafkajs (forged and malformed records still
// refused; the forged records are v1, which every consumer reads).
for (const wireLayout of [WireLayout.V2, WireLayout.V3])
  describeEventBusContract(
    `kafka, ${wireLayout} wire layout`,
    () => newKafkaHarness(wireLayout),
    { describe, it, expect, afterEach },
    { waitMs: 60_000 },
  );

describe('Kafka EventBus', () => {
  let admin: ReturnType<Kafka['admin']>;
  beforeAll(async () => {
    admin = new Kafka({
      clientId: 'bus-admin',
      brokers: [...loadTestEnv().kafka.brokers],
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  it('Given topics that do not exist, When a bus first publishes, Then it creates them with the configured partitions', async () => {
    const topicNames = newTopicNames();
    const bus = createKafkaBus({
      source: 'planner',
      signing: CONTRACT_SIGNING,
      brokers: loadTestEnv().kafka.brokers,
      topicNames,
      partitions: { commands: 4, events: 2, dlq: 1 },
      replicationFactor: 1,
    });
    try {
      await bus.publish([newHeartbeat('agent-1', '1')]);
      const { topics } = await admin.fetchTopicMetadata({ topics: Object.values(topicNames) });
      const partitions = Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
      expect(partitions).toEqual({ [topicNames.commands]: 4, [topicNames.events]: 2, [topicNames.dlq]: 1 });
    } finally {
      await bus.close();
    }
  });

  it('Given the default topic names, When nothing is configured, Then the bus uses meshwave.commands, meshwave.events and meshwave.dlq', async () => {
    const bus = createKafkaBus({
      source: 'planner',
      signing: CONTRACT_SIGNING,
      brokers: loadTestEnv().kafka.brokers,
      replicationFactor: 1,
    });
    try {
      await bus.publish([newHeartbeat('agent-1', 'defaults')]);
      const existing = await admin.listTopics();
      expect(existing).toEqual(expect.arrayContaining(Object.values(DEFAULT_TOPIC_NAMES)));
    } finally {
      await bus.close();
    }
  });

  it("Given kafkajs 2.2.4 on Node 24, When clients connect, produce and consume, Then no TimeoutNegativeWarning reaches the process's warning handlers", () => {
    // runs after the contract suite above, which connected dozens of kafkajs clients
    expect(negativeTimeoutWarnings).toEqual([]);
  });
});
