import type { UnitProgress, UnitProgressEntry } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { mergeEntries } from './delta-chain.js';
import { applyProgressDelta } from './report-delta.js';
import { builtIndexOf, indexOfReport } from './report-index.js';

interface Entry {
  readonly name: string;
  readonly state: string;
}

const entries = (n: number): Entry[] => Array.from({ length: n }, (_, i) => ({ name: `u${i}`, state: 'pending' }));

/** A key function that counts the entries it keyed. */
function countedKey(): { keyOf: (e: Entry | string) => string; keyed: () => number } {
  let n = 0;
  return { keyOf: (e) => (n++, typeof e === 'string' ? e : e.name), keyed: () => n };
}

const indexOf = (list: readonly Entry[]): Map<string, Entry> => new Map(list.map((e) => [e.name, e]));

describe('mergeEntries with the held list’s index (ADR 0074)', () => {
  it('Given an index of a list of 1,800 entries, When a delta of 3 entries is merged, Then only its 3 entries are keyed, with the result of a merge by the whole map', () => {
    const held = entries(1_800);
    const upserted = [
      { name: 'u7', state: 'converged' },
      { name: 'new', state: 'pending' },
      { name: 'u7', state: 'failed' },
    ];
    const counted = countedKey();
    const merged = mergeEntries(held, upserted, [], counted.keyOf, indexOf(held));
    // the merge without an index keys the 1,800 held entries as well
    expect(counted.keyed()).toBe(3);
    const plain = countedKey();
    expect(merged).toEqual(mergeEntries(held, upserted, [], plain.keyOf));
    expect(plain.keyed()).toBe(1_803);
    expect(merged.entries[7]).toEqual({ name: 'u7', state: 'failed' });
    expect(merged.entries.at(-1)).toEqual({ name: 'new', state: 'pending' });
    expect(held[7]).toEqual({ name: 'u7', state: 'pending' });
  });

  it('Given a delta that removes entries, an index that does not match the list, or a large delta, Then the result is the merge by the whole map', () => {
    const held = entries(40);
    const { keyOf } = countedKey();
    const cases: [Entry[], string[], Map<string, Entry>][] = [
      [[{ name: 'u5', state: 'converged' }], ['u5', 'u7', 'nope'], indexOf(held)],
      [[{ name: 'u5', state: 'converged' }], [], indexOf(entries(40))],
      [[{ name: 'u5', state: 'converged' }], [], indexOf(held.slice(1))],
      [entries(30).map((e) => ({ ...e, state: 'converged' })), [], indexOf(held)],
    ];
    for (const [upserted, removed, index] of cases)
      expect(mergeEntries(held, upserted, removed, keyOf, index)).toEqual(mergeEntries(held, upserted, removed, keyOf));
  });

  it('Given a progress report a reconcile indexed, When deltas follow it, Then the index goes along with each merged report, so the next delta merges by it too', () => {
    const unit = (name: string, state: UnitProgressEntry['state'] = 'pending'): UnitProgressEntry => ({
      namespace: 'shop',
      kind: 'Deployment',
      name,
      state,
      revision: '1-25-2',
      injectedRevision: null,
    });
    let held: UnitProgress = {
      cluster: 'c1',
      rolloutId: 'r1',
      generation: 2,
      halted: false,
      seq: 1,
      units: Array.from({ length: 1_800 }, (_, i) => unit(`app-${i}`)),
    };
    indexOfReport(held);
    for (let seq = 2; seq < 5; seq++) {
      const upserted = [unit(`app-${seq}`, 'converged'), unit(`app-${seq + 100}`, 'converged')];
      const delta = {
        cluster: 'c1',
        rolloutId: 'r1',
        generation: 2,
        halted: false,
        seq,
        base: seq - 1,
        upserted,
        removed: [],
      };
      const outcome = applyProgressDelta(held, delta);
      if (outcome.kind !== 'applied') throw new Error(outcome.kind);
      expect(builtIndexOf(outcome.report)?.byKey.size).toBe(1_800);
      held = outcome.report;
    }
    expect(held.units.filter((u) => u.state === 'converged')).toHaveLength(6);
  });
});
