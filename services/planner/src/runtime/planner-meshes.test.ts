import { createInMemoryBroker, createInMemoryBus, type EventBus } from '@meshwave/bus';
import {
  MESH_LABEL,
  unitKey,
  type Inventory,
  type InventoryNamespace,
  type InventoryReport,
} from '@meshwave/contracts';
import { createInMemoryStore, type VersionedDoc } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ScriptedCluster,
  newFleetWorkloads,
  newRolloutYaml,
} from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from './planner.js';
import { FleetDoc, mergeInventory, type StoredInventoryCluster } from './store-layout.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };

/** newFleetWorkloads puts workloads in team-0..team-3: two meshes, named so that mesh order ≠ namespace order. */
const MESH_OF_NAMESPACE: Readonly<Record<string, string>> = {
  'team-0': 'mesh-b',
  'team-1': 'mesh-a',
  'team-2': 'mesh-b',
  'team-3': 'mesh-a',
};

function newMeshNamespaces(): InventoryNamespace[] {
  return Object.entries(MESH_OF_NAMESPACE).map(([name, mesh]) => ({ name, labels: { [MESH_LABEL]: mesh } }));
}

interface World {
  readonly planner: Planner;
  readonly agents: ScriptedCluster[];
  readonly stop: () => Promise<void>;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.stop();
});

async function newWorld(): Promise<World> {
  const broker = createInMemoryBroker();
  const store = createInMemoryStore();
  const busFor = (source: string): EventBus =>
    createInMemoryBus({ broker, source, signing, retry: { initialBackoffMs: 5, maxBackoffMs: 50 } });
  const planner = createPlanner({
    bus: busFor('planner'),
    store,
    config: { instanceId: 'p1', leaseRenewMs: 50, leaseTtlMs: 500, timerTickMs: 20, resyncAfterMs: 500 },
  });
  const agents = ['prod-1', 'prod-2'].map(
    (name) =>
      new ScriptedCluster({
        name,
        bus: busFor(`cluster-agent/${name}`),
        workloads: newFleetWorkloads(8),
        namespaces: newMeshNamespaces(),
      }),
  );
  for (const a of agents) await a.start();
  await planner.start();
  const world = {
    planner,
    agents,
    stop: async () => {
      await planner.stop();
      for (const a of agents) await a.stop();
    },
  };
  worlds.push(world);
  return world;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 4_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** the namespace of a plan unit key: `cluster/namespace[/kind/name]` */
const namespaceOfUnit = (key: string): string => key.split('/')[1]!;

describe('planner: meshes learned from the agents’ inventory', () => {
  for (const granularity of ['workload', 'namespace'] as const) {
    it(`Given agents whose inventory labels namespaces with two meshes, When a ${granularity}-granularity rollout with sequenceByMesh is created, Then each wave changes one mesh, mesh by mesh, and the agents get units in that order`, async () => {
      const { planner, agents } = await newWorld();
      await until('leadership', async () => (planner.isLeader() ? true : undefined));
      await until('inventory', async () => ((await planner.fleet()).clusters.length === 2 ? true : undefined));

      const created = await planner.createRollout(
        { spec: newRolloutYaml({ waves: [50, 100], granularity, sequenceByMesh: true }) },
        'alice',
      );

      const waves = created.plan.waves;
      expect(waves.map((w) => [w.name, w.mesh])).toEqual([
        ['wave-0-mesh-a', 'mesh-a'],
        ['wave-0-mesh-b', 'mesh-b'],
        ['wave-1-mesh-a', 'mesh-a'],
        ['wave-1-mesh-b', 'mesh-b'],
      ]);
      for (const w of waves) {
        expect(w.units.length).toBeGreaterThan(0);
        expect(new Set(w.units.map((u) => MESH_OF_NAMESPACE[namespaceOfUnit(u)]))).toEqual(new Set([w.mesh]));
      }

      const done = await until('completion', async () => {
        const s = await planner.getRollout(created.id);
        return s.phase === 'Completed' ? s : undefined;
      });
      // The rollout status (what the dashboard and `meshwave status` show) names each wave with its mesh.
      expect(done.waveStatuses.map((w) => [w.name, w.state])).toEqual(waves.map((w) => [w.name, 'passed']));
      // Every command a cluster received holds only units of the waves up to the one it was sent for: the
      // second mesh's units of a wave reach the cluster only once the first mesh's wave is over.
      const waveOfUnit = new Map(waves.flatMap((w) => w.units.map((u) => [u, w.index])));
      for (const agent of agents) {
        expect(agent.applied.length).toBeGreaterThan(0);
        for (const command of agent.applied) {
          for (const target of command.units) {
            const wave = waveOfUnit.get(`${agent.options.name}/${unitKey(target)}`);
            expect(wave).toBeDefined();
            expect(wave!).toBeLessThanOrEqual(command.wave);
          }
        }
        // (a scripted agent records a namespace unit under the namespace, a workload unit under its key)
        const last = agent.applied.at(-1)!;
        expect(last.units).toHaveLength(granularity === 'namespace' ? 4 : 8);
        for (const target of last.units) expect(agent.revisions.get(unitKey(target))).toBe('1-25-2');
      }
    });
  }
});

describe('mergeInventory: namespaces', () => {
  const report = (cluster: string, namespaces?: InventoryNamespace[]): VersionedDoc => {
    const r: InventoryReport = {
      cluster,
      labels: { env: 'prod' },
      generation: 3,
      workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'web', labels: {}, revision: '1-24-5', replicas: 1 }],
      ...(namespaces === undefined ? {} : { namespaces }),
    };
    const value: StoredInventoryCluster = { report: r, receivedAt: '2026-11-23T00:00:00Z' };
    return { value, version: 1 };
  };
  const base: Inventory = {
    clusters: ['a', 'b', 'c'].map((name) => ({
      name,
      labels: {},
      namespaces: [{ name: 'shop', labels: { [MESH_LABEL]: 'base-mesh' } }],
      workloads: [],
    })),
    vmGroups: [],
  };

  it('takes a reporting agent’s namespaces over the base inventory’s, keeps the base’s when the agent sends none', () => {
    const docs = new Map<string, VersionedDoc>([
      [FleetDoc.BaseInventory, { value: base, version: 1 }],
      [FleetDoc.cluster('a'), report('a', [{ name: 'shop', labels: { [MESH_LABEL]: 'mesh-a' } }])],
      [FleetDoc.cluster('b'), report('b')],
      [FleetDoc.cluster('d'), report('d', [{ name: 'shop', labels: { [MESH_LABEL]: 'mesh-d' } }])],
      [FleetDoc.cluster('e'), report('e')],
    ]);
    const { inventory } = mergeInventory(docs);
    const meshes = Object.fromEntries(
      inventory.clusters.map((c) => [c.name, c.namespaces?.map((n) => n.labels[MESH_LABEL])]),
    );
    expect(meshes).toEqual({
      a: ['mesh-a'],
      b: ['base-mesh'],
      c: ['base-mesh'],
      d: ['mesh-d'],
      e: undefined,
    });
    expect(inventory.clusters.find((c) => c.name === 'e')).not.toHaveProperty('namespaces');
  });
});
