import { afterEach, describe, expect, it } from 'vitest';
import { createInMemoryBroker, createInMemoryBus, type IncomingMessage } from '@meshwave/bus';
import { UnitState, clusterKey, type UnitProgress } from '@meshwave/contracts';
import { IstioLabel, MeshwaveAnnotation } from '@meshwave/istio';
import { SourceCondition } from './loop-condition.js';
import { createInMemoryStore } from '@meshwave/store';
import { createSimulatedCluster, type SimulatedCluster } from '../adapters/simulated-cluster.js';
import type { KubernetesPort } from '../ports/kubernetes-port.js';
import { createClusterAgent, type ClusterAgent } from './cluster-agent.js';
import { commandFor, newDesiredState } from '../../../../test/support/cluster-commands.js';
import { healthOf, isHealth, progressUnits } from '../../../../test/support/report-messages.js';

/**
 * The issue's "done when": a busy event loop, blocked for longer than the progress deadline while the pods
 * become ready on the apiserver, fails no unit. Real time here (a starved loop is a real-time matter): the
 * simulated cluster and the agent run on the system clock, and the agent's watch events arrive behind a backlog
 * (WATCH_BACKLOG_MS late, as 10,000 workloads' events queue up behind a starved loop), so when the loop comes
 * back the agent's own timers fire on a cache that has not caught up yet.
 */

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
const OLD = '1-24-5';
const NEW = '1-25-2';
const DEADLINE_SECONDS = 1;
const WATCH_BACKLOG_MS = 100;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Blocks the event loop, as 10,000 workloads' worth of work did. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

async function within(what: string, check: () => boolean | Promise<boolean>, maxMs = 20_000): Promise<void> {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`never happened: ${what}`);
}

interface Given {
  readonly sim: SimulatedCluster;
  readonly agent: ClusterAgent;
  readonly events: IncomingMessage[];
  send(): Promise<void>;
}

async function givenAnAgent(options: { readonly eventLoopDelayThresholdMs?: number } = {}): Promise<Given> {
  const sim = createSimulatedCluster({
    name: 'c1',
    podStartMs: 200,
    revisions: [OLD, NEW],
    namespaces: [{ name: 'shop', labels: { [IstioLabel.Revision]: OLD }, workloads: [{ name: 'cart' }] }],
  });
  // Watch events reach the agent behind the backlog a starved loop leaves, after the timers due when it comes back.
  // A read answers after the simulated cluster's own due timers have run: a real apiserver is another process,
  // whose pods became ready while this loop was blocked (failures go out at once, no debounce hides a stale read).
  const afterDueTimers = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
  const port: KubernetesPort = {
    ...sim,
    watch: (r, h) => sim.watch(r, (e) => void setTimeout(() => h(e), WATCH_BACKLOG_MS)),
    listPods: async (ns) => {
      await afterDueTimers();
      return sim.listPods(ns);
    },
    listWorkloads: async (ns) => {
      await afterDueTimers();
      return sim.listWorkloads(ns);
    },
  };
  const broker = createInMemoryBroker();
  const planner = createInMemoryBus({ source: 'planner', signing: SIGNING, broker });
  const agentBus = createInMemoryBus({ source: clusterKey('c1'), signing: SIGNING, broker });
  const events: IncomingMessage[] = [];
  await planner.subscribe({
    topic: 'events',
    groupId: 'observer',
    fromBeginning: true,
    handler: async (m) => void events.push(m),
  });
  const agent = createClusterAgent({
    cluster: 'c1',
    kubernetes: port,
    bus: agentBus,
    store: createInMemoryStore(),
    intervals: { resyncMs: 30_000, inventoryDebounceMs: 100, progressDebounceMs: 20 },
    ...options,
  });
  closers.push(async () => {
    await agent.stop();
    sim.close();
    await Promise.all([planner.close(), agentBus.close()]);
  });
  await agent.start();
  const command = newDesiredState({
    from: OLD,
    to: NEW,
    progressDeadlineSeconds: DEADLINE_SECONDS,
    units: [{ namespace: 'shop', revision: NEW }],
  });
  const send = (): Promise<void> => planner.publish([commandFor(command)]);
  return { sim, agent, events, send };
}

const restartedOnApiserver = async (sim: SimulatedCluster): Promise<boolean> =>
  (await sim.getWorkload({ namespace: 'shop', kind: 'Deployment', name: 'cart' }))?.templateAnnotations[
    MeshwaveAnnotation.RestartedFor
  ] === NEW;

const failedReports = (events: readonly IncomingMessage[]): UnitProgress['units'] =>
  events.flatMap(progressUnits).filter((u) => u.state === UnitState.Failed);

const healthConditions = (events: readonly IncomingMessage[]): (string | undefined)[] =>
  events.filter(isHealth).map((e) => (healthOf(e)?.degraded ? SourceCondition.Degraded : SourceCondition.Ok));

const lastReportedState = (events: readonly IncomingMessage[]): string | undefined =>
  events.flatMap(progressUnits).at(-1)?.state;

async function whenTheLoopIsBlockedPastTheDeadline(g: Given): Promise<void> {
  await g.send();
  await within('the restart is on the apiserver', () => restartedOnApiserver(g.sim));
  // Block from the check phase, so the timers due meanwhile run before the watch events relayed as I/O.
  await new Promise<void>((resolve) =>
    setImmediate(() => {
      busyWait(DEADLINE_SECONDS * 1000 + 800);
      resolve();
    }),
  );
}

describe('a starved event loop', () => {
  it('Given a loop blocked past the progress deadline while the pods become ready, then no unit fails', async () => {
    const g = await givenAnAgent();
    await whenTheLoopIsBlockedPastTheDeadline(g);
    await within('the planner hears the unit converged', () => lastReportedState(g.events) === UnitState.Converged);
    expect(g.agent.units().map((u) => u.state)).toEqual([UnitState.Converged]);
    expect(failedReports(g.events)).toEqual([]);
  });

  it('Given a loop blocked past its threshold, then the agent reports itself Degraded, and Ok once it keeps up', async () => {
    const g = await givenAnAgent();
    await whenTheLoopIsBlockedPastTheDeadline(g);
    await within('a Degraded health report', () => healthConditions(g.events).includes(SourceCondition.Degraded));
    await within('an Ok health report after it', () => healthConditions(g.events).at(-1) === SourceCondition.Ok);
    const degraded = g.events.map(healthOf).find((r) => r?.degraded !== undefined);
    expect(degraded?.degraded?.reason).toBe('event-loop-lag');
    expect(degraded?.degraded?.lagMs).toBeGreaterThan(DEADLINE_SECONDS * 1000);
  });

  it('Given the lag gate off, then the apiserver read before a deadline failure still keeps the unit alive', async () => {
    // A threshold no stall reaches: only the confirmation by a fresh read stands between the stale cache and
    // a false failure.
    const g = await givenAnAgent({ eventLoopDelayThresholdMs: 3_600_000 });
    await whenTheLoopIsBlockedPastTheDeadline(g);
    await within('the planner hears the unit converged', () => lastReportedState(g.events) === UnitState.Converged);
    expect(failedReports(g.events)).toEqual([]);
  });
});
