import type { IncomingMessage, OutgoingMessage } from '@meshwave/bus';
import { MessageType, type UnitProgress, type UnitProgressEntry } from '@meshwave/contracts';
import { createInMemoryStore, type StateStore, type VersionedDoc } from '@meshwave/store';
import { silentLogger } from '@meshwave/telemetry';
import { describe, expect, it } from 'vitest';
import { AgentReports, type ReconcilePort } from './agent-reports.js';
import { InventoryResyncs } from './inventory-resync.js';
import type { PlannerContext } from './planner-context.js';
import { RolloutDoc } from './store-layout.js';

const NOW = Date.parse('2026-12-06T10:00:00Z');
const ROLLOUT = 'r1-20261206-ab12';

const unit = (name: string, state: UnitProgressEntry['state'] = 'pending'): UnitProgressEntry => ({
  namespace: 'shop',
  kind: 'Deployment',
  name,
  state,
  revision: '1-25-2',
  injectedRevision: null,
});

/** The intake on an in-memory store, with what it asked agents and what it handed the reconcile loop. */
async function newIntake(inner: StateStore = createInMemoryStore(), epoch = 1, drives = true) {
  const lease = { name: 'planner/leader', holder: 'test', epoch };
  let reads = 0;
  const readNames: string[] = [];
  const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
    read: async (scope: string, name: string): Promise<VersionedDoc | undefined> => {
      reads += 1;
      readNames.push(name);
      return inner.read(scope, name);
    },
  });
  await inner.transition({ scope: ROLLOUT, epoch, writes: [{ name: RolloutDoc.Record, value: {} }] });
  const sent: OutgoingMessage[] = [];
  const enqueued: { id: string; urgent: boolean }[] = [];
  const primed: { name: string; value: unknown }[] = [];
  let handler: ((m: IncomingMessage) => Promise<void>) | undefined;
  const context = {
    store,
    logger: silentLogger(),
    clock: { now: () => NOW },
    config: { eventsGroupId: 'planner', heartbeatTimeoutMs: 60_000 },
    heard: new Map(),
    health: new Map(),
    bus: {
      subscribe: async (o: { handler: typeof handler }) => void (handler = o.handler),
      publish: async (messages: OutgoingMessage[]) => void sent.push(...messages),
    },
  } as unknown as PlannerContext;
  const reconciler: ReconcilePort = {
    drives: () => drives,
    driven: () => (drives ? [ROLLOUT] : []),
    enqueue: (id, urgent = false) => void enqueued.push({ id, urgent }),
    noteFailure: () => false,
    rejudgeAll: () => {},
    primeReport: (_scope, name, _version, value) => void primed.push({ name, value }),
  };
  const reports = new AgentReports(context, { current: lease, lost: async () => {} }, reconciler, {
    storeReport: async () => {},
    storeDelta: async () => {},
    storeVmGroup: async () => {},
    storeVmMembership: async () => {},
    heardFrom: async () => {},
    resyncs: new InventoryResyncs(context.bus, () => NOW, silentLogger()),
  });
  await reports.subscribe();
  return {
    take: (type: string, data: object) => handler!({ type, data, source: 'cluster/c1', time: '' } as IncomingMessage),
    stored: async () => (await inner.read(ROLLOUT, RolloutDoc.clusterReport('c1')))?.value as UnitProgress,
    asked: () => sent.filter((m) => m.type === MessageType.InventoryResync).map((m) => m.data),
    reads: () => reads,
    readNames,
    inner,
    enqueued,
    primed,
    context,
  };
}

const whole = (seq: number | undefined, units: UnitProgressEntry[]): object => ({
  cluster: 'c1',
  rolloutId: ROLLOUT,
  generation: 2,
  halted: false,
  units,
  ...(seq === undefined ? {} : { seq }),
});

const delta = (seq: number, base: number, upserted: UnitProgressEntry[], removed: object[] = []): object => ({
  cluster: 'c1',
  rolloutId: ROLLOUT,
  generation: 2,
  halted: false,
  seq,
  base,
  upserted,
  removed,
});

describe('progress deltas at the planner (ADR 0048)', () => {
  it('Given a whole report, When a delta follows it, Then only its units change, with no read, and the reconcile holds the result', async () => {
    const intake = await newIntake();
    await intake.take(MessageType.UnitProgress, whole(100, [unit('a'), unit('b'), unit('c')]));
    const readsBefore = intake.reads();
    await intake.take(MessageType.UnitProgressDelta, delta(101, 100, [unit('b', 'converged')]));

    const stored = await intake.stored();
    expect(stored.units.map((u) => `${u.name}:${u.state}`)).toEqual(['a:pending', 'b:converged', 'c:pending']);
    expect(stored.seq).toBe(101);
    // the delta applied to the report held since it was written: the store was not read for it
    expect(intake.reads()).toBe(readsBefore);
    expect(intake.primed.at(-1)).toEqual({ name: RolloutDoc.clusterReport('c1'), value: stored });
    expect(intake.enqueued.at(-1)).toEqual({ id: ROLLOUT, urgent: false });
  });

  it('Given a rollout this leader no longer drives (it finished), When its agent reports, Then the report is kept and whether the rollout exists is asked of its version, not by fetching its whole plan (issue 15)', async () => {
    const intake = await newIntake(createInMemoryStore(), 1, false);
    await intake.take(MessageType.UnitProgress, whole(100, [unit('a', 'converged')]));

    expect((await intake.stored()).units.map((u) => u.state)).toEqual(['converged']);
    // the old code read the record (the whole plan: 12.7 MB at fleet b) for every report after the end
    expect(intake.readNames).not.toContain(RolloutDoc.Record);
  });

  it('Given a delta naming a failed unit, Then the rollout is reconciled at once', async () => {
    const intake = await newIntake();
    await intake.take(MessageType.UnitProgress, whole(100, [unit('a'), unit('b')]));
    await intake.take(MessageType.UnitProgressDelta, delta(101, 100, [unit('a', 'failed')]));
    expect(intake.enqueued.at(-1)).toEqual({ id: ROLLOUT, urgent: true });
  });

  it('Given a delta that follows a report the planner missed, Then nothing is written and the agent is asked for its whole progress; the whole one restarts the chain', async () => {
    const intake = await newIntake();
    await intake.take(MessageType.UnitProgress, whole(100, [unit('a'), unit('b')]));
    await intake.take(MessageType.UnitProgressDelta, delta(103, 102, [unit('a', 'converged')]));
    expect((await intake.stored()).units.map((u) => u.state)).toEqual(['pending', 'pending']);
    expect(intake.asked()).toEqual([
      { cluster: 'c1', report: 'progress', reason: 'a delta on seq 102 arrived; the planner holds seq 100' },
    ]);
    // a second delta of the same gap does not ask again
    await intake.take(MessageType.UnitProgressDelta, delta(104, 103, [unit('b', 'converged')]));
    expect(intake.asked()).toHaveLength(1);

    await intake.take(MessageType.UnitProgress, whole(105, [unit('a', 'converged'), unit('b', 'restarting')]));
    await intake.take(MessageType.UnitProgressDelta, delta(106, 105, [unit('b', 'converged')]));
    expect((await intake.stored()).units.map((u) => u.state)).toEqual(['converged', 'converged']);
  });

  it('Given a new leader that holds nothing, When a delta comes, Then it applies it on the stored report', async () => {
    const intake = await newIntake();
    await intake.take(MessageType.UnitProgress, whole(100, [unit('a'), unit('b')]));
    // the same store, another process and term: what it holds is only what the store says
    const next = await newIntake(intake.inner, 2);
    await next.take(MessageType.UnitProgressDelta, delta(101, 100, [unit('a', 'converged')]));
    expect((await next.stored()).units.map((u) => u.state)).toEqual(['converged', 'pending']);
    expect(next.asked()).toEqual([]);
  });

  it('Given an agent that sends whole reports without a chain (an older one), Then they are taken, and a delta after one is a gap', async () => {
    const intake = await newIntake();
    await intake.take(MessageType.UnitProgress, whole(undefined, [unit('a', 'converged')]));
    expect((await intake.stored()).units.map((u) => u.state)).toEqual(['converged']);
    await intake.take(MessageType.UnitProgressDelta, delta(101, 100, [unit('a', 'failed')]));
    expect((await intake.stored()).units.map((u) => u.state)).toEqual(['converged']);
    expect(intake.asked()).toHaveLength(1);
  });
});

describe('health deltas at the planner (ADR 0048)', () => {
  const health = (name: string, crashLooping = false) => ({
    namespace: 'shop',
    kind: 'Deployment',
    name,
    unavailableReplicas: 0,
    restarts: crashLooping ? 5 : 0,
    crashLooping,
    sidecarMismatch: false,
  });
  const observedAt = new Date(NOW).toISOString();

  it('Given a whole health report, When a delta follows it, Then the held report changes in the units named; a gap asks for the whole health', async () => {
    const intake = await newIntake();
    await intake.take(MessageType.Health, {
      source: 'c1',
      generation: NOW - 10,
      observedAt,
      units: [health('a'), health('b')],
    });
    await intake.take(MessageType.HealthDelta, {
      source: 'c1',
      generation: NOW - 5,
      base: NOW - 10,
      observedAt,
      upserted: [health('b', true)],
      removed: [],
    });
    const held = intake.context.health.get('c1')?.report;
    expect(held?.units.map((u) => `${u.name}:${u.crashLooping}`)).toEqual(['a:false', 'b:true']);
    // a crash-looping unit it names: the driven rollouts are reconciled at once
    expect(intake.enqueued.at(-1)).toEqual({ id: ROLLOUT, urgent: true });

    await intake.take(MessageType.HealthDelta, {
      source: 'c1',
      generation: NOW - 1,
      base: NOW - 3,
      observedAt,
      upserted: [],
      removed: [],
    });
    expect(intake.context.health.get('c1')?.report.generation).toBe(NOW - 5);
    expect(intake.asked()).toEqual([expect.objectContaining({ cluster: 'c1', report: 'health' })]);
  });
});
