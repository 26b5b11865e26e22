import type { HealthReport, RolloutStatus } from '@meshwave/contracts';
import { createManualClock } from '@meshwave/reconcile';
import { createInMemoryStore, type StateStore } from '@meshwave/store';
import { describe, expect, it } from 'vitest';
import type { Received } from '../core/rollout-state.js';
import { FinishedStatuses, HEALTH_FOLD_MS } from './finished-statuses.js';

const ID = 'istio-1-25-2-20261207-ab12';

/** A finished rollout's scope: its record, state and one cluster's report; what `readScopeChanges` fetched. */
async function newFinishedScope(): Promise<{
  store: Pick<StateStore, 'readScope' | 'readScopeChanges'>;
  fetched: number[];
  write: (v: unknown) => Promise<void>;
}> {
  const store = createInMemoryStore();
  const versions = new Map<string, number>();
  const write = async (value: unknown, name = 'report/cluster/prod-1'): Promise<void> => {
    const expectedVersion = versions.get(name) ?? 0;
    const r = await store.transition({ scope: ID, epoch: 1, writes: [{ name, value, expectedVersion }] });
    if (!r.ok) throw new Error(r.reason);
    versions.set(name, r.versions[name]!);
  };
  await write({ plan: 'every unit' }, 'rollout');
  await write({ phase: 'Completed' }, 'rollout/state');
  await write({ generation: 3, gateways: [{ state: 'restarting' }] });
  const fetched: number[] = [];
  const readScopeChanges: StateStore['readScopeChanges'] = async (scope, known) => {
    const changes = await store.readScopeChanges(scope, known);
    fetched.push(changes.changed.size);
    return changes;
  };
  return { store: { readScope: (scope) => store.readScope(scope), readScopeChanges }, fetched, write };
}

const statusOf = (gateway: string): RolloutStatus =>
  ({ id: ID, phase: 'Completed', gateways: { steps: [], gateways: [{ state: gateway }] } }) as unknown as RolloutStatus;

const healthOf = (generation: number): Received<HealthReport> => ({
  report: { source: 'cluster-agent/prod-1', generation, observedAt: '2026-12-07T00:00:00Z', units: [] },
  receivedAt: '2026-12-07T00:00:00Z',
});

describe('the statuses of finished rollouts (issue 21)', () => {
  it('Given a finished rollout whose status was built, When it is read again with nothing changed, Then the held status and tag come back and no document is fetched; When an agent reports after the end, Then it is built again', async () => {
    const { store, fetched, write } = await newFinishedScope();
    const health = new Map<string, Received<HealthReport>>();
    const statuses = new FinishedStatuses(store, health, createManualClock());
    expect(await statuses.current(ID)).toBeUndefined();
    const kept = statuses.keep(ID, await store.readScope(ID), statusOf('restarting'));
    expect(kept.etag).toMatch(/^W\/".+"$/);

    expect(await statuses.current(ID)).toEqual(kept);
    expect(fetched).toEqual([0]);

    await write({ generation: 3, gateways: [{ state: 'converged' }] });
    expect(await statuses.current(ID)).toBeUndefined();
    const rebuilt = statuses.keep(ID, await store.readScope(ID), statusOf('converged'));
    expect(rebuilt.etag).not.toBe(kept.etag);
    expect(await statuses.current(ID)).toEqual(rebuilt);
  });

  it('Given a held status, When a health report arrives, Then it is folded in only after HEALTH_FOLD_MS, and the same content keeps its tag', async () => {
    const { store } = await newFinishedScope();
    const health = new Map([['prod-1', healthOf(1)]]);
    const clock = createManualClock();
    const statuses = new FinishedStatuses(store, health, clock);
    const kept = statuses.keep(ID, await store.readScope(ID), statusOf('converged'));
    health.set('prod-1', healthOf(2));
    expect(await statuses.current(ID)).toEqual(kept);
    await clock.advance(HEALTH_FOLD_MS);
    expect(await statuses.current(ID)).toBeUndefined();
    expect(statuses.keep(ID, await store.readScope(ID), statusOf('converged')).etag).toBe(kept.etag);
  });

  it('Given more finished rollouts read than it keeps, Then the least recently read is dropped', async () => {
    const { store } = await newFinishedScope();
    const statuses = new FinishedStatuses(store, new Map(), createManualClock(), 1);
    statuses.keep(ID, await store.readScope(ID), statusOf('converged'));
    statuses.keep('another', new Map(), statusOf('converged'));
    expect(await statuses.current(ID)).toBeUndefined();
  });
});
