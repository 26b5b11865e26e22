import type { InventoryDelta, InventoryReport, InventoryWorkload } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import {
  MAX_JOURNAL_DELTAS,
  foldJournal,
  planJournalWrite,
  snapshotHead,
  type InventoryHead,
} from './inventory-journal.js';

const newWorkload = (name: string, revision: string | null = '1-24-5'): InventoryWorkload => ({
  namespace: 'shop',
  kind: 'Deployment',
  name,
  labels: {},
  revision,
  replicas: 1,
});

const newReport = (generation: number, workloads = 20): InventoryReport => ({
  cluster: 'c1',
  labels: {},
  generation,
  workloads: Array.from({ length: workloads }, (_, i) => newWorkload(`w${i}`)),
});

const newDelta = (base: number, generation: number, upserted: InventoryWorkload[] = []): InventoryDelta => ({
  cluster: 'c1',
  labels: {},
  base,
  generation,
  upserted,
  removed: [],
});

const AT = '2026-12-07T00:00:00Z';

/** deltas base → base+1 → … stored by generation, applied one by one through planJournalWrite */
function newJournal(snapshot: InventoryReport, count: number) {
  let head: InventoryHead = snapshotHead(snapshot, AT);
  let report = snapshot;
  const deltas = new Map<number, InventoryDelta>();
  const kinds: string[] = [];
  for (let i = 0; i < count; i++) {
    const delta = newDelta(report.generation, report.generation + 1, [newWorkload(`w${i % 5}`, `rev-${i}`)]);
    const plan = planJournalWrite({ head, report }, delta, AT);
    if (plan.kind !== 'append' && plan.kind !== 'compact') throw new Error(plan.kind);
    kinds.push(plan.kind);
    if (plan.kind === 'compact') deltas.clear();
    else deltas.set(delta.generation, delta);
    ({ head, report } = plan);
  }
  return { head, report, deltas, kinds };
}

describe('a cluster inventory as a snapshot and a journal (ADR 0079)', () => {
  it('Given a snapshot, When small deltas follow, Then each is appended until the journal would outgrow the snapshot, which is then compacted', () => {
    // a snapshot of 20 workloads (size 21) and deltas of one workload (size 2): 10 appends, the 11th compacts
    const { kinds, head, deltas } = newJournal(newReport(10), 12);
    expect(kinds).toEqual([...Array<string>(10).fill('append'), 'compact', 'append']);
    expect(head).toMatchObject({ generation: 22, snapshotGeneration: 21, journal: [22], journalSize: 2 });
    expect([...deltas.keys()]).toEqual([22]);
  });

  it('Given a large snapshot, When tiny deltas keep coming, Then the journal is compacted at MAX_JOURNAL_DELTAS', () => {
    const { kinds } = newJournal(newReport(10, 2_000), MAX_JOURNAL_DELTAS + 1);
    expect(kinds.indexOf('compact')).toBe(MAX_JOURNAL_DELTAS);
  });

  it('Given a compaction, Then it drops every delta of the journal and the new snapshot is the inventory after the delta', () => {
    const { head, report } = newJournal(newReport(10), 3);
    const delta = newDelta(
      13,
      14,
      Array.from({ length: 30 }, (_, i) => newWorkload(`x${i}`)),
    );
    const plan = planJournalWrite({ head, report }, delta, AT);
    expect(plan).toMatchObject({ kind: 'compact', dropped: [11, 12, 13] });
    if (plan.kind !== 'compact') return;
    expect(plan.head).toEqual(snapshotHead(plan.report, AT));
    expect(plan.report.workloads).toHaveLength(50);
  });

  it('Given a redelivered or a non-following delta, Then it is stale or a gap, and nothing is written', () => {
    const { head, report } = newJournal(newReport(10), 2);
    expect(planJournalWrite({ head, report }, newDelta(11, 12), AT)).toEqual({ kind: 'stale' });
    expect(planJournalWrite({ head, report }, newDelta(13, 14), AT)).toMatchObject({ kind: 'gap' });
    expect(planJournalWrite(undefined, newDelta(12, 13), AT)).toMatchObject({ kind: 'gap' });
  });

  it('Given a journal, When a reader folds it from the snapshot or from a generation it folded before, Then it gets the writer’s inventory', () => {
    const snapshot = newReport(10);
    const { head, report, deltas } = newJournal(snapshot, 6);
    const deltaAt = (g: number) => deltas.get(g);
    expect(foldJournal(snapshot, head, deltaAt)).toEqual({ report, complete: true });
    const partial = newJournal(snapshot, 3);
    expect(foldJournal(partial.report, head, deltaAt)).toEqual({ report, complete: true });
  });

  it('Given a journal with a delta missing, Then the fold stops before it and says it is not complete', () => {
    const snapshot = newReport(10);
    const { head, deltas } = newJournal(snapshot, 4);
    deltas.delete(13);
    const folded = foldJournal(snapshot, head, (g) => deltas.get(g));
    expect(folded.complete).toBe(false);
    expect(folded.report.generation).toBe(12);
    // a folded inventory of a generation the journal does not name (another snapshot's) folds nothing
    expect(foldJournal(newReport(3), head, (g) => deltas.get(g)).complete).toBe(false);
  });
});
