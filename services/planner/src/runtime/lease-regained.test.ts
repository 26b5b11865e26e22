import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore, type StateStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ScriptedCluster,
  newFleetWorkloads,
  newRolloutYaml,
} from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from './planner.js';

// A leader whose lease renewal is refused (its loop stalled past the lease) and that wins the lease back at once
// starts a new term. At fleet (b) its first reconcile fetched every rollout whole again (a 12.7 MB plan), which
// stalled the loop past the lease again: 4–10 terms in a row under load (ADR 0078). What it held is kept across
// the demotion, checked against the store's versions.

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const LEASE = 'meshwave-planner';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 4_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** the names of the documents of `scope` fetched from `store` (whole or changed), from now on */
function fetchedDocs(store: StateStore, scope: string): string[] {
  const fetched: string[] = [];
  const readScope = store.readScope.bind(store);
  const readScopeChanges = store.readScopeChanges.bind(store);
  store.readScope = async (s) => {
    const docs = await readScope(s);
    if (s === scope) fetched.push(...docs.keys());
    return docs;
  };
  store.readScopeChanges = async (s, known) => {
    const read = await readScopeChanges(s, known);
    if (s === scope) fetched.push(...read.changed.keys());
    return read;
  };
  return fetched;
}

async function newWorld(): Promise<{ planner: Planner; store: StateStore }> {
  const broker = createInMemoryBroker();
  const store = createInMemoryStore();
  const busFor = (source: string) =>
    createInMemoryBus({ broker, source, signing, retry: { initialBackoffMs: 5, maxBackoffMs: 50 } });
  const agents = [1, 2].map(
    (i) =>
      new ScriptedCluster({
        name: `prod-${i}`,
        bus: busFor(`cluster-agent/prod-${i}`),
        workloads: newFleetWorkloads(4),
      }),
  );
  for (const a of agents) await a.start();
  const planner = createPlanner({
    bus: busFor('planner'),
    store,
    config: { instanceId: 'p1', leaseRenewMs: 50, leaseTtlMs: 500, timerTickMs: 20, resyncAfterMs: 500 },
  });
  await planner.start();
  stops.push(async () => {
    await planner.stop();
    for (const a of agents) await a.stop();
  });
  return { planner, store };
}

describe('a leader that loses its lease and wins it back', () => {
  it('Given a rollout under way, When the leader’s renewal is refused and it is elected again, Then its new term fetches none of the rollout’s unchanged documents and the rollout goes on', async () => {
    const { planner, store } = await newWorld();
    await until('leadership', async () => (planner.isLeader() ? true : undefined));
    await until('inventory', async () => ((await planner.fleet()).clusters.length === 2 ? true : undefined));
    // a soak of an hour keeps the rollout driven (and held) while the lease changes hands
    const { id } = await planner.createRollout({ spec: newRolloutYaml({ soak: '1h', waves: [50, 100] }) }, 'alice');
    const fetched = fetchedDocs(store, id);
    await until('the first wave converged, soaking', async () => {
      const w = (await planner.getRollout(id)).waveStatuses[0];
      return w?.state === 'active' && w.units.converged === 4 ? true : undefined;
    });
    await planner.idle();
    const firstTerm = planner.epoch();
    fetched.length = 0;

    // the lease is gone from the store, as when a stalled loop renews too late: the renewal is refused
    const lease = await store.leaseHolder(LEASE);
    expect(lease?.epoch).toBe(firstTerm);
    await store.releaseLease(lease!);
    await until('a new term', async () => (planner.isLeader() && planner.epoch() > firstTerm ? true : undefined));
    await planner.idle();

    // the new term re-sent the desired state (ADR 0032) without fetching the plan again: the old code fetched
    // the record and every report
    expect(fetched).not.toContain('rollout');
    const s = await planner.getRollout(id);
    expect(s.phase).toBe('Running');
    expect(s.waveStatuses.map((w) => w.state)).toEqual(['active', 'pending']);
    expect(s.waveStatuses[0]?.units.converged).toBe(4);
  });
});
