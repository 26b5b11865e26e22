import { startTelemetry } from '@meshwave/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType } from '@meshwave/contracts';
import {
  CONTRACT_SIGNING,
  ContractSigningMode,
  describeEventBusContract,
  newHeartbeat,
} from './contract/event-bus-contract.js';
import type { IncomingMessage } from './event-bus.js';
import { topicNameOf } from './bus-options.js';
import { createInMemoryBroker, createInMemoryBus } from './in-memory-bus.js';
import { WireLayout } from './wire-layout.js';

// A started SDK registers the context manager that carries the active span into handlers, as in a service.
startTelemetry({ serviceName: 'bus-contract', env: {} });

// Both signing schemes: HMAC (the embedded demo's) and Ed25519 (every process on Kafka's, ADR 0038, 0046).
for (const signing of Object.values(ContractSigningMode))
  describeEventBusContract(
    `in-memory, ${signing}`,
    async () => {
      const broker = createInMemoryBroker({ partitions: 3 });
      return {
        createBus: async (options) => createInMemoryBus({ ...options, broker }),
        produceRaw: async (topic, record) => void broker.append(topicNameOf({}, topic), record),
        close: async () => {},
      };
    },
    { describe, it, expect, afterEach },
    { waitMs: 5_000, signing },
  );

// The same contract with the v2 and v3 wire layouts (ADR 0021, 0026): forged and malformed records are still refused.
for (const wireLayout of [WireLayout.V2, WireLayout.V3])
  describeEventBusContract(
    `in-memory, ${wireLayout} wire layout`,
    async () => {
      const broker = createInMemoryBroker({ partitions: 3 });
      return {
        createBus: async (options) => createInMemoryBus({ ...options, wireLayout, broker }),
        produceRaw: async (topic, record) => void broker.append(topicNameOf({}, topic), record),
        close: async () => {},
      };
    },
    { describe, it, expect, afterEach },
    { waitMs: 5_000 },
  );

describe('in-memory EventBus', () => {
  it('never runs one key twice at once while members join and leave, and commits what finished during a rebalance', async () => {
    const broker = createInMemoryBroker({ partitions: 2 });
    const bus = createInMemoryBus({ broker, source: 'agent', signing: CONTRACT_SIGNING });
    const running = new Set<string>();
    const handled: string[] = [];
    let overlaps = 0;
    const handler = async (m: IncomingMessage): Promise<void> => {
      if (running.has(m.key)) overlaps++;
      running.add(m.key);
      await new Promise((r) => setTimeout(r, 5));
      running.delete(m.key);
      handled.push(`${m.key}:${(m.data as { version: string }).version}`);
    };
    const first = await bus.subscribe({ topic: 'events', groupId: 'g', fromBeginning: true, handler });
    const published = ['a', 'b', 'c'].flatMap((key) =>
      Array.from({ length: 10 }, (_, i) => newHeartbeat(key, String(i))),
    );
    await bus.publish(published);
    await new Promise((r) => setTimeout(r, 12));
    const second = await bus.subscribe({ topic: 'events', groupId: 'g', fromBeginning: true, handler });
    await new Promise((r) => setTimeout(r, 12));
    await first.close();
    for (let i = 0; i < 400 && handled.length < published.length; i++) await new Promise((r) => setTimeout(r, 5));
    await second.close();
    expect(overlaps).toBe(0);
    expect([...handled].sort()).toEqual(published.map((m) => `${m.key}:${m.data.version}`).sort());
  });

  it('a fleet mid-upgrade: one consumer gets the messages of v1, v2 and v3 producers, and no dead letter (ADR 0021, 0026)', async () => {
    const broker = createInMemoryBroker({ partitions: 2 });
    const producers = Object.values(WireLayout).map((wireLayout) =>
      createInMemoryBus({ broker, source: `agent-${wireLayout}`, signing: CONTRACT_SIGNING, wireLayout }),
    );
    const consumer = createInMemoryBus({ broker, source: 'planner', signing: CONTRACT_SIGNING });
    const handled: string[] = [];
    const rejected: string[] = [];
    const subscription = await consumer.subscribe({
      topic: 'events',
      groupId: 'planner',
      fromBeginning: true,
      handler: async (m) => void handled.push(m.source),
      onRejected: (r) => void rejected.push(r.reason),
    });
    for (const [i, producer] of producers.entries()) await producer.publish([newHeartbeat(`a-${i}`, '1')]);
    for (let i = 0; i < 400 && handled.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    await subscription.close();
    await Promise.all([...producers, consumer].map((bus) => bus.close()));
    expect(handled.sort()).toEqual(['agent-v1', 'agent-v2', 'agent-v3']);
    expect(rejected).toEqual([]);
  });
});

describe('in-memory delivery and the event loop', () => {
  it('Given a backlog of records and an in-memory handler, When a group consumes it, Then timers run meanwhile', async () => {
    // Kafka's consumer waits on the network between fetches; records in memory are there at once, and a loop of
    // resolved promises never lets a timer run (a lease renewal, a batch deadline, an HTTP answer): issue 15
    const broker = createInMemoryBroker({ partitions: 1 });
    const bus = createInMemoryBus({ broker, source: 'agent', signing: CONTRACT_SIGNING });
    const backlog = 500;
    await bus.publish(Array.from({ length: backlog }, (_, i) => newHeartbeat('a', String(i))));
    let handled = 0;
    // Given: a timer due at once, set before the group starts consuming
    let handledWhenTimerRan: number | undefined;
    setTimeout(() => (handledWhenTimerRan = handled), 0);
    // When
    const subscription = await bus.subscribe({
      topic: 'events',
      groupId: 'planner',
      fromBeginning: true,
      // each record costs a millisecond of work: the backlog holds the loop for half a second in all
      handler: async () => {
        const until = performance.now() + 1;
        while (performance.now() < until);
        handled++;
      },
    });
    for (let i = 0; i < 400 && handled < backlog; i++) await new Promise((r) => setTimeout(r, 5));
    await subscription.close();
    await bus.close();
    // Then: every record was handled, and the timer did not wait for the whole backlog
    expect(handled).toBe(backlog);
    expect(handledWhenTimerRan).toBeLessThan(backlog);
  });
});

describe('in-memory retention', () => {
  it('Given partitions retaining 3 records, When 10 are published on one key, Then only the newest 3 stay', async () => {
    const broker = createInMemoryBroker({ partitions: 1, retainRecords: 3 });
    const bus = createInMemoryBus({ broker, source: 'agent', signing: CONTRACT_SIGNING });
    await bus.publish(Array.from({ length: 10 }, (_, i) => newHeartbeat('a', String(i))));
    const partition = broker.topic(topicNameOf({}, 'events')).partitions[0];
    expect([partition?.start, partition?.end]).toEqual([7, 10]);
    await bus.close();
  });

  it('Given a group that fell behind while it had no member, When it subscribes again, Then retention kept every record it had not committed', async () => {
    const broker = createInMemoryBroker({ partitions: 1, retainRecords: 3 });
    const bus = createInMemoryBus({ broker, source: 'agent', signing: CONTRACT_SIGNING });
    const handled: string[] = [];
    const handler = async (m: IncomingMessage): Promise<void> => {
      if (m.type === MessageType.Heartbeat) handled.push(m.data.version);
    };
    // Given: the group exists at offset 0, then falls behind while it has no member
    await (await bus.subscribe({ topic: 'events', groupId: 'g', fromBeginning: true, handler })).close();
    await bus.publish(Array.from({ length: 10 }, (_, i) => newHeartbeat('a', String(i))));
    const partition = broker.topic(topicNameOf({}, 'events')).partitions[0];
    expect(partition?.start).toBe(0);
    // When
    const again = await bus.subscribe({ topic: 'events', groupId: 'g', fromBeginning: true, handler });
    for (let i = 0; i < 400 && handled.length < 10; i++) await new Promise((r) => setTimeout(r, 5));
    await again.close();
    // Then: at-least-once holds (nothing it had not handled was trimmed), and once it has committed, the next
    // append trims the partition back to its window
    expect(handled).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    await bus.publish([newHeartbeat('a', '10')]);
    expect([partition?.start, partition?.end]).toEqual([8, 11]);
    await bus.close();
  });
});
