import { describe, expect, it } from 'vitest';
import { ReportChain } from './report-chain.js';

interface Entry {
  readonly name: string;
  readonly state: string;
}

const newChain = () => {
  let seq = 10;
  return new ReportChain<Entry>(
    (e) => e.name,
    () => ++seq,
  );
};

describe('ReportChain (ADR 0048)', () => {
  it('sends the whole list first, then only what changed since the report the bus took, on that report', () => {
    const chain = newChain();
    const first = chain.next([
      { name: 'a', state: 'pending' },
      { name: 'b', state: 'pending' },
    ]);
    expect(first).toMatchObject({ kind: 'whole', seq: 11 });
    chain.taken(first.seq);
    const second = chain.next([
      { name: 'a', state: 'pending' },
      { name: 'c', state: 'restarting' },
    ]);
    expect(second).toEqual({
      kind: 'delta',
      seq: 12,
      base: 11,
      upserted: [{ name: 'c', state: 'restarting' }],
      removed: [{ name: 'b', state: 'pending' }],
    });
  });

  it('after a send the bus did not take, sends the whole list: the planner may not hold what it said', () => {
    const chain = newChain();
    chain.taken(chain.next([{ name: 'a', state: 'pending' }]).seq);
    chain.next([{ name: 'a', state: 'restarting' }]);
    // not taken
    expect(chain.next([{ name: 'a', state: 'converged' }])).toMatchObject({ kind: 'whole', seq: 13 });
  });

  it('a delta with nothing in it, not sent, leaves the next one on the same report', () => {
    const chain = newChain();
    chain.taken(chain.next([{ name: 'a', state: 'pending' }]).seq);
    chain.discard(chain.next([{ name: 'a', state: 'pending' }]).seq);
    expect(chain.next([{ name: 'a', state: 'converged' }])).toMatchObject({ kind: 'delta', base: 11 });
  });

  it('sends the whole list when asked, and a delta with nothing in it when nothing changed', () => {
    const chain = newChain();
    chain.taken(chain.next([{ name: 'a', state: 'pending' }]).seq);
    const same = chain.next([{ name: 'a', state: 'pending' }]);
    expect(same).toMatchObject({ kind: 'delta', upserted: [], removed: [] });
    chain.taken(same.seq);
    expect(chain.next([{ name: 'a', state: 'pending' }], true)).toMatchObject({ kind: 'whole' });
  });

  it('nextChanged: a delta of the keys said to change, compared with the report the bus took; a discarded or failed one changes nothing held', () => {
    const chain = newChain();
    const entries = new Map<string, Entry>([
      ['a', { name: 'a', state: 'pending' }],
      ['b', { name: 'b', state: 'pending' }],
    ]);
    const first = chain.nextChanged(entries, []);
    expect(first).toMatchObject({ kind: 'whole', entries: [...entries.values()] });
    chain.taken(first.seq);
    entries.set('a', { name: 'a', state: 'converged' });
    entries.delete('b');
    entries.set('c', { name: 'c', state: 'pending' });
    const second = chain.nextChanged(entries, ['a', 'b', 'c', 'a']);
    expect(second).toMatchObject({
      kind: 'delta',
      base: first.seq,
      upserted: [
        { name: 'a', state: 'converged' },
        { name: 'c', state: 'pending' },
      ],
      removed: [{ name: 'b', state: 'pending' }],
    });
    chain.taken(second.seq);
    // nothing new for 'a' against what the bus took: an empty delta, discarded, keeps the held report
    const third = chain.nextChanged(entries, ['a']);
    expect(third).toMatchObject({ kind: 'delta', base: second.seq, upserted: [], removed: [] });
    chain.discard(third.seq);
    entries.set('c', { name: 'c', state: 'converged' });
    const fourth = chain.nextChanged(entries, ['c']);
    expect(fourth).toMatchObject({ kind: 'delta', base: second.seq, upserted: [{ name: 'c', state: 'converged' }] });
    // not taken (the send failed): the next report is whole
    expect(chain.nextChanged(entries, ['c'])).toMatchObject({ kind: 'whole' });
  });

  it('nextChangedEntries: a delta of the given entries that differ, following the report taken; whole after a failed send', () => {
    const chain = newChain();
    const all = [
      { name: 'a', state: 'pending' },
      { name: 'b', state: 'pending' },
    ];
    const first = chain.nextChangedEntries([], () => all);
    expect(first).toMatchObject({ kind: 'whole', seq: 11, entries: all });
    chain.taken(first.seq);
    // b did not change: only a is sent
    const second = chain.nextChangedEntries(
      [
        { name: 'a', state: 'restarting' },
        { name: 'b', state: 'pending' },
      ],
      () => all,
    );
    expect(second).toEqual({
      kind: 'delta',
      seq: 12,
      base: 11,
      upserted: [{ name: 'a', state: 'restarting' }],
      removed: [],
    });
    chain.taken(second.seq);
    // what the bus took is held: a's same state again is nothing new
    const third = chain.nextChangedEntries([{ name: 'a', state: 'restarting' }], () => all);
    expect(third).toMatchObject({ kind: 'delta', base: 12, upserted: [] });
    // not taken (a failed send): the next report is whole
    expect(chain.nextChangedEntries([], () => all)).toMatchObject({ kind: 'whole', entries: all });
  });
});
