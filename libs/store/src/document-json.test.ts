import { describe, expect, it } from 'vitest';
import { stableEntriesJson } from './document-json.js';
import { createInMemoryStore } from './in-memory-store.js';

interface Entry {
  readonly cluster: string;
  readonly name: string;
  readonly status: string;
  readonly restarts: number;
}

/** Entries whose fields, once read, mark them serialised (a cache lookup reads none of them). */
function newCountedEntries(n: number, serialised: Set<number>, from = 0): Entry[] {
  return Array.from({ length: n }, (_, i) => {
    const entry = { cluster: 'c1', name: `app-${from + i}`, status: 'Converging', restarts: 0 };
    return new Proxy(entry, {
      get(target, key, receiver) {
        if (key !== 'toJSON') serialised.add(from + i);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
  });
}

describe('a document written with stableEntries (ADR 0074)', () => {
  it('Given a stored report of 1,800 entries, When the report after a delta of 3 entries is written, Then only those 3 entries are serialised, and the store holds the same text as JSON.stringify, fenced and versioned as before', async () => {
    const store = createInMemoryStore();
    const serialised = new Set<number>();
    const units = newCountedEntries(1_800, serialised);
    const first = { generation: 1, seq: 1, units };
    const w1 = await store.transition({
      scope: 'r1',
      epoch: 1,
      writes: [{ name: 'progress/c1', value: first, expectedVersion: 0, stableEntries: true }],
    });
    expect(w1).toEqual({ ok: true, versions: { 'progress/c1': 1 } });
    expect(serialised.size).toBe(1_800);

    // the delta replaces entries 10 and 11 and adds one; every other entry is the same object
    serialised.clear();
    const changed = newCountedEntries(2, serialised, 10);
    const added = newCountedEntries(1, serialised, 5_000);
    const after = { generation: 1, seq: 2, units: [...units.slice(0, 10), ...changed, ...units.slice(12), ...added] };
    const w2 = await store.transition({
      scope: 'r1',
      epoch: 1,
      writes: [{ name: 'progress/c1', value: after, expectedVersion: 1, stableEntries: true }],
    });
    expect(w2).toEqual({ ok: true, versions: { 'progress/c1': 2 } });
    // the old code serialised all 1,801 entries of the document on every delta
    expect([...serialised].sort((a, b) => a - b)).toEqual([10, 11, 5_000]);
    expect(await store.read('r1', 'progress/c1')).toEqual({ value: JSON.parse(JSON.stringify(after)), version: 2 });

    // fencing and versions as for any write
    expect(
      await store.transition({
        scope: 'r1',
        epoch: 0,
        writes: [{ name: 'progress/c1', value: after, expectedVersion: 2, stableEntries: true }],
      }),
    ).toMatchObject({ ok: false, reason: 'stale-epoch' });
    expect(
      await store.transition({
        scope: 'r1',
        epoch: 1,
        writes: [{ name: 'progress/c1', value: after, expectedVersion: 1, stableEntries: true }],
      }),
    ).toMatchObject({ ok: false, reason: 'version-conflict', actualVersion: 2 });
  });

  it('writes the text JSON.stringify writes, whatever the value holds', () => {
    const workloads = Array.from({ length: 40 }, (_, i) => ({
      name: `w-${i}`,
      gone: undefined,
      labels: { 'app.kubernetes.io/name': `w"${i}` },
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      ports: [80, i],
    }));
    const odd = [1, 'two', null, undefined, () => 3, [4], { five: 5 }, ...Array<number>(40).fill(6)];
    const values: unknown[] = [
      { report: { cluster: 'c1', workloads, tags: { stable: '1-25-2' } }, receivedAt: '2026-01-01T00:00:00Z' },
      { units: odd, skipped: undefined, nested: { deeper: { deepest: { list: workloads } } } },
      workloads,
      { toJSON: () => ({ replaced: true }) },
      'text',
      42,
      null,
    ];
    for (const v of values) {
      expect(stableEntriesJson(v)).toBe(JSON.stringify(v));
      // again: from the kept text of the entries
      expect(stableEntriesJson(v)).toBe(JSON.stringify(v));
    }
  });
});
