import { randomUUID } from 'node:crypto';
import { CONTRACT_SIGNING, createKafkaBus, type EventBus } from '@meshwave/bus';
import type { ClusterDesiredState } from '@meshwave/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { commandFor, newDesiredState } from '../../support/cluster-commands.js';
import { loadTestEnv } from '../../support/env.js';

const open: EventBus[] = [];
afterEach(async () => {
  for (const bus of open.splice(0)) await bus.close();
});

/** A desired state of `units` workload units: about 80 bytes each on the wire. */
function bigDesiredState(generation: number, units: number): ClusterDesiredState {
  return newDesiredState({
    generation,
    granularity: 'workload',
    units: Array.from({ length: units }, (_, i) => ({
      namespace: `team-${String(i % 40).padStart(3, '0')}`,
      kind: 'Deployment' as const,
      name: `workload-${String(i).padStart(6, '0')}`,
      revision: '1-25-2',
    })),
  });
}

describe('a publish larger than one Kafka record batch may be (ADR 0070)', () => {
  it("Given 8 desired states of 2,500 units (~1.6 MB) for one cluster's partition, When the planner publishes them at once, Then the broker takes them and the agent gets all 8 in order", async () => {
    const run = randomUUID().slice(0, 8);
    const bus = createKafkaBus({
      source: 'planner',
      signing: CONTRACT_SIGNING,
      brokers: loadTestEnv().kafka.brokers,
      topicNames: { commands: `mwtest.${run}.commands`, events: `mwtest.${run}.events`, dlq: `mwtest.${run}.dlq` },
      partitions: { commands: 1, events: 1, dlq: 1 },
      replicationFactor: 1,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 500,
    });
    open.push(bus);
    const received: number[] = [];
    await bus.subscribe({
      topic: 'commands',
      groupId: `agent-${run}`,
      fromBeginning: true,
      audiences: ['cluster/c1'],
      handler: async (m) => void received.push((m.data as ClusterDesiredState).generation),
    });
    const commands = Array.from({ length: 8 }, (_, i) => commandFor(bigDesiredState(i + 1, 2500)));
    expect(JSON.stringify(commands).length).toBeGreaterThan(1_100_000);

    // one publish: on the old code the broker refused the whole batch (larger than its message.max.bytes)
    await bus.publish(commands);

    await expect.poll(() => received.length, { timeout: 60_000, interval: 200 }).toBe(8);
    expect(received).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
