import { describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '@meshwave/bus';
import { MessageType, UnitState, type HealthReport } from '@meshwave/contracts';
import { createManualClock } from '@meshwave/reconcile';
import { createHealthStream } from './report-streams.js';
import { UnitBook } from './unit-book.js';
import { countStatusWalks, newLedger, newStatus, newTargets } from './unit-book-fixtures.js';

const UNITS = 2_000;
const targets = newTargets(UNITS);

/** A health stream over a book of 2,000 pending units, its messages, and its walks of the statuses. */
function newStream(publishes: () => boolean = () => true) {
  const clock = createManualClock();
  const book = new UnitBook({ onProgress: () => undefined, wake: () => undefined });
  book.rebuild(newLedger(targets, 10), undefined);
  for (const t of targets) book.record(newStatus(book, t, UnitState.Pending));
  const sent: OutgoingMessage[] = [];
  const stream = createHealthStream({
    cluster: 'c1',
    book,
    clock,
    intervals: { reportResendMs: 30_000, healthMs: 2_000 },
    condition: () => ({}),
    publisher: {
      publish: (messages) => {
        const ok = publishes();
        if (ok) sent.push(...messages);
        return Promise.resolve(ok);
      },
      event: (type, data) => ({ topic: 'events', key: 'cluster/c1', type, data }) as OutgoingMessage,
    },
  });
  return { book, sent, stream, walks: countStatusWalks(book) };
}

type Units = HealthReport['units'];
const upsertedOf = (m: OutgoingMessage | undefined): Units => (m?.data as { upserted?: Units }).upserted ?? [];
const restarting = (book: UnitBook, i: number) => ({
  ...newStatus(book, targets[i]!, UnitState.Restarting),
  unavailableReplicas: 1,
});

describe('health report: what a report between whole ones costs (issue 15)', () => {
  it('compares the units whose health changed, without walking every unit of the cluster', async () => {
    // Given a whole health report of 2,000 units the bus took
    const { book, sent, stream, walks } = newStream();
    await stream.updates.flush();
    expect(sent.at(-1)?.type).toBe(MessageType.Health);
    // When 3 units lose a replica each
    const before = walks();
    for (const i of [0, 1, 2]) book.record(restarting(book, i));
    await stream.updates.flush();
    // Then the report is a delta of exactly those units, built without walking the other 1,997
    expect(sent.at(-1)?.type).toBe(MessageType.HealthDelta);
    expect(upsertedOf(sent.at(-1)).map((u) => [u.name, u.unavailableReplicas])).toEqual([
      ['w-0000', 1],
      ['w-0001', 1],
      ['w-0002', 1],
    ]);
    expect(walks() - before).toBeLessThanOrEqual(10);
  });

  it('after a report the bus did not take, nothing that changed meanwhile is lost', async () => {
    let up = true;
    const { book, sent, stream } = newStream(() => up);
    await stream.updates.flush();
    up = false;
    book.record(restarting(book, 7));
    await stream.updates.flush().catch(() => undefined);
    up = true;
    book.record(restarting(book, 9));
    await stream.updates.flush();
    // the report after the failed one carries both changes since the report taken last (a whole one: the chain
    // holds nothing to follow after a send that did not go)
    const last = sent.at(-1)?.data as { units?: Units; upserted?: Units };
    const hurt = (last.units ?? last.upserted ?? []).filter((u) => u.unavailableReplicas > 0).map((u) => u.name);
    expect(hurt).toEqual(['w-0007', 'w-0009']);
  });
});
