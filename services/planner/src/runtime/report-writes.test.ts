import { createInMemoryStore, type StateStore } from '@meshwave/store';
import { describe, expect, it } from 'vitest';
import { ReportWrites } from './report-writes.js';
import { StoredClusterReport } from './stored-documents.js';

const SCOPE = 'r1-20261122-ab12';
const NAME = 'report/cluster/c1';
const lease = { name: 'planner', holder: 'p1', epoch: 7 };
const report = (generation: number, state = 'pending'): object => ({
  cluster: 'c1',
  rolloutId: SCOPE,
  generation,
  halted: false,
  units: [{ namespace: 'team-0', state, revision: '1-25-2', injectedRevision: null }],
});

/** The in-memory store; its next `failures` transitions throw as a Redis that is down does. */
function newFlakyStore(): { store: StateStore; fail: (n: number) => void; writes: () => number } {
  const inner = createInMemoryStore();
  let failures = 0;
  let writes = 0;
  const store = Object.assign(Object.create(inner) as StateStore, {
    transition: async (request: Parameters<StateStore['transition']>[0]) => {
      if (failures > 0) {
        failures--;
        throw new Error('Connection is closed.');
      }
      writes++;
      return inner.transition(request);
    },
  });
  return { store, fail: (n) => void (failures = n), writes: () => writes };
}

const write = (w: ReportWrites, value: object, epoch = lease.epoch): ReturnType<ReportWrites['write']> =>
  w.write(
    { ...lease, epoch },
    { scope: SCOPE, name: NAME, schema: StoredClusterReport },
    value as { generation: number },
  );

describe('ReportWrites', () => {
  it('Given a write that failed, When the same report is re-sent, Then it is stored', async () => {
    const { store, fail } = newFlakyStore();
    const writes = new ReportWrites(store, () => true);
    expect(await write(writes, report(1))).toEqual({ outcome: 'stored' });
    fail(1);
    await expect(write(writes, report(1, 'converged'))).rejects.toThrow('Connection is closed.');

    expect(await write(writes, report(1, 'converged'))).toEqual({ outcome: 'stored' });
    expect((await store.read(SCOPE, NAME))?.value).toEqual(report(1, 'converged'));
  });

  it('Given a stored report, When it comes again, an older one comes, or a new term begins, Then only the new term writes', async () => {
    const { store, writes: count } = newFlakyStore();
    const writes = new ReportWrites(store, () => true);
    await write(writes, report(2));
    expect(await write(writes, report(2))).toEqual({ outcome: 'unchanged' });
    expect(await write(writes, report(1, 'converged'))).toEqual({ outcome: 'older' });
    expect(count()).toBe(1);
    // another leader's term knows nothing of what this one stored: it writes (and fences this term out)
    expect(await write(writes, report(2), lease.epoch + 1)).toEqual({ outcome: 'stored' });
    expect(await write(writes, report(2, 'converged'))).toMatchObject({ ok: false, reason: 'stale-epoch' });
    expect(await store.readVersion(SCOPE, NAME)).toBe(2);
  });

  it('Given reports of a rollout no longer driven, When a report of a new rollout arrives, Then what was kept of the old one is dropped', async () => {
    const driven = new Set([SCOPE]);
    const { store, writes: count } = newFlakyStore();
    const writes = new ReportWrites(store, (scope) => driven.has(scope));
    await write(writes, report(1));
    driven.clear();
    driven.add('r2');
    await writes.write(lease, { scope: 'r2', name: NAME, schema: StoredClusterReport }, { generation: 1 });
    // the old rollout's report is no longer known: the same report is read and written again
    expect(await write(writes, report(1))).toEqual({ outcome: 'stored' });
    expect(count()).toBe(3);
  });
});
