import { afterEach, describe, expect, it } from 'vitest';
import { createInMemoryBroker, createInMemoryBus, type EventBus, type IncomingMessage } from '@meshwave/bus';
import { MESH_LABEL, MessageType, clusterKey, type InventoryReport } from '@meshwave/contracts';
import { createClusterAgent, type ClusterAgent } from './cluster-agent.js';
import { createManualClock, type ManualClock } from '@meshwave/reconcile';
import { createSimulatedCluster, type SimulatedCluster } from '../adapters/simulated-cluster.js';
import { IstioLabel } from '@meshwave/istio';
import type { KubernetesPort } from '../ports/kubernetes-port.js';

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
const OLD = '1-24-5';
const DEBOUNCE_MS = 100;

interface World {
  readonly clock: ManualClock;
  readonly sim: SimulatedCluster;
  readonly agent: ClusterAgent;
  readonly inventories: () => InventoryReport[];
  /** advances the manual clock in debounce steps until `check` holds (a bounded number of steps, no wall time) */
  until(what: string, check: () => boolean): Promise<void>;
  close(): Promise<void>;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
});

/** A simulated cluster with two meshes' namespaces, one unlabelled namespace and the protected ones. */
async function newWorld(istio?: KubernetesPort['readIstioInstallation']): Promise<World> {
  const clock = createManualClock();
  const now = (): number => clock.now();
  const sim = createSimulatedCluster({
    name: 'c1',
    clock,
    revisions: [OLD],
    namespaces: [
      { name: 'pay', labels: { [MESH_LABEL]: 'mesh-a', [IstioLabel.Revision]: OLD }, workloads: [{ name: 'api' }] },
      { name: 'shop', labels: { [MESH_LABEL]: 'mesh-b', team: 'shop' }, workloads: [{ name: 'web' }] },
      { name: 'plain' },
      { name: 'istio-system', labels: { [MESH_LABEL]: 'mesh-a' } },
      { name: 'kube-system' },
    ],
  });
  const broker = createInMemoryBroker();
  const planner: EventBus = createInMemoryBus({ source: 'planner', signing: SIGNING, broker, now });
  const agentBus = createInMemoryBus({ source: clusterKey('c1'), signing: SIGNING, broker, now });
  const events: IncomingMessage[] = [];
  await planner.subscribe({
    topic: 'events',
    groupId: 'test',
    fromBeginning: true,
    types: [MessageType.Inventory],
    handler: async (m) => void events.push(m),
  });
  const agent = createClusterAgent({
    cluster: 'c1',
    kubernetes: istio ? { ...sim, readIstioInstallation: istio } : sim,
    bus: agentBus,
    clock,
    // resync far away: a later inventory can only come from the change itself
    intervals: { resyncMs: 86_400_000, inventoryDebounceMs: DEBOUNCE_MS, progressDebounceMs: 50 },
  });
  await agent.start();
  const world: World = {
    clock,
    sim,
    agent,
    inventories: () => events.map((e) => e.data as InventoryReport),
    async until(what, check) {
      for (let step = 0; step < 200; step++) {
        if (check()) return;
        await clock.advance(DEBOUNCE_MS / 2);
        await new Promise((r) => setTimeout(r, 1));
      }
      throw new Error(`never happened: ${what}`);
    },
    async close() {
      await agent.stop();
      sim.close();
      await Promise.all([planner.close(), agentBus.close()]);
    },
  };
  worlds.push(world);
  return world;
}

const meshes = (r: InventoryReport | undefined): Record<string, string | undefined> =>
  Object.fromEntries((r?.namespaces ?? []).map((n) => [n.name, n.labels[MESH_LABEL]]));

describe('cluster agent inventory: namespaces', () => {
  it('Given namespaces labelled with meshes, When the agent starts, Then its inventory lists them with their labels, without the protected ones', async () => {
    const w = await newWorld();
    await w.until('a first inventory', () => w.inventories().length > 0);

    const first = w.inventories()[0]!;
    // (like a real apiserver, the simulated one labels every namespace with its own name)
    const name = (ns: string): Record<string, string> => ({ 'kubernetes.io/metadata.name': ns });
    expect(first.namespaces).toEqual([
      { name: 'pay', labels: { ...name('pay'), [MESH_LABEL]: 'mesh-a', [IstioLabel.Revision]: OLD } },
      { name: 'plain', labels: name('plain') },
      { name: 'shop', labels: { ...name('shop'), [MESH_LABEL]: 'mesh-b', team: 'shop' } },
    ]);
    expect(first.workloads.map((x) => `${x.namespace}/${x.name}`).sort()).toEqual(['pay/api', 'shop/web']);
  });

  it('Given a running agent, When a namespace is relabelled into another mesh, Then the next (debounced) inventory carries the new mesh', async () => {
    const w = await newWorld();
    await w.until('a first inventory', () => w.inventories().length > 0);
    const before = w.inventories().length;

    await w.sim.patchNamespace('shop', { labels: { [MESH_LABEL]: 'mesh-a' } });
    await w.sim.patchNamespace('plain', { labels: { [MESH_LABEL]: 'mesh-c' } });
    await w.until('an inventory with the new meshes', () => meshes(w.inventories().at(-1)).plain === 'mesh-c');

    const last = w.inventories().at(-1)!;
    expect(meshes(last)).toEqual({ pay: 'mesh-a', plain: 'mesh-c', shop: 'mesh-a' });
    expect(last.generation).toBeGreaterThan(w.inventories()[before - 1]!.generation);
    // the two changes inside one debounce window make one report, not two
    expect(w.inventories().length).toBe(before + 1);
  });
});

describe('cluster agent inventory: control planes and revision tags', () => {
  it('Given a cluster with revision 1-24-5 installed, When the agent reports, Then its inventory lists the control plane with its version', async () => {
    const w = await newWorld();
    await w.until('a first inventory', () => w.inventories().length > 0);
    expect(w.inventories()[0]).toMatchObject({
      controlPlanes: [{ revision: OLD, version: '1.24.5', ready: true }],
      tags: {},
    });
  });

  it('Given tags the contract cannot carry, When the agent reports, Then it leaves out only those', async () => {
    const w = await newWorld(async () => ({
      controlPlanes: [{ revision: 'canary', version: null, ready: false }],
      tags: { 'prod-stable': 'canary', 'Not.A.Tag': 'canary' },
      injectors: [],
    }));
    await w.until('a first inventory', () => w.inventories().length > 0);
    expect(w.inventories()[0]).toMatchObject({
      controlPlanes: [{ revision: 'canary', version: null, ready: false }],
      tags: { 'prod-stable': 'canary' },
    });
  });

  it('Given the control planes cannot be read, When the agent reports, Then its inventory goes without them, not with none', async () => {
    const w = await newWorld(() => Promise.reject(new Error('forbidden')));
    await w.until('a first inventory', () => w.inventories().length > 0);
    const first = w.inventories()[0]!;
    expect(first.workloads.length).toBe(2);
    expect(first.controlPlanes).toBeUndefined();
    expect(first.tags).toBeUndefined();
  });
});
