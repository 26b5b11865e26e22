import type { StateStore, VersionedDoc } from '@meshwave/store';
import type { z } from 'zod';
import { foldJournal, snapshotHead, type InventoryHead } from '../core/inventory-journal.js';
import { StoredInventoryCluster, StoredInventoryDelta, StoredInventoryHead } from './stored-documents.js';

// A cluster's inventory in the fleet scope (ADR 0079): the snapshot (a whole report, as before), a head naming the
// journal of deltas applied since, and one small document per delta. A delta's write is the head and the delta.

export const InventoryDoc = {
  snapshot: (cluster: string): string => `inventory/cluster/${cluster}`,
  head: (cluster: string): string => `inventory/head/${cluster}`,
  delta: (cluster: string, generation: number): string => `inventory/delta/${cluster}/${generation}`,
} as const;

/** Parses a stored document once per version (`ValidatedDocs.parse`). */
interface DocParser {
  parse<S extends z.ZodType>(schema: S, scope: string, name: string, doc: VersionedDoc): z.infer<S>;
}

/** A cluster's inventory as read: the snapshot with the journal applied, and the versions it was read at. */
export interface HeldInventory {
  readonly snapshotVersion: number;
  /** 0: no head is stored (an inventory stored before ADR 0079: the snapshot alone) */
  readonly headVersion: number;
  readonly head: InventoryHead;
  /** the inventory (`receivedAt`: the last report's or delta's) */
  readonly value: StoredInventoryCluster;
  /** false: the journal does not chain (never written so); a delta then asks for the whole inventory */
  readonly complete: boolean;
  /**
   * the journal a stored head of another snapshot names (the snapshot was written without it): entries no reader
   * applies, deleted by the next write of a snapshot
   */
  readonly staleJournal?: readonly number[];
}

/**
 * The clusters' inventories this process folded, by cluster: a read after a delta applies only the journal's
 * entries it has not applied yet, not the whole journal on the snapshot.
 */
export class InventoryFolds {
  private readonly held = new Map<string, HeldInventory>();

  get(cluster: string): HeldInventory | undefined {
    return this.held.get(cluster);
  }

  set(cluster: string, held: HeldInventory): void {
    this.held.set(cluster, held);
  }

  forget(cluster: string): void {
    this.held.delete(cluster);
  }

  /** drops the clusters no longer stored */
  retain(clusters: ReadonlySet<string>): void {
    for (const cluster of this.held.keys()) if (!clusters.has(cluster)) this.held.delete(cluster);
  }
}

/** `cluster`'s inventory from the fleet scope's documents `docs` (undefined: none stored). */
export function reportedInventory(
  docs: ReadonlyMap<string, VersionedDoc>,
  scope: string,
  cluster: string,
  validated: DocParser,
  folds: InventoryFolds,
): HeldInventory | undefined {
  const snapshotName = InventoryDoc.snapshot(cluster);
  const snapshotDoc = docs.get(snapshotName);
  if (snapshotDoc === undefined) return undefined;
  const headName = InventoryDoc.head(cluster);
  const headDoc = docs.get(headName);
  const cached = folds.get(cluster);
  if (cached?.snapshotVersion === snapshotDoc.version && cached.headVersion === (headDoc?.version ?? 0)) return cached;
  const snapshot = validated.parse(StoredInventoryCluster, scope, snapshotName, snapshotDoc);
  const head = headDoc === undefined ? undefined : validated.parse(StoredInventoryHead, scope, headName, headDoc);
  let held: HeldInventory;
  // a head of another snapshot: the snapshot was written without it (a planner from before ADR 0079) and is newer
  if (head === undefined || head.snapshotGeneration !== snapshot.report.generation)
    held = {
      snapshotVersion: snapshotDoc.version,
      headVersion: headDoc?.version ?? 0,
      head: snapshotHead(snapshot.report, snapshot.receivedAt),
      value: snapshot,
      complete: true,
      ...(head !== undefined && head.journal.length > 0 ? { staleJournal: head.journal } : {}),
    };
  else {
    const deltaAt = (generation: number): StoredInventoryDelta['delta'] | undefined => {
      const name = InventoryDoc.delta(cluster, generation);
      const doc = docs.get(name);
      return doc === undefined ? undefined : validated.parse(StoredInventoryDelta, scope, name, doc).delta;
    };
    // from what this process folded of the same snapshot, else from the snapshot
    let folded =
      cached?.snapshotVersion === snapshotDoc.version && cached.complete
        ? foldJournal(cached.value.report, head, deltaAt)
        : undefined;
    if (folded === undefined || !folded.complete) folded = foldJournal(snapshot.report, head, deltaAt);
    held = {
      snapshotVersion: snapshotDoc.version,
      headVersion: headDoc!.version,
      head,
      value: { report: folded.report, receivedAt: head.receivedAt },
      complete: folded.complete,
    };
  }
  folds.set(cluster, held);
  return held;
}

/** `cluster`'s inventory read from the store (its snapshot, head and journal), when this process holds none. */
export async function readInventory(
  store: Pick<StateStore, 'read'>,
  scope: string,
  cluster: string,
  validated: DocParser,
  folds: InventoryFolds,
): Promise<HeldInventory | undefined> {
  // the head first: a snapshot compacted after it is then of another generation, and the write that follows
  // conflicts on the head's version (and is retried with a read)
  const head = await store.read(scope, InventoryDoc.head(cluster));
  const snapshot = await store.read(scope, InventoryDoc.snapshot(cluster));
  if (snapshot === undefined) return undefined;
  const docs = new Map<string, VersionedDoc>([[InventoryDoc.snapshot(cluster), snapshot]]);
  if (head !== undefined) {
    docs.set(InventoryDoc.head(cluster), head);
    const { journal } = validated.parse(StoredInventoryHead, scope, InventoryDoc.head(cluster), head);
    const deltas = await Promise.all(journal.map((g) => store.read(scope, InventoryDoc.delta(cluster, g))));
    journal.forEach((g, i) => {
      const doc = deltas[i];
      if (doc !== undefined) docs.set(InventoryDoc.delta(cluster, g), doc);
    });
  }
  folds.forget(cluster);
  return reportedInventory(docs, scope, cluster, validated, folds);
}
