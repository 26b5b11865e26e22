import { describe, expect, it } from 'vitest';
import { MessageType, type ClusterDesiredState } from '@meshwave/contracts';
import { isRetryableHandlerError, type IncomingMessage, type OutgoingMessage } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { silentLogger } from '@meshwave/telemetry';
import { newDesiredState } from '../core/command-fixtures.js';
import { AgentMetrics } from '../metrics/agent-metrics.js';
import { createCommandIntake, type CommandIntake } from './command-intake.js';

const newDesired = (over: Partial<ClusterDesiredState> = {}): ClusterDesiredState =>
  newDesiredState({ generation: 5, ...over });

const message = (data: ClusterDesiredState): IncomingMessage => ({
  id: `g${data.generation}e${data.epoch}`,
  type: MessageType.ClusterDesiredState,
  source: 'planner',
  time: '2026-01-01T00:00:00Z',
  key: 'cluster:c1',
  data,
  partition: 0,
  offset: '0',
});

function newIntake(store: ReturnType<typeof createInMemoryStore>): {
  intake: CommandIntake;
  accepted: string[];
  published: OutgoingMessage[];
} {
  const accepted: string[] = [];
  const published: OutgoingMessage[] = [];
  const intake = createCommandIntake({
    cluster: 'c1',
    source: 'cluster:c1',
    store,
    epoch: 1,
    log: silentLogger(),
    metrics: new AgentMetrics('c1'),
    publisher: {
      publish: (messages) => {
        published.push(...messages);
        return Promise.resolve(true);
      },
      event: (type, data) => ({ topic: 'events', key: 'cluster:c1', type, data }) as OutgoingMessage,
    },
    onAccepted: (id) => accepted.push(id ?? ''),
  });
  return { intake, accepted, published };
}

describe('command intake', () => {
  it("Given an applied generation, When a new leader re-sends it, Then nothing is applied again, the new epoch is kept across a restart, and the deposed leader's commands are refused", async () => {
    const store = createInMemoryStore();
    const first = newIntake(store);
    await first.intake.handleCommand(message(newDesired({ epoch: 1 })));
    await first.intake.handleCommand(message(newDesired({ epoch: 2 })));
    expect(first.accepted).toEqual(['r1']);
    expect(first.published).toEqual([]);

    const restarted = newIntake(store);
    await restarted.intake.load();
    expect(restarted.intake.ledger().epoch).toBe(2);
    await restarted.intake.handleCommand(message(newDesired({ epoch: 1, generation: 6 })));
    expect(restarted.accepted).toEqual([]);
    expect(restarted.published.map((m) => (m.data as { reason: string }).reason)).toEqual(['stale-epoch']);
  });

  it('Given a ledger written to the store, When the store loses its data, Then the next command is accepted and the ledger written again', async () => {
    const store = createInMemoryStore();
    const { intake, accepted } = newIntake(store);
    await intake.handleCommand(message(newDesired({ generation: 5, epoch: 3 })));
    await intake.handleCommand(message(newDesired({ generation: 6, epoch: 3 })));
    // the loss of the store's data, for this document: gone, its version back to 0
    await store.transition({ scope: 'cluster-agent/c1', epoch: 1, writes: [{ name: 'ledger', value: null }] });
    await intake.handleCommand(message(newDesired({ generation: 7, epoch: 4 })));
    expect(accepted).toEqual(['r1', 'r1', 'r1']);
    const restarted = newIntake(store);
    await restarted.intake.load();
    expect(restarted.intake.ledger()).toMatchObject({ epoch: 4, rollouts: { r1: { desired: { generation: 7 } } } });
  });

  it('Given a store that cannot be reached, When a command comes, Then the intake asks for a retry (never the dead-letter topic) and nothing is applied', async () => {
    const store = createInMemoryStore();
    const down = {
      ...store,
      transition: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
    } as typeof store;
    const { intake, accepted } = newIntake(down);
    const error = await intake.handleCommand(message(newDesired({ generation: 5, epoch: 3 }))).catch((e: unknown) => e);
    expect(isRetryableHandlerError(error)).toBe(true);
    expect(accepted).toEqual([]);
  });
});
