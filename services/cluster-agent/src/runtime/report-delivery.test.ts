import { afterEach, describe, expect, it } from 'vitest';
import { createInMemoryBroker, createInMemoryBus, type EventBus, type IncomingMessage } from '@meshwave/bus';
import { MessageType, UnitState, clusterKey } from '@meshwave/contracts';
import { createManualClock, type ManualClock } from '@meshwave/reconcile';
import { IstioLabel } from '@meshwave/istio';
import { createSimulatedCluster, type SimulatedClusterConfig } from '../adapters/simulated-cluster.js';
import type { AgentIntervals } from '../config/agent-intervals.js';
import { createClusterAgent, type ClusterAgent } from './cluster-agent.js';
import { commandFor, newDesiredState } from '../../../../test/support/cluster-commands.js';
import { isProgress, progressUnits } from '../../../../test/support/report-messages.js';

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
const OLD = '1-24-5';
const NEW = '1-25-2';
const HOUR = 3_600_000;

interface World {
  readonly clock: ManualClock;
  readonly agent: ClusterAgent;
  /** the unit progress messages the planner received (whole or deltas), in order */
  readonly progress: () => IncomingMessage[];
  /** makes the agent's publishes of a unit-progress report whose units are all in `state` fail, `times` times */
  dropProgressIn(state: UnitState, times: number): void;
  /** the planner asks for a whole report, as it does on a gap (ADR 0048) */
  ask(report: 'progress' | 'health'): Promise<void>;
  /** advances the manual clock in 500 ms steps (bounded, no wall time) until `check` holds */
  until(what: string, check: () => boolean, maxMs?: number): Promise<void>;
}

const closes: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closes.splice(0)) await close();
});

async function newWorld(intervals: Partial<AgentIntervals>, config: SimulatedClusterConfig = {}): Promise<World> {
  const clock = createManualClock();
  const now = (): number => clock.now();
  const sim = createSimulatedCluster({ name: 'c1', clock, podStartMs: 2000, revisions: [OLD, NEW], ...config });
  sim.createNamespace('team-0', { [IstioLabel.Revision]: OLD });
  sim.createWorkload({ namespace: 'team-0', name: 'app-0', replicas: 1 });
  const broker = createInMemoryBroker();
  const planner = createInMemoryBus({ source: 'planner', signing: SIGNING, broker, now });
  const inner = createInMemoryBus({ source: clusterKey('c1'), signing: SIGNING, broker, now });
  const drops = new Map<UnitState, number>();
  const agentBus: EventBus = Object.assign(Object.create(inner) as EventBus, {
    publish: async (messages: Parameters<EventBus['publish']>[0]) => {
      for (const m of messages) {
        if (!isProgress(m)) continue;
        const units = progressUnits(m);
        const state = units[0]?.state;
        const left = state === undefined ? 0 : (drops.get(state) ?? 0);
        if (left > 0 && units.every((u) => u.state === state)) {
          drops.set(state as UnitState, left - 1);
          throw new Error('broker unreachable');
        }
      }
      await inner.publish(messages);
    },
  });
  const events: IncomingMessage[] = [];
  await planner.subscribe({
    topic: 'events',
    groupId: 'test',
    fromBeginning: true,
    handler: async (m) => void events.push(m),
  });
  const agent = createClusterAgent({ cluster: 'c1', kubernetes: sim, bus: agentBus, clock, intervals });
  closes.push(async () => {
    await agent.stop();
    sim.close();
    await Promise.all([planner.close(), inner.close()]);
  });
  await agent.start();
  await planner.publish([
    commandFor(newDesiredState({ from: OLD, to: NEW, units: [{ namespace: 'team-0', revision: NEW }] })),
  ]);
  return {
    clock,
    agent,
    progress: () => events.filter(isProgress),
    dropProgressIn: (state, times) => drops.set(state, times),
    ask: (report) =>
      planner.publish([
        {
          topic: 'commands',
          key: clusterKey('c1'),
          audience: clusterKey('c1'),
          type: MessageType.InventoryResync,
          data: { cluster: 'c1', reason: 'a gap', report },
        },
      ]),
    async until(what, check, maxMs = 600_000) {
      for (let t = 0; t <= maxMs; t += 500) {
        if (check()) return;
        await clock.advance(500);
        await new Promise((r) => setTimeout(r, 1));
      }
      throw new Error(`never happened: ${what}`);
    },
  };
}

const unitIs = (agent: ClusterAgent, state: UnitState): boolean => agent.units().some((u) => u.state === state);
const reported = (w: World, state: UnitState): boolean =>
  w.progress().some((m) => progressUnits(m).some((u) => u.state === state));

/** lets the in-memory bus deliver what was published, without moving the agent's clock */
async function settle(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
}

describe('cluster agent reports are level-triggered', () => {
  it('Given the converged report fails to publish once, When nothing changes afterwards, Then the planner still learns the unit converged', async () => {
    // resync and inventory far away: only the report's own retry (or resend) can bring it
    const w = await newWorld({ resyncMs: HOUR, inventoryDebounceMs: 100, progressDebounceMs: 50, healthMs: HOUR });
    w.dropProgressIn(UnitState.Converged, 1);
    await w.until('the unit converges', () => unitIs(w.agent, UnitState.Converged));
    await w.until('the planner hears it converged', () => reported(w, UnitState.Converged), 120_000);
  });

  it('Given a delivered report the planner could not take, When reportResendMs passes with no change, Then the whole progress is sent again', async () => {
    const w = await newWorld({ resyncMs: HOUR, progressDebounceMs: 50, healthMs: HOUR, reportResendMs: 30_000 });
    await w.until('the planner hears it converged', () => reported(w, UnitState.Converged));
    const before = w.progress().length;
    await w.clock.advance(30_000);
    await settle(() => w.progress().length > before);
    expect(w.progress().length).toBeGreaterThan(before);
    expect(w.progress().at(-1)?.type).toBe(MessageType.UnitProgress);
    expect(w.progress().at(-1)?.data).toMatchObject({
      rolloutId: 'r1',
      units: [{ namespace: 'team-0', state: 'converged' }],
    });
  });
});

describe('cluster agent progress as deltas (ADR 0048)', () => {
  it('sends its first progress whole, then deltas each on the report before it; whole again after a failed send and when the planner asks', async () => {
    const w = await newWorld({ resyncMs: HOUR, progressDebounceMs: 50, healthMs: HOUR, reportResendMs: HOUR });
    w.dropProgressIn(UnitState.Converged, 1);
    await w.until('the planner hears it converged', () => reported(w, UnitState.Converged));
    const chain = w.progress().map((m) => ({ type: m.type, ...(m.data as { seq: number; base?: number }) }));
    expect(chain[0]?.type).toBe(MessageType.UnitProgress);
    const deltas = chain.filter((m) => m.type === MessageType.UnitProgressDelta);
    expect(deltas.length).toBeGreaterThan(0);
    // each delta follows the report the bus took just before it
    for (const d of deltas) expect(d.base).toBe(chain[chain.indexOf(d) - 1]?.seq);
    // the converged report failed once: the one that brought it is whole
    const converged = w.progress().find((m) => progressUnits(m).some((u) => u.state === UnitState.Converged));
    expect(converged?.type).toBe(MessageType.UnitProgress);

    const before = w.progress().length;
    await w.ask('progress');
    await w.until('a report after the ask', () => w.progress().length > before);
    expect(w.progress().at(-1)?.type).toBe(MessageType.UnitProgress);
  });
});

describe('cluster agent failures skip the debounce', () => {
  it('Given an hour-long progress debounce, When a unit fails, Then its failure is published at once', async () => {
    const w = await newWorld(
      { resyncMs: HOUR, progressDebounceMs: HOUR, healthMs: HOUR, reportResendMs: HOUR },
      { faults: { crashLoop: [{ namespace: 'team-0', revision: NEW }] } },
    );
    await w.until('the unit fails', () => unitIs(w.agent, UnitState.Failed), 300_000);
    // no more clock: the failure must be on its way already
    await settle(() => reported(w, UnitState.Failed));
    expect(reported(w, UnitState.Failed)).toBe(true);
  });
});
