import {
  HandlerRejectedError,
  createInMemoryBroker,
  createInMemoryBus,
  isRetryableHandlerError,
  isTerminalHandlerError,
  type DeadLetter,
  type EventBus,
} from '@meshwave/bus';
import { MessageType, Topic, type UnitProgress } from '@meshwave/contracts';
import { StoreError, StoreErrorCode, createInMemoryStore, type StateStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner } from './planner.js';
import { RolloutDoc } from './store-layout.js';
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

// Agents re-send their whole progress every MESHWAVE_REPORT_RESEND_MS (level-triggered). The planner stores only
// what changed, and a re-send still repairs a report the store lost (ADR 0032).
const REPORT = RolloutDoc.clusterReport('c1');

interface World {
  readonly id: string;
  readonly epoch: number;
  readonly send: (p: UnitProgress) => Promise<void>;
}

const progress = (id: string, cluster: string, state: 'pending' | 'converged'): UnitProgress => ({
  cluster,
  rolloutId: id,
  generation: 3,
  halted: false,
  units: [
    { namespace: 'team-0', kind: 'Deployment', name: 'svc-0', state, revision: '1-25-2', injectedRevision: null },
  ],
});

/** A leading planner on `store` driving a rollout it created, and an agent's bus to report on. */
async function newWorld(store: StateStore): Promise<World> {
  const broker = createInMemoryBroker();
  const busFor = (source: string): EventBus => createInMemoryBus({ broker, source, signing });
  const planner = createPlanner({
    bus: busFor('planner'),
    store,
    config: { instanceId: 'p1', leaseRenewMs: 50, leaseTtlMs: 500, timerTickMs: 20 },
  });
  const agent = busFor('cluster-agent/c1');
  stops.push(
    () => planner.stop(),
    () => agent.close(),
  );
  await planner.start();
  await until('the planner leads', async () => (await planner.readiness()).leader);
  const inventory = { clusters: [{ name: 'c1', labels: {}, workloads: newFleetWorkloads(4) }], vmGroups: [] };
  const { id } = await planner.createRollout({ spec: newRolloutYaml({ waves: [100] }), inventory }, 'alice');
  return {
    id,
    epoch: planner.epoch(),
    send: (p) =>
      agent.publish([{ topic: Topic.Events, key: `cluster/${p.cluster}`, type: MessageType.UnitProgress, data: p }]),
  };
}

describe('re-sent reports', () => {
  it('Given a stored report, When the agent re-sends it unchanged, Then it is not written again; a changed one is', async () => {
    const store = createInMemoryStore();
    const { id, send } = await newWorld(store);
    await send(progress(id, 'c1', 'pending'));
    await until('the report is stored', async () => (await store.readVersion(id, REPORT)) === 1);

    // When the same report comes again (the periodic re-send), then another cluster's report (to know it was taken)
    await send(progress(id, 'c1', 'pending'));
    await send(progress(id, 'c2', 'pending'));
    await until('the second cluster is stored', async () => (await store.readVersion(id, 'report/cluster/c2')) === 1);
    expect(await store.readVersion(id, REPORT)).toBe(1);

    // And a report that says something new is stored
    await send(progress(id, 'c1', 'converged'));
    await until('the changed report is stored', async () => (await store.readVersion(id, REPORT)) === 2);
    expect((await store.read(id, REPORT))?.value).toMatchObject({ units: [{ state: 'converged' }] });
  });

  it('Given a stored report the store then lost, When the agent re-sends it unchanged, Then it is stored again', async () => {
    const store = createInMemoryStore();
    const { id, epoch, send } = await newWorld(store);
    await send(progress(id, 'c1', 'pending'));
    await until('the report is stored', async () => (await store.readVersion(id, REPORT)) === 1);
    // the store loses the write (a failover that dropped it); the planner is not told
    await store.transition({ scope: id, epoch, writes: [{ name: REPORT, value: null }] });

    await send(progress(id, 'c1', 'pending'));

    await until('the re-sent report is stored', async () => (await store.read(id, REPORT)) !== undefined);
    expect((await store.read(id, REPORT))?.value).toEqual(progress(id, 'c1', 'pending'));
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
