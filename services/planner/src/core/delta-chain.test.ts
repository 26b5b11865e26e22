import { describe, expect, it } from 'vitest';
import { mergeEntries } from './delta-chain.js';

interface Entry {
  readonly name: string;
  readonly state: string;
}

const entries = (n: number, state = 'pending'): Entry[] =>
  Array.from({ length: n }, (_, i) => ({ name: `u${i}`, state }));

/** A key function that counts the entries it keyed. */
function countedKey(): { keyOf: (e: Entry | string) => string; keyed: () => number } {
  let n = 0;
  return { keyOf: (e) => (n++, typeof e === 'string' ? e : e.name), keyed: () => n };
}

describe('mergeEntries (ADR 0074)', () => {
  it('Given a report of 1,800 entries, When deltas of 3 entries follow one another, Then each after the first keys only its own entries, with the same result as a merge from scratch', () => {
    const { keyOf, keyed } = countedKey();
    let held = entries(1_800);
    const perDelta: number[] = [];
    for (let d = 0; d < 4; d++) {
      const before = keyed();
      const upserted = [
        { name: `u${d * 3}`, state: 'converged' },
        { name: `u${d * 3 + 1}`, state: 'converged' },
        { name: `new${d}`, state: 'pending' },
      ];
      const merged = mergeEntries(held, upserted, [], keyOf);
      perDelta.push(keyed() - before);
      // replaced entries stay where they were, new ones go last
      expect(merged.entries.slice(d * 3, d * 3 + 2)).toEqual(upserted.slice(0, 2));
      expect(merged.entries.at(-1)).toEqual(upserted[2]);
      expect(merged.entries).toHaveLength(1_800 + d + 1);
      expect(merged.changes).toEqual([
        { before: held[d * 3], after: upserted[0] },
        { before: held[d * 3 + 1], after: upserted[1] },
        { after: upserted[2] },
      ]);
      held = merged.entries;
    }
    // the first keys the whole report once; the old code keyed all of it for every delta (1,803, 1,804, ...)
    expect(perDelta).toEqual([1_803, 3, 3, 3]);
  });

  it('Given a delta that removes entries, or repeats a key, Then the result is the merge from scratch, and the next delta is right', () => {
    const { keyOf } = countedKey();
    const held = entries(40);
    const removed = mergeEntries(held, [{ name: 'u5', state: 'converged' }], ['u5', 'u7', 'nope'], keyOf);
    expect(removed.entries.map((e) => e.name)).toEqual([
      ...held.map((e) => e.name).filter((n) => n !== 'u5' && n !== 'u7'),
      'u5',
    ]);
    expect(removed.changes).toEqual([
      { before: held[5] },
      { before: held[7] },
      { after: { name: 'u5', state: 'converged' } },
    ]);
    const next = mergeEntries(
      removed.entries,
      [
        { name: 'u6', state: 'converged' },
        { name: 'u6', state: 'failed' },
      ],
      [],
      keyOf,
    );
    expect(next.entries.filter((e) => e.name === 'u6')).toEqual([{ name: 'u6', state: 'failed' }]);
    expect(next.entries.indexOf(next.entries.find((e) => e.name === 'u6')!)).toBe(5);
    expect(next.changes).toEqual([
      { before: held[6], after: { name: 'u6', state: 'converged' } },
      { before: { name: 'u6', state: 'converged' }, after: { name: 'u6', state: 'failed' } },
    ]);
    // a list held twice: merging the superseded one again is still right
    const again = mergeEntries(removed.entries, [{ name: 'u8', state: 'converged' }], [], keyOf);
    expect(again.entries.find((e) => e.name === 'u6')).toEqual(held[6]);
    expect(again.entries.find((e) => e.name === 'u8')).toEqual({ name: 'u8', state: 'converged' });
  });
});
