import { createInMemoryBroker, createInMemoryBus, type EventBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ScriptedCluster,
  newFleetWorkloads,
  newRolloutYaml,
} from '../../../../test/integration/planner/scripted-agents.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { createPlanner, type Planner } from './planner.js';
import { MessageType, Topic, type UnitProgress } from '@meshwave/contracts';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };

interface World {
  readonly planner: Planner;
  readonly store: ReturnType<typeof createInMemoryStore>;
  /** another replica on the same bus and store (it follows while `planner` leads) */
  readonly replica: (instanceId: string) => Planner;
  readonly agents: ScriptedCluster[];
  /** a bus of its own for `source` on the world's broker (what an agent publishes, by hand) */
  readonly busFor: (source: string) => EventBus;
  readonly stop: () => Promise<void>;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.stop();
});

async function newWorld(options: { clusters?: number; perCluster?: number; failing?: string[] } = {}): Promise<World> {
  const broker = createInMemoryBroker();
  const store = createInMemoryStore();
  const busFor = (source: string): EventBus =>
    createInMemoryBus({ broker, source, signing, retry: { initialBackoffMs: 5, maxBackoffMs: 50 } });
  const planner = createPlanner({
    bus: busFor('planner'),
    store,
    config: { instanceId: 'p1', leaseRenewMs: 50, leaseTtlMs: 500, timerTickMs: 20, resyncAfterMs: 500 },
  });
  const agents = Array.from({ length: options.clusters ?? 3 }, (_, i) => {
    const name = `prod-${i + 1}`;
    return new ScriptedCluster({
      name,
      bus: busFor(`cluster-agent/${name}`),
      workloads: newFleetWorkloads(options.perCluster ?? 8),
      failing: new Set(
        (options.failing ?? []).filter((f) => f.startsWith(`${name}/`)).map((f) => f.slice(name.length + 1)),
      ),
    });
  });
  for (const a of agents) await a.start();
  await planner.start();
  const replicas: Planner[] = [];
  const world = {
    planner,
    store,
    agents,
    busFor,
    replica: (instanceId: string) => {
      const replica = createPlanner({ bus: busFor(instanceId), store, config: { instanceId } });
      replicas.push(replica);
      return replica;
    },
    stop: async () => {
      for (const r of replicas) await r.stop();
      await planner.stop();
      for (const a of agents) await a.stop();
    },
  };
  worlds.push(world);
  return world;
}

let lastWords: (() => Promise<unknown>) | undefined;
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 4_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await lastWords?.())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** the names of the documents of `scope` fetched from `store` from now on (whole or changed) */
function fetchedDocs(store: World['store'], scope: string): string[] {
  const fetched: string[] = [];
  const readScope = store.readScope.bind(store);
  const readScopeChanges = store.readScopeChanges.bind(store);
  vi.spyOn(store, 'readScope').mockImplementation(async (s) => {
    const docs = await readScope(s);
    if (s === scope) fetched.push(...docs.keys());
    return docs;
  });
  vi.spyOn(store, 'readScopeChanges').mockImplementation(async (s, known) => {
    const read = await readScopeChanges(s, known);
    if (s === scope) fetched.push(...read.changed.keys());
    return read;
  });
  return fetched;
}

describe('planner runtime (in-memory bus and store)', () => {
  it('Given agents that report inventory, When a rollout is created, Then every wave completes and every unit is on the new revision', async () => {
    const { planner, agents } = await newWorld();
    await until('leadership', async () => (planner.isLeader() ? true : undefined));
    await until('inventory', async () => ((await planner.fleet()).clusters.length === 3 ? true : undefined));
    const created = await planner.createRollout({ spec: newRolloutYaml() }, 'alice');
    const done = await until('completion', async () => {
      const s = await planner.getRollout(created.id);
      return s.phase === 'Completed' ? s : undefined;
    });
    expect(done.waveStatuses.map((w) => w.state)).toEqual(['passed', 'passed', 'passed']);
    expect(done.waveStatuses.reduce((n, w) => n + w.units.converged, 0)).toBe(24);
    for (const a of agents) expect([...a.revisions.values()].every((r) => r === '1-25-2')).toBe(true);
    expect(done.transitions.at(-1)?.trigger).toBe('last-gate-passed');
    const audit = await planner.audit(created.id);
    expect(audit[0]).toMatchObject({ actor: 'alice', action: 'create' });
  });

  it('Given a rollout that completed, When its status is first read, Then it is built from the documents the leader held, not from the whole scope fetched again (issue 15)', async () => {
    const { planner, store } = await newWorld();
    await until('leadership', async () => (planner.isLeader() ? true : undefined));
    await until('inventory', async () => ((await planner.fleet()).clusters.length === 3 ? true : undefined));
    const readScope = vi.spyOn(store, 'readScope');
    const created = await planner.createRollout({ spec: newRolloutYaml() }, 'alice');
    // completion seen in the store, not through a status read (which would build the status while it is held)
    await until('completion', async () => {
      const state = (await store.read(created.id, 'state'))?.value as { phase?: string } | undefined;
      return state?.phase === 'Completed' ? true : undefined;
    });
    await planner.idle();

    const status = await planner.getRollout(created.id);

    expect(status.phase).toBe('Completed');
    expect(status.waveStatuses.reduce((n, w) => n + w.units.converged, 0)).toBe(24);
    // the old code dropped the held documents at the end, and this read fetched and parsed the whole plan again
    expect(readScope.mock.calls.filter(([scope]) => scope === created.id)).toEqual([]);
  });

  it('Given a rollout that completed, When an agent reports on it again after the end, Then no reconcile fetches its whole scope again (issue 15)', async () => {
    const { planner, store, busFor } = await newWorld();
    await until('leadership', async () => (planner.isLeader() ? true : undefined));
    await until('inventory', async () => ((await planner.fleet()).clusters.length === 3 ? true : undefined));
    const created = await planner.createRollout({ spec: newRolloutYaml() }, 'alice');
    await until('completion', async () => {
      const state = (await store.read(created.id, 'state'))?.value as { phase?: string } | undefined;
      return state?.phase === 'Completed' ? true : undefined;
    });
    await planner.idle();
    const fetched = fetchedDocs(store, created.id);

    // the agent's whole progress again, as agents re-send it after the end (a newer generation: stored, so seen)
    const name = 'report/cluster/prod-1';
    const report = (await store.read(created.id, name))!.value as UnitProgress;
    const before = await store.readVersion(created.id, name);
    await busFor('cluster-agent/prod-1').publish([
      {
        topic: Topic.Events,
        key: 'cluster/prod-1',
        type: MessageType.UnitProgress,
        data: { ...report, generation: report.generation + 1 },
      },
    ]);
    await until('the report stored', async () =>
      (await store.readVersion(created.id, name)) > before ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 0));
    await planner.idle();

    // the old code fetched, parsed and validated the whole plan for every report after the end
    expect(fetched).not.toContain('rollout');
    const status = await planner.getRollout(created.id);
    expect(status.phase).toBe('Completed');
    expect(status.waveStatuses.reduce((n, w) => n + w.units.converged, 0)).toBe(24);
  });

  it('Given a completed rollout with nothing left to send, When an operator rolls it back, Then its reconcile is not skipped: every unit goes back to the old revision', async () => {
    const { planner, store, agents } = await newWorld();
    await until('leadership', async () => (planner.isLeader() ? true : undefined));
    await until('inventory', async () => ((await planner.fleet()).clusters.length === 3 ? true : undefined));
    const created = await planner.createRollout({ spec: newRolloutYaml() }, 'alice');
    await until('completion', async () => {
      const state = (await store.read(created.id, 'state'))?.value as { phase?: string } | undefined;
      return state?.phase === 'Completed' ? true : undefined;
    });
    await planner.idle();

    await planner.act(created.id, { action: 'rollback', actor: 'olga', reason: 'latency regression' });

    const done = await until('rolled back', async () => {
      const s = await planner.getRollout(created.id);
      return s.phase === 'RolledBack' ? s : undefined;
    });
    expect(done.transitions.at(-1)?.to).toBe('RolledBack');
    await until('every unit on the old revision', async () =>
      agents.every((a) => [...a.revisions.values()].every((r) => r === '1-24-5')) ? true : undefined,
    );
  });

  it('Given a unit that crash-loops on the new revision, When its wave runs, Then the planner halts, fails the wave back, and after excluding it and resuming completes', async () => {
    const { planner, agents } = await newWorld({ failing: ['prod-2/team-1/Deployment/svc-5'] });
    await until('leadership', async () => (planner.isLeader() ? true : undefined));
    await until('inventory', async () => ((await planner.fleet()).clusters.length === 3 ? true : undefined));
    const created = await planner.createRollout({ spec: newRolloutYaml({ onGateFailure: 'rollback-wave' }) }, 'alice');
    lastWords = async () => {
      const s = await planner.getRollout(created.id);
      return {
        phase: s.phase,
        reason: s.reason,
        t: s.transitions.map((t) => t.trigger + ':' + t.wave),
        v: s.gateVerdicts.slice(-3),
      };
    };
    const halted = await until('halt after failback', async () => {
      const s = await planner.getRollout(created.id);
      return s.phase === 'Halted' && s.transitions.some((t) => t.trigger === 'wave-rolled-back') ? s : undefined;
    });
    const badWave = created.plan.waves.findIndex((w) => w.units.includes('prod-2/team-1/Deployment/svc-5'));
    expect(halted.wave).toBe(badWave);
    expect(halted.gateVerdicts.find((v) => v.outcome === 'Failed')).toMatchObject({
      reason: 'UnitFailed',
      failed: ['prod-2/team-1/Deployment/svc-5'],
    });
    expect(agents[1]!.halts.length).toBeGreaterThan(0);
    // no unit of a later wave moved
    const later = created.plan.waves.slice(badWave + 1).flatMap((w) => w.units);
    for (const u of later) {
      const [cluster, ...rest] = u.split('/');
      expect(agents.find((a) => a.options.name === cluster)!.revisions.get(rest.join('/'))).toBe('1-24-5');
    }
    await expect(planner.act(created.id, { action: 'approve', actor: 'bob' })).rejects.toMatchObject({
      code: 'ACTION_NOT_APPLICABLE',
    });
    await planner.act(created.id, {
      action: 'exclude',
      actor: 'bob',
      reason: 'crash loop',
      units: [{ cluster: 'prod-2', namespace: 'team-1', kind: 'Deployment', name: 'svc-5' }],
    });
    await planner.act(created.id, { action: 'resume', actor: 'bob' });
    const done = await until('completion', async () => {
      const s = await planner.getRollout(created.id);
      return s.phase === 'Completed' ? s : undefined;
    });
    expect(done.excluded).toEqual(['prod-2/team-1/Deployment/svc-5']);
    expect(agents[1]!.revisions.get('team-1/Deployment/svc-5')).toBe('1-24-5');
    const onTarget = agents.flatMap((a) => [...a.revisions.values()]).filter((r) => r === '1-25-2').length;
    expect(onTarget).toBe(23);
    const actions = (await planner.audit(created.id, 100)).map((e) => `${e.actor}:${e.action}`);
    expect(actions).toContain('bob:exclude');
    expect(actions).toContain('bob:resume');
    const metrics = await planner.metrics.registry.getSingleMetricAsString('meshwave_failure_to_halt_seconds');
    expect(metrics).toMatch(/meshwave_failure_to_halt_seconds_count 1/);
  });

  it('Given two planners on one store, Then exactly one leads, and mutations on the other are refused as NOT_LEADER', async () => {
    const broker = createInMemoryBroker();
    const store = createInMemoryStore();
    const mk = (id: string) =>
      createPlanner({
        bus: createInMemoryBus({ broker, source: id, signing }),
        store,
        config: { instanceId: id, leaseRenewMs: 30, leaseTtlMs: 300 },
      });
    const a = mk('a');
    const b = mk('b');
    await a.start();
    await b.start();
    worlds.push({
      planner: a,
      store,
      replica: () => b,
      agents: [],
      busFor: (source) => createInMemoryBus({ broker, source, signing }),
      stop: async () => {
        await a.stop();
        await b.stop();
      },
    });
    await until('a leader', async () => (a.isLeader() || b.isLeader() ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    const follower = a.isLeader() ? b : a;
    await expect(follower.putInventory({ clusters: [] }, 'x')).rejects.toMatchObject({ code: 'NOT_LEADER' });
    const leader = a.isLeader() ? a : b;
    await leader.stop();
    await until('takeover', async () => (follower.isLeader() ? true : undefined));
    expect(follower.epoch()).toBeGreaterThan(1);
  });

  it("Given a rollout the leader drives, When a follower answers for it, Then leaderEpoch is the epoch the rollout was last written under, not the follower's", async () => {
    const { planner, replica } = await newWorld();
    await until('leadership', async () => (planner.isLeader() ? true : undefined));
    await until('inventory', async () => ((await planner.fleet()).clusters.length === 3 ? true : undefined));
    const created = await planner.createRollout({ spec: newRolloutYaml() }, 'alice');
    await until('completion', async () =>
      (await planner.getRollout(created.id)).phase === 'Completed' ? true : undefined,
    );
    const follower = replica('p2');
    await follower.start();
    expect(follower.isLeader()).toBe(false);
    expect((await follower.getRollout(created.id)).leaderEpoch).toBe(planner.epoch());
    expect(planner.epoch()).toBeGreaterThan(0);
  });

  it('Given a rollout halted by a failed unit, When an operator retries the failed units, Then the wave goes out again, the retried unit converges and the rollout completes; the retry is audited', async () => {
    const bad = 'prod-2/team-1/Deployment/svc-5';
    const { planner } = await newWorld({ failing: [bad] });
    await until('leadership', async () => (planner.isLeader() ? true : undefined));
    await until('inventory', async () => ((await planner.fleet()).clusters.length === 3 ? true : undefined));
    const created = await planner.createRollout({ spec: newRolloutYaml({ onGateFailure: 'halt' }) }, 'alice');
    await until('halt', async () => ((await planner.getRollout(created.id)).phase === 'Halted' ? true : undefined));

    // The retry names the units the agent's report of the halted generation says failed: until that report is in,
    // there is nothing to retry (refused, nothing changed), so the operator's retry is tried until it is taken.
    const retried = await until('retry', () =>
      planner
        .retry(created.id, { actor: 'olga', reason: 'node pool fixed' })
        .catch((e: unknown) =>
          e instanceof PlannerError && e.code === PlannerErrorCode.ActionNotApplicable ? undefined : Promise.reject(e),
        ),
    );
    expect(retried).toMatchObject({ action: 'retry', phase: 'Running', message: expect.stringContaining(bad) });
    const done = await until('completion', async () => {
      const s = await planner.getRollout(created.id);
      return s.phase === 'Completed' ? s : undefined;
    });
    expect(done.transitions.map((t) => t.trigger)).toContain('retry');
    const audit = await planner.audit(created.id);
    expect(audit).toContainEqual(
      expect.objectContaining({ actor: 'olga', action: 'retry', reason: 'node pool fixed' }),
    );
  });
});
