import type { InventoryDelta, InventoryReport } from '@meshwave/contracts';
import { applyInventoryDelta, type WorkloadChange } from './inventory-delta.js';

/**
 * A cluster's inventory as stored (ADR 0079): a snapshot (a whole report), a journal of the deltas applied since,
 * and this head, which names both. Every write of the cluster's inventory rewrites the head (small) at the version
 * it read, so the head is what a concurrent write conflicts on; the snapshot is rewritten only by a whole report
 * or a compaction.
 */
export interface InventoryHead {
  /** the inventory's generation: the snapshot's with the journal applied */
  readonly generation: number;
  readonly snapshotGeneration: number;
  /** the generations of the journal's deltas, in the order they apply */
  readonly journal: readonly number[];
  /** the snapshot's size and the journal's (entries: workloads, namespaces, ...), to decide when to compact */
  readonly snapshotSize: number;
  readonly journalSize: number;
  /** when the last report or delta arrived */
  readonly receivedAt: string;
}

/** A journal that reaches this many deltas is compacted, however small they are: a reader applies each. */
export const MAX_JOURNAL_DELTAS = 64;

/** The entries of a report, as the journal counts them against the snapshot: its lists and itself. */
export function reportSize(report: InventoryReport): number {
  return (
    1 +
    report.workloads.length +
    (report.namespaces?.length ?? 0) +
    (report.gateways?.length ?? 0) +
    (report.revisionPods?.length ?? 0) +
    (report.controlPlanes?.length ?? 0)
  );
}

export function deltaSize(delta: InventoryDelta): number {
  return (
    1 +
    delta.upserted.length +
    delta.removed.length +
    (delta.namespaces?.length ?? 0) +
    (delta.gateways?.length ?? 0) +
    (delta.revisionPods?.length ?? 0) +
    (delta.controlPlanes?.length ?? 0)
  );
}

/** The head of a whole report stored as the snapshot: an empty journal. */
export function snapshotHead(report: InventoryReport, receivedAt: string): InventoryHead {
  return {
    generation: report.generation,
    snapshotGeneration: report.generation,
    journal: [],
    snapshotSize: reportSize(report),
    journalSize: 0,
    receivedAt,
  };
}

/**
 * What storing a delta takes, given the inventory held (its head and the snapshot with the journal applied):
 * - `append`: one more journal entry and the new head;
 * - `compact`: the journal would outgrow the snapshot (or pass MAX_JOURNAL_DELTAS): the inventory after the delta
 *   is the new snapshot and the journal (`dropped`) is deleted, so writes cost O(delta) amortised;
 * - `stale` / `gap`: as `applyInventoryDelta` says.
 */
export type JournalWrite =
  | {
      readonly kind: 'append' | 'compact';
      readonly head: InventoryHead;
      readonly report: InventoryReport;
      readonly changes: readonly WorkloadChange[];
      /** the journal's generations the write deletes (compaction) */
      readonly dropped: readonly number[];
    }
  | { readonly kind: 'stale' }
  | { readonly kind: 'gap'; readonly reason: string };

export function planJournalWrite(
  held: { readonly head: InventoryHead; readonly report: InventoryReport } | undefined,
  delta: InventoryDelta,
  receivedAt: string,
): JournalWrite {
  const outcome = applyInventoryDelta(held?.report, delta);
  if (outcome.kind !== 'applied') return outcome;
  // held is defined: a delta applies only on a held report
  const head = held!.head;
  const { report, changes } = outcome;
  const journalSize = head.journalSize + deltaSize(delta);
  if (head.journal.length + 1 > MAX_JOURNAL_DELTAS || journalSize > head.snapshotSize)
    return { kind: 'compact', head: snapshotHead(report, receivedAt), report, changes, dropped: head.journal };
  return {
    kind: 'append',
    head: {
      ...head,
      generation: report.generation,
      journal: [...head.journal, delta.generation],
      journalSize,
      receivedAt,
    },
    report,
    changes,
    dropped: [],
  };
}

/**
 * The inventory a reader sees: `report` (the snapshot, or the inventory already folded up to a generation the
 * journal holds) with the journal's deltas after it applied in order. `deltaAt` gives the stored delta of a
 * generation the head names. A journal that does not chain (never written so: a hand edit) stops where it breaks:
 * `complete` false, and the writer asks the agent for its whole inventory.
 */
export function foldJournal(
  report: InventoryReport,
  head: InventoryHead,
  deltaAt: (generation: number) => InventoryDelta | undefined,
): { readonly report: InventoryReport; readonly complete: boolean } {
  let folded = report;
  const from = folded.generation === head.snapshotGeneration ? 0 : head.journal.indexOf(folded.generation) + 1;
  if (from === 0 && folded.generation !== head.snapshotGeneration) return { report: folded, complete: false };
  for (const generation of head.journal.slice(from)) {
    const delta = deltaAt(generation);
    const outcome = delta === undefined ? undefined : applyInventoryDelta(folded, delta);
    if (outcome?.kind !== 'applied') return { report: folded, complete: false };
    folded = outcome.report;
  }
  return { report: folded, complete: folded.generation === head.generation };
}
