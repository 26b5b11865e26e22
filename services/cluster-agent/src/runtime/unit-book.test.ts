import { describe, expect, it } from 'vitest';
import { UnitState, unitKey } from '@meshwave/contracts';
import { UnitBook, type UnitStatus } from './unit-book.js';
import { countStatusWalks, newLedger, newStatus, newTargets } from './unit-book-fixtures.js';

const UNITS = 2_000;
const SLOTS = 10;

const targets = newTargets(UNITS);
const keys = targets.map(unitKey);

/** A book whose statuses' walks are counted, with every wake-up it asks for. */
function newBook(): { book: UnitBook; woken: string[]; statusesVisited: () => number } {
  const woken: string[] = [];
  const book = new UnitBook({ onProgress: () => undefined, wake: (key) => woken.push(key) });
  const walks = countStatusWalks(book);
  return { book, woken, statusesVisited: () => walks() + (book.wakeStats?.visited ?? 0) };
}

const statusOf = (book: UnitBook, i: number, state: UnitState): UnitStatus => newStatus(book, targets[i]!, state);

/** Given half the units converged, the next SLOTS restarting and the rest pending. */
function halfwayBook(halted = false): ReturnType<typeof newBook> {
  const b = newBook();
  b.book.rebuild(newLedger(targets, SLOTS, halted), undefined);
  const half = UNITS / 2;
  for (let i = 0; i < UNITS; i++)
    b.book.record(
      statusOf(b.book, i, i < half ? UnitState.Converged : i < half + SLOTS ? UnitState.Restarting : UnitState.Pending),
    );
  return b;
}

describe('unit book: waking pending units as slots free up', () => {
  it('looks at a few queued units per freed slot, not at every unit before the first pending one', () => {
    const { book, woken, statusesVisited } = halfwayBook();
    const before = statusesVisited();
    // When the restarting units converge one after the other, and each unit woken starts (its reconcile)
    for (let i = UNITS / 2; i < UNITS / 2 + SLOTS; i++) {
      const wokenBefore = woken.length;
      book.record(statusOf(book, i, UnitState.Converged));
      for (const key of woken.slice(wokenBefore)) book.record(statusOf(book, keys.indexOf(key), UnitState.Restarting));
    }
    // Then each freed slot woke the next pending unit in order
    expect(woken).toEqual(keys.slice(UNITS / 2 + SLOTS, UNITS / 2 + 2 * SLOTS));
    // and what it cost is a few entries per freed slot (the old walk visited the 1,000 converged units each time)
    expect(statusesVisited() - before).toBeLessThanOrEqual(SLOTS * 2);
  });

  it('wakes a woken unit again when its reconcile found no room, before the units after it', () => {
    const { book, woken } = halfwayBook();
    const first = UNITS / 2 + SLOTS;
    book.record(statusOf(book, UNITS / 2, UnitState.Converged));
    expect(woken).toEqual([keys[first]]);
    // Given its reconcile found the slot taken (another start) and recorded it still pending
    book.record(statusOf(book, UNITS / 2, UnitState.Restarting));
    book.record(statusOf(book, first, UnitState.Pending));
    woken.length = 0;
    // When a slot frees up again
    book.record(statusOf(book, UNITS / 2, UnitState.Converged));
    // Then the same unit is woken first: the planner's order is kept
    expect(woken).toEqual([keys[first]]);
  });

  it('wakes no unit of a halted rollout, and the command that lifts the halt queues them again', () => {
    const { book, woken } = halfwayBook(true);
    book.record(statusOf(book, UNITS / 2, UnitState.Converged));
    expect(woken).toEqual([]);
    // When the halt is lifted (a new ledger) and a slot frees up
    book.rebuild(newLedger(targets, SLOTS), undefined);
    book.record(statusOf(book, UNITS / 2 + 1, UnitState.Converged));
    // Then the first pending units are woken, as many as the free slots
    expect(woken).toEqual([keys[UNITS / 2 + SLOTS], keys[UNITS / 2 + SLOTS + 1]]);
  });
});

describe('unit book: what maxUnavailable counts', () => {
  const handoff = (waitingFor: number): UnitStatus['handoff'] => ({
    namespace: 'team-0',
    revision: '1-24-5',
    started: true,
    toLabel: [],
    waitingFor: Array.from({ length: waitingFor }, (_, i) => `Deployment/other-${i}`),
    room: 0,
  });
  const inHandoff = (book: UnitBook, i: number, waitingFor: number): UnitStatus => ({
    ...statusOf(book, i, UnitState.Restarting),
    handoff: handoff(waitingFor),
  });

  it("counts a namespace's handoff restarts, not the units waiting for them, and frees them as the handoff ends", () => {
    const { book } = newBook();
    book.rebuild(newLedger(targets, SLOTS), undefined);
    // two units of team-0 wait for its handoff, which restarts 6 templates; one unit of team-1 restarts
    book.record(inHandoff(book, 0, 6));
    book.record(inHandoff(book, 1, 6));
    book.record(statusOf(book, 500, UnitState.Restarting));
    expect(book.inFlightCount).toBe(7);
    expect(book.handoffRestartsIn('team-0')).toBe(6);
    book.record(inHandoff(book, 0, 2));
    expect(book.inFlightCount).toBe(3);
    // the label is gone: its units are ordinary pending units again
    book.record(statusOf(book, 0, UnitState.Pending));
    book.record(statusOf(book, 1, UnitState.Pending));
    expect(book.inFlightCount).toBe(1);
  });

  it('frees the slots of units the ledger no longer assigns', () => {
    const { book } = newBook();
    book.rebuild(newLedger(targets, SLOTS), undefined);
    book.record(inHandoff(book, 0, 6));
    book.record(statusOf(book, 500, UnitState.Restarting));
    expect(book.inFlightCount).toBe(7);
    book.rebuild(newLedger(targets.slice(1000), SLOTS), undefined);
    expect(book.inFlightCount).toBe(0);
  });
});
