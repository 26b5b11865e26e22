import { afterEach, describe, expect, it, vi } from 'vitest';
import { createInMemoryBroker, createInMemoryBus, type EventBus, type IncomingMessage } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import {
  MessageType,
  UnitFailureReason,
  UnitState,
  clusterKey,
  type ClusterDesiredState,
  type UnitProgress,
} from '@meshwave/contracts';
import type { StateStore } from '@meshwave/store';
import { createClusterAgent, type ClusterAgent } from './cluster-agent.js';
import { ClusterCache } from './cluster-cache.js';
import { commandFor, newDesiredState } from '../../../../test/support/cluster-commands.js';
import { createManualClock, type ManualClock } from '@meshwave/reconcile';
import {
  createSimulatedCluster,
  type SimulatedCluster,
  type SimulatedClusterConfig,
} from '../adapters/simulated-cluster.js';
import { IstioLabel, MeshwaveAnnotation, injectedRevisionOf } from '@meshwave/istio';
import { healthOf, heldProgress } from '../../../../test/support/report-messages.js';

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
const OLD = '1-24-5';
const NEW = '1-25-2';

interface Harness {
  readonly clock: ManualClock;
  readonly sim: SimulatedCluster;
  readonly planner: EventBus;
  readonly store: StateStore;
  readonly events: IncomingMessage[];
  agent: ClusterAgent;
  startAgent(): Promise<ClusterAgent>;
  send(cmd: Partial<ClusterDesiredState> & Pick<ClusterDesiredState, 'units'>): Promise<void>;
  sendRaw(type: MessageType, data: unknown, audience?: string): Promise<void>;
  until(what: string, check: () => boolean, maxMs?: number): Promise<void>;
  /** the most restarts in flight seen at any moment so far, counted from pods of new templates not yet Ready */
  readonly maxConcurrentRestarts: () => number;
  close(): Promise<void>;
}

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

async function newHarness(config: SimulatedClusterConfig = {}): Promise<Harness> {
  const clock = createManualClock();
  const now = (): number => clock.now();
  const sim = createSimulatedCluster({ name: 'c1', clock, podStartMs: 2000, revisions: [OLD, NEW], ...config });
  const broker = createInMemoryBroker();
  const planner = createInMemoryBus({ source: 'planner', signing: SIGNING, broker, now });
  const agentBus = createInMemoryBus({ source: clusterKey('c1'), signing: SIGNING, broker, now });
  const store = createInMemoryStore();
  const events: IncomingMessage[] = [];
  await planner.subscribe({
    topic: 'events',
    groupId: 'test',
    fromBeginning: true,
    handler: async (m) => void events.push(m),
  });
  let generation = 0;
  // Watch the restarting workloads the way the issue asks: observed, not assumed.
  let maxRestarting = 0;
  const restarting = new Set<string>();
  sim.watch('workloads', (e) => {
    const objects = e.type === 'resync' ? e.objects : [e.object];
    for (const w of objects) {
      const key = `${w.namespace}/${w.name}`;
      if (w.updatedReplicas < w.replicas || w.availableReplicas < w.replicas) restarting.add(key);
      else restarting.delete(key);
    }
    maxRestarting = Math.max(maxRestarting, restarting.size);
  });
  const h: Harness = {
    clock,
    sim,
    planner,
    store,
    events,
    agent: undefined as unknown as ClusterAgent,
    async startAgent() {
      h.agent = createClusterAgent({
        cluster: 'c1',
        kubernetes: sim,
        bus: agentBus,
        store,
        clock,
        intervals: { resyncMs: 30_000, inventoryDebounceMs: 100, progressDebounceMs: 50 },
      });
      await h.agent.start();
      return h.agent;
    },
    async send(partial) {
      generation += 1;
      await planner.publish([commandFor(newDesiredState({ generation, from: OLD, to: NEW, ...partial }), 'c1')]);
    },
    async sendRaw(type, data, audience = clusterKey('c1')) {
      await planner.publish([{ topic: 'commands', key: clusterKey('c1'), type, data: data as never, audience }]);
    },
    async until(what, check, maxMs = 600_000) {
      for (let t = 0; t <= maxMs; t += 500) {
        if (check()) return;
        await clock.advance(500);
        await new Promise((r) => setTimeout(r, 1));
      }
      throw new Error(`never happened: ${what}`);
    },
    maxConcurrentRestarts: () => maxRestarting,
    async close() {
      await h.agent?.stop();
      sim.close();
      await Promise.all([planner.close(), agentBus.close()]);
    },
  };
  harnesses.push(h);
  return h;
}

const unitsIn = (h: Harness, state: UnitState): string[] =>
  h.agent
    .units()
    .filter((u) => u.state === state)
    .map((u) => u.key);
const podsOnRevision = async (sim: SimulatedCluster, ns: string, rev: string): Promise<boolean> => {
  const pods = await sim.listPods(ns);
  return pods.length > 0 && pods.every((p) => p.ready && injectedRevisionOf(p.annotations) === rev);
};
const lastProgress = (h: Harness): UnitProgress | undefined => heldProgress(h.events);

function seedNamespaces(sim: SimulatedCluster, count: number, workloads = 2): string[] {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const ns = `team-${i}`;
    sim.createNamespace(ns, { [IstioLabel.Revision]: OLD });
    for (let j = 0; j < workloads; j++) sim.createWorkload({ namespace: ns, name: `app-${j}`, replicas: 2 });
    names.push(ns);
  }
  return names;
}

describe('cluster agent on the simulated cluster', () => {
  it('does not assess converged units again at its periodic resync when nothing of them changed', async () => {
    // Given an agent whose units all converged
    const h = await newHarness();
    const namespaces = seedNamespaces(h.sim, 4);
    await h.startAgent();
    await h.send({ maxUnavailable: 2, units: namespaces.map((namespace) => ({ namespace, revision: NEW })) });
    await h.until('all units converge', () => unitsIn(h, UnitState.Converged).length === 4);
    // (a look scheduled while a unit was still restarting comes once, at most a resync interval later)
    await h.clock.advance(31_000);
    await h.agent.idle();
    const reads = vi.spyOn(ClusterCache.prototype, 'contents');
    try {
      // When several resync intervals (30 s) pass with no change in the cluster
      for (let i = 0; i < 8; i++) {
        await h.clock.advance(10_000);
        await h.agent.idle();
      }
      // Then no unit was read from the cache to be assessed again, and all stay converged
      expect(reads).not.toHaveBeenCalled();
      expect(unitsIn(h, UnitState.Converged)).toHaveLength(4);
      // and a change to one of them still wakes it: its verdict follows the cluster
      await h.sim.patchWorkload(
        { namespace: namespaces[0]!, kind: 'Deployment', name: 'app-0' },
        { templateAnnotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } },
      );
      await h.clock.advance(100);
      await h.agent.idle();
      expect(reads).toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
  });

  it('moves namespaces to the new revision, never restarting more than maxUnavailable at once', async () => {
    const h = await newHarness();
    const namespaces = seedNamespaces(h.sim, 5);
    await h.startAgent();
    await h.send({ maxUnavailable: 2, units: namespaces.map((namespace) => ({ namespace, revision: NEW })) });
    await h.until('all units converge', () => unitsIn(h, UnitState.Converged).length === 5);
    await h.clock.advance(20_000);
    const health = h.events.flatMap((e) => healthOf(e) ?? []);
    expect(health.length).toBeGreaterThan(0);
    // old pods of units still restarting are expected to lag: no mismatch is reported on a healthy move
    expect(health.some((r) => r.units.some((u) => u.sidecarMismatch || u.crashLooping))).toBe(false);
    for (const ns of namespaces) expect(await podsOnRevision(h.sim, ns, NEW)).toBe(true);
    const labels = (await h.sim.listNamespaces())
      .filter((n) => namespaces.includes(n.name))
      .map((n) => n.labels[IstioLabel.Revision]);
    expect(labels).toEqual(namespaces.map(() => NEW));
    expect(h.maxConcurrentRestarts()).toBeGreaterThan(0);
    // two namespaces of two workloads each: at most 4 workloads rolling at once
    expect(h.maxConcurrentRestarts()).toBeLessThanOrEqual(4);
    await h.until(
      'progress reports all converged',
      () => lastProgress(h)?.units.every((u) => u.state === UnitState.Converged) === true,
    );
    expect(h.events.some((e) => e.type === MessageType.Inventory)).toBe(true);
    expect(h.events.some((e) => e.type === MessageType.Heartbeat)).toBe(true);
  });

  it('moves single workloads by their template label and leaves the rest of the namespace alone', async () => {
    const h = await newHarness();
    h.sim.createNamespace('shop');
    h.sim.createWorkload({ namespace: 'shop', name: 'cart', templateLabels: { [IstioLabel.Revision]: OLD } });
    h.sim.createWorkload({ namespace: 'shop', name: 'pay', templateLabels: { [IstioLabel.Revision]: OLD } });
    await h.startAgent();
    await h.send({
      granularity: 'workload',
      units: [{ namespace: 'shop', kind: 'Deployment', name: 'cart', revision: NEW }],
    });
    await h.until('cart converges', () => unitsIn(h, UnitState.Converged).length === 1);
    const cart = await h.sim.getWorkload({ namespace: 'shop', kind: 'Deployment', name: 'cart' });
    const pay = await h.sim.getWorkload({ namespace: 'shop', kind: 'Deployment', name: 'pay' });
    expect(cart?.templateLabels[IstioLabel.Revision]).toBe(NEW);
    expect(cart?.labels[IstioLabel.Revision]).toBe(NEW);
    expect(pay?.templateLabels[IstioLabel.Revision]).toBe(OLD);
    expect(pay?.generation).toBe(1);
  });

  it('in a namespace labelled with the old revision, hands the label over to the templates and then moves only the assigned workload', async () => {
    const h = await newHarness();
    h.sim.createNamespace('shop', { [IstioLabel.Revision]: OLD });
    h.sim.createWorkload({ namespace: 'shop', name: 'cart' });
    h.sim.createWorkload({ namespace: 'shop', name: 'pay' });
    h.sim.createNamespace('other', { [IstioLabel.Revision]: OLD });
    h.sim.createWorkload({ namespace: 'other', name: 'db' });
    await h.startAgent();
    await h.send({
      granularity: 'workload',
      units: [{ namespace: 'shop', kind: 'Deployment', name: 'cart', revision: NEW }],
    });
    await h.until('cart converges', () => unitsIn(h, UnitState.Converged).length === 1);
    const shop = (await h.sim.listNamespaces()).find((n) => n.name === 'shop');
    expect(shop?.labels[IstioLabel.Revision]).toBeUndefined();
    const cart = await h.sim.getWorkload({ namespace: 'shop', kind: 'Deployment', name: 'cart' });
    const pay = await h.sim.getWorkload({ namespace: 'shop', kind: 'Deployment', name: 'pay' });
    expect(cart?.templateLabels[IstioLabel.Revision]).toBe(NEW);
    expect(pay?.templateLabels[IstioLabel.Revision]).toBe(OLD);
    expect(pay?.templateAnnotations[MeshwaveAnnotation.HandoffOf]).toBe(OLD);
    // the handoff restarted pay once, on the revision it already ran; cart once for it and once to move
    expect(pay?.generation).toBe(2);
    expect(cart?.generation).toBe(3);
    const revisions = (await h.sim.listPods('shop')).map((p) => [p.labels.app, injectedRevisionOf(p.annotations)]);
    expect(revisions.filter(([app]) => app === 'cart').map(([, r]) => r)).toEqual([NEW]);
    expect(revisions.filter(([app]) => app === 'pay').map(([, r]) => r)).toEqual([OLD]);
    // another namespace is not touched
    const db = await h.sim.getWorkload({ namespace: 'other', kind: 'Deployment', name: 'db' });
    expect(db?.generation).toBe(1);
    expect((await h.sim.listNamespaces()).find((n) => n.name === 'other')?.labels[IstioLabel.Revision]).toBe(OLD);
  });

  it('a halt starts nothing new and reports what is in flight; the next desired state resumes', async () => {
    const h = await newHarness();
    const namespaces = seedNamespaces(h.sim, 4, 1);
    await h.startAgent();
    await h.send({ maxUnavailable: 1, units: namespaces.map((namespace) => ({ namespace, revision: NEW })) });
    await h.until('one unit restarting', () => unitsIn(h, UnitState.Restarting).length === 1);
    await h.sendRaw(MessageType.Halt, {
      rolloutId: 'r1',
      wave: 0,
      generation: 2,
      epoch: 1,
      target: clusterKey('c1'),
      reason: 'gate failed',
    });
    await h.until('halted progress reported', () => lastProgress(h)?.halted === true);
    await h.clock.advance(120_000);
    expect(unitsIn(h, UnitState.Converged).length).toBe(1);
    expect(unitsIn(h, UnitState.Pending).length).toBe(3);
    await h.send({
      generation: 3,
      maxUnavailable: 1,
      units: namespaces.map((namespace) => ({ namespace, revision: NEW })),
    });
    await h.until('all converge after resume', () => unitsIn(h, UnitState.Converged).length === 4);
  });

  it('fails back over the same path: the old revision is restored and pods carry the old sidecar', async () => {
    const h = await newHarness();
    const [ns] = seedNamespaces(h.sim, 1);
    await h.startAgent();
    await h.send({ units: [{ namespace: ns!, revision: NEW }] });
    await h.until('moved', () => unitsIn(h, UnitState.Converged).length === 1);
    await h.send({ units: [{ namespace: ns!, revision: OLD }] });
    await h.until(
      'moved back',
      () => h.agent.units()[0]?.state === UnitState.Converged && h.agent.units()[0]?.assignment.target.revision === OLD,
    );
    expect(await podsOnRevision(h.sim, ns!, OLD)).toBe(true);
    const w = await h.sim.getWorkload({ namespace: ns!, kind: 'Deployment', name: 'app-0' });
    expect(w?.templateAnnotations[MeshwaveAnnotation.RestartedFor]).toBe(OLD);
  });

  it('reports a crash loop on the new revision as failed with its reason, and starts the next unit', async () => {
    const h = await newHarness({ faults: { crashLoop: [{ namespace: 'team-0', revision: NEW }] } });
    const namespaces = seedNamespaces(h.sim, 2, 1);
    await h.startAgent();
    await h.send({ units: namespaces.map((namespace) => ({ namespace, revision: NEW })) });
    await h.until(
      'team-0 fails, team-1 converges',
      () => unitsIn(h, UnitState.Failed).length === 1 && unitsIn(h, UnitState.Converged).length === 1,
    );
    const failed = h.agent.units().find((u) => u.state === UnitState.Failed);
    expect(failed?.key).toBe('team-0');
    expect(failed?.reason).toBe(UnitFailureReason.CrashLoop);
  });

  it('reports a wrong sidecar version as SidecarMismatch', async () => {
    const h = await newHarness({
      faults: { sidecarMismatch: [{ namespace: 'team-0', revision: NEW, version: '1.24.5' }] },
    });
    const namespaces = seedNamespaces(h.sim, 1, 1);
    await h.startAgent();
    await h.send({ units: namespaces.map((namespace) => ({ namespace, revision: NEW })) });
    await h.until('team-0 fails', () => unitsIn(h, UnitState.Failed).length === 1);
    expect(h.agent.units()[0]?.reason).toBe(UnitFailureReason.SidecarMismatch);
    await h.until('health reports the mismatch', () =>
      h.events.some((e) => healthOf(e)?.units.some((u) => u.sidecarMismatch) === true),
    );
  });

  it('reports a slow rollout past its deadline as ProgressDeadlineExceeded', async () => {
    const h = await newHarness({ faults: { slowRollout: [{ namespace: 'team-0', factor: 100 }] } });
    const namespaces = seedNamespaces(h.sim, 1, 1);
    await h.startAgent();
    await h.send({ progressDeadlineSeconds: 60, units: namespaces.map((namespace) => ({ namespace, revision: NEW })) });
    await h.until('team-0 fails', () => unitsIn(h, UnitState.Failed).length === 1);
    expect(h.agent.units()[0]?.reason).toBe(UnitFailureReason.ProgressDeadlineExceeded);
  });

  it('refuses stale generations, stale epochs and other clusters’ commands, and reports them', async () => {
    const h = await newHarness();
    const [ns] = seedNamespaces(h.sim, 1);
    await h.startAgent();
    await h.send({ generation: 5, epoch: 3, units: [{ namespace: ns!, revision: NEW }] });
    await h.until('converged', () => unitsIn(h, UnitState.Converged).length === 1);
    await h.send({ generation: 4, epoch: 3, units: [{ namespace: ns!, revision: OLD }] });
    await h.send({ generation: 9, epoch: 2, units: [{ namespace: ns!, revision: OLD }] });
    await h.send({ generation: 9, epoch: 3, cluster: 'c2', units: [{ namespace: ns!, revision: OLD }] });
    const rejected = (): string[] =>
      h.events.filter((e) => e.type === MessageType.CommandRejected).map((e) => (e.data as { reason: string }).reason);
    await h.until('three refusals reported', () => rejected().length >= 3);
    expect(rejected().sort()).toEqual(['foreign-cluster', 'stale-epoch', 'stale-generation']);
    await h.clock.advance(60_000);
    expect(h.agent.units()[0]?.assignment.target.revision).toBe(NEW);
    expect(await podsOnRevision(h.sim, ns!, NEW)).toBe(true);
  });

  it('an agent killed mid-wave resumes from its store and the world without restarting anything twice', async () => {
    const h = await newHarness();
    const namespaces = seedNamespaces(h.sim, 3, 1);
    await h.startAgent();
    await h.send({ maxUnavailable: 2, units: namespaces.map((namespace) => ({ namespace, revision: NEW })) });
    await h.until('two restarting', () => unitsIn(h, UnitState.Restarting).length === 2);
    const generationsBefore = await Promise.all(
      namespaces.map(
        async (ns) => (await h.sim.getWorkload({ namespace: ns, kind: 'Deployment', name: 'app-0' }))?.generation,
      ),
    );
    await h.agent.stop();
    await h.startAgent();
    await h.until('all converge', () => unitsIn(h, UnitState.Converged).length === 3);
    const generationsAfter = await Promise.all(
      namespaces.map(
        async (ns) => (await h.sim.getWorkload({ namespace: ns, kind: 'Deployment', name: 'app-0' }))?.generation,
      ),
    );
    // the two started before the kill were restarted once (generation 2); the third once, after the restart
    expect(generationsBefore.filter((g) => g === 2).length).toBe(2);
    expect(generationsAfter).toEqual([2, 2, 2]);
  });

  it('a command arriving while a unit is being started keeps its slot: maxUnavailable holds across re-assessment', async () => {
    const h = await newHarness();
    const namespaces = seedNamespaces(h.sim, 3, 1);
    // Hold every workload patch until released, so the command below lands mid-start.
    const held: (() => void)[] = [];
    const patchWorkload = h.sim.patchWorkload.bind(h.sim);
    h.sim.patchWorkload = (ref, patch, opts) =>
      new Promise((resolve, reject) => held.push(() => void patchWorkload(ref, patch, opts).then(resolve, reject)));
    await h.startAgent();
    await h.send({ maxUnavailable: 1, units: namespaces.map((namespace) => ({ namespace, revision: NEW })) });
    await h.until('a restart patch is in flight', () => held.length === 1);
    await h.send({ maxUnavailable: 1, units: namespaces.map((namespace) => ({ namespace, revision: NEW })) });
    await h.until('the second command is applied', () => h.agent.units().every((u) => u.assignment.generation === 2));
    await h.clock.advance(5_000);
    expect(held).toHaveLength(1);
    expect(unitsIn(h, UnitState.Restarting)).toHaveLength(1);
    h.sim.patchWorkload = patchWorkload;
    held.shift()?.();
    await h.until('all converge', () => unitsIn(h, UnitState.Converged).length === 3);
  });

  it('reports bare pods and leaves them in place', async () => {
    const h = await newHarness();
    const [ns] = seedNamespaces(h.sim, 1, 1);
    h.sim.createBarePod(ns!, 'debug', { app: 'debug' });
    await h.startAgent();
    await h.send({ units: [{ namespace: ns!, revision: NEW }] });
    await h.until('converged', () => unitsIn(h, UnitState.Converged).length === 1);
    expect(h.agent.units()[0]?.message).toMatch(/1 bare pod/);
    expect(
      (await h.sim.listPods(ns!)).some((p) => p.name === 'debug' && injectedRevisionOf(p.annotations) === OLD),
    ).toBe(true);
  });
});
