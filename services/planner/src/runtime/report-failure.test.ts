import {
  HandlerRejectedError,
  createInMemoryBroker,
  createInMemoryBus,
  isRetryableHandlerError,
  isTerminalHandlerError,
  type DeadLetter,
  type EventBus,
} from '@meshwave/bus';
import { MessageType, Topic } from '@meshwave/contracts';
import { StoreError, StoreErrorCode, createInMemoryStore, type StateStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { createPlanner } from './planner.js';
import { reportFailure } from './report-failure.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never saw: ${what}`);
}

/** A store whose document reads fail like a Redis that is down, `failures` times, then work again. */
function newFlakyStore(failures: number): { store: StateStore; failed: () => number } {
  const inner = createInMemoryStore();
  let failed = 0;
  const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
    read: async (scope: string, name: string) => {
      if (failed < failures) {
        failed++;
        throw new Error('Connection is closed.');
      }
      return inner.read(scope, name);
    },
  });
  return { store, failed: () => failed };
}

describe('a report the planner cannot take now is not lost', () => {
  it('Given the store down for more tries than the bus retries, When an agent reports, Then the report is taken once the store is back and nothing reaches the DLQ', async () => {
    const broker = createInMemoryBroker();
    // Given a bus that dead-letters an unmarked failure after 5 tries, and a store failing 8 reads in a row
    const busFor = (source: string): EventBus =>
      createInMemoryBus({ broker, source, signing, retry: { maxAttempts: 5, initialBackoffMs: 5, maxBackoffMs: 20 } });
    const { store, failed } = newFlakyStore(8);
    const planner = createPlanner({
      bus: busFor('planner'),
      store,
      config: { instanceId: 'p1', leaseRenewMs: 50, leaseTtlMs: 500, timerTickMs: 20 },
    });
    const agents = busFor('cluster-agent/c1');
    stops.push(
      () => planner.stop(),
      () => agents.close(),
    );
    const letters: DeadLetter[] = [];
    await agents.subscribeDeadLetters({
      groupId: 'dlq',
      fromBeginning: true,
      handler: async (d) => void letters.push(d),
    });
    await planner.start();
    await until('the planner leads', async () => (await planner.readiness()).leader);

    // When the agent reports its inventory once, and nothing changes afterwards
    await agents.publish([
      {
        topic: Topic.Events,
        key: 'cluster/c1',
        type: MessageType.Inventory,
        data: { cluster: 'c1', labels: {}, generation: 7, workloads: [] },
      },
    ]);

    // Then the planner knows the cluster once the store answers again, and the report was never dead-lettered
    await until('the cluster is in the inventory', async () => (await planner.cluster('c1')).name === 'c1');
    expect(failed()).toBe(8);
    expect(letters).toEqual([]);
  });
});

describe('reportFailure', () => {
  it('marks store outages transient, refused requests final, and leaves programming errors to the retry limit', () => {
    expect(isRetryableHandlerError(reportFailure(new Error('Connection is closed.')))).toBe(true);
    expect(
      isRetryableHandlerError(
        reportFailure(new PlannerError(PlannerErrorCode.NotLeader, 'not leader', { retryable: true })),
      ),
    ).toBe(true);
    expect(isTerminalHandlerError(reportFailure(new StoreError(StoreErrorCode.InvalidRequest, 'empty scope')))).toBe(
      true,
    );
    expect(
      isTerminalHandlerError(reportFailure(new PlannerError(PlannerErrorCode.StoredDocumentInvalid, 'bad doc'))),
    ).toBe(true);
    const bug = new TypeError('x is undefined');
    expect(reportFailure(bug)).toBe(bug);
  });

  it("keeps the intake's own refusal of a report final (a replayed health report goes to the DLQ, not into retries)", () => {
    const refused = new HandlerRejectedError('health report of c1 replayed');
    expect(reportFailure(refused)).toBe(refused);
    expect(isTerminalHandlerError(reportFailure(refused))).toBe(true);
  });
});
