import { describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '@meshwave/bus';
import { MessageType, UnitState, type UnitProgressEntry } from '@meshwave/contracts';
import { createManualClock, newSeq } from '@meshwave/reconcile';
import { createProgressStream } from './report-streams.js';
import { UnitBook } from './unit-book.js';
import { countStatusWalks, newLedger, newStatus, newTargets } from './unit-book-fixtures.js';

const UNITS = 2_000;
const targets = newTargets(UNITS);

/** A progress stream over a book of 2,000 pending units, its sent messages, and its walks of the statuses. */
function newStream() {
  const clock = createManualClock();
  const book = new UnitBook({ onProgress: () => undefined, wake: () => undefined });
  const ledger = newLedger(targets, 10);
  book.rebuild(ledger, undefined);
  for (const t of targets) book.record(newStatus(book, t, UnitState.Pending));
  const sent: OutgoingMessage[] = [];
  const stream = createProgressStream({
    cluster: 'c1',
    book,
    clock,
    intervals: { reportResendMs: 30_000, healthMs: 15_000 },
    publisher: {
      publish: (messages) => {
        sent.push(...messages);
        return Promise.resolve(true);
      },
      event: (type, data) => ({ topic: 'events', key: 'cluster/c1', type, data }) as OutgoingMessage,
    },
    ledger: () => ledger,
    seq: newSeq(clock),
  });
  return { book, sent, stream, walks: countStatusWalks(book) };
}

const unitsOf = (m: OutgoingMessage | undefined): UnitProgressEntry[] => {
  const data = m?.data as { units?: UnitProgressEntry[]; upserted?: UnitProgressEntry[] } | undefined;
  return data?.units ?? data?.upserted ?? [];
};

describe('progress report: what a report after a few changes costs', () => {
  it('sends and compares the units that changed, without walking every unit of the cluster', async () => {
    // Given a whole report of 2,000 units the bus took
    const { book, sent, stream, walks } = newStream();
    await stream.updates.flush();
    expect(sent.at(-1)?.type).toBe(MessageType.UnitProgress);
    expect(unitsOf(sent.at(-1))).toHaveLength(UNITS);
    // When 3 units start restarting and one gets a new message alone
    const before = walks();
    for (const t of targets.slice(0, 3)) book.record(newStatus(book, t, UnitState.Restarting));
    book.record(newStatus(book, targets[5]!, UnitState.Pending, 'waiting for istiod'));
    await stream.updates.flush();
    // Then the report is a delta of exactly those units
    expect(sent.at(-1)?.type).toBe(MessageType.UnitProgressDelta);
    const names = unitsOf(sent.at(-1)).map((u) => `${u.name}:${u.state}${u.message ? `:${u.message}` : ''}`);
    const r = UnitState.Restarting;
    const p = UnitState.Pending;
    expect(names.sort()).toEqual([`w-0000:${r}`, `w-0001:${r}`, `w-0002:${r}`, `w-0005:${p}:waiting for istiod`]);
    // and building it looked at those units, not at the other 1,996
    expect(walks() - before).toBeLessThanOrEqual(10);
  });

  it('still finds the units gone after the ledger changed', async () => {
    const { book, sent, stream } = newStream();
    await stream.updates.flush();
    // When the ledger drops the last 100 units
    book.rebuild(newLedger(targets.slice(0, UNITS - 100), 10), undefined);
    book.record(newStatus(book, targets[0]!, UnitState.Restarting));
    await stream.updates.flush();
    // Then the delta says which are gone
    const removed = (sent.at(-1)?.data as { removed?: unknown[] }).removed;
    expect(removed).toHaveLength(100);
    expect(unitsOf(sent.at(-1)).map((u) => u.name)).toEqual(['w-0000']);
  });
});
