import type { Clock } from './clock.js';

/** A report to send: the whole list, or what changed since the report the bus last took (ADR 0048). */
export type ChainStep<E> =
  | { readonly kind: 'whole'; readonly seq: number; readonly entries: readonly E[] }
  | {
      readonly kind: 'delta';
      readonly seq: number;
      readonly base: number;
      readonly upserted: readonly E[];
      readonly removed: readonly E[];
    };

/** Whether two entries say the same (their own fields, one level deep: entries are flat records). */
function sameEntry(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
}

/**
 * A report place that grows with every report an agent sends, across restarts without storage: its clock in ms,
 * or the last one + 1 (as health generations do, ADR 0038). One per agent, shared by its chains.
 */
export function newSeq(clock: Clock): () => number {
  let seq = 0;
  return () => (seq = Math.max(seq + 1, clock.now()));
}

/**
 * One stream of reports (a rollout's progress, the cluster's health) as the planner holds it: the entries of
 * the last report the bus took and its place. The next report is a delta of what changed since then, or the
 * whole list when there is no such report (none yet, a send that failed: the planner may not have it) or one is
 * asked for. A delta's cost is the list compared once here (no I/O), and on the wire only what changed.
 */
export class ReportChain<E extends object> {
  /** the entries of the report the bus took last, by key; undefined: none (the next report is whole) */
  private held: Map<string, E> | undefined;
  private base = 0;
  /** the report in flight: held once the bus takes it; `delta`: it follows the held one */
  private pending:
    | { readonly seq: number; readonly entries: Map<string, E>; readonly delta: boolean }
    | { readonly seq: number; readonly base: Map<string, E>; readonly changes: Map<string, E | undefined> }
    | undefined;

  constructor(
    private readonly keyOf: (entry: E) => string,
    private readonly nextSeq: () => number,
  ) {}

  /** the report to send for `entries` now; `whole`: the whole list whatever is held */
  next(entries: readonly E[], whole = false): ChainStep<E> {
    const seq = this.nextSeq();
    const now = new Map(entries.map((e) => [this.keyOf(e), e]));
    const held = this.held;
    // until the bus has it, nothing may follow it: a failed send leaves the next one whole
    this.held = undefined;
    const delta = !whole && held !== undefined;
    this.pending = { seq, entries: now, delta };
    if (!delta) return { kind: 'whole', seq, entries };
    const upserted = entries.filter((e) => {
      const before = held.get(this.keyOf(e));
      return before === undefined || !sameEntry(before, e);
    });
    const removed = [...held].filter(([key]) => !now.has(key)).map(([, e]) => e);
    return { kind: 'delta', seq, base: this.base, upserted, removed };
  }

  /**
   * As `next`, when the caller knows which keys may differ from the list it gave last (`changed`; the others are
   * the same): a delta costs those keys, not the list. `entries` is the whole list now, by key (read, not kept).
   */
  nextChanged(entries: ReadonlyMap<string, E>, changed: Iterable<string>, whole = false): ChainStep<E> {
    const held = this.held;
    if (whole || held === undefined) return this.next([...entries.values()], true);
    const seq = this.nextSeq();
    this.held = undefined;
    const changes = new Map<string, E | undefined>();
    const upserted: E[] = [];
    const removed: E[] = [];
    for (const key of changed) {
      if (changes.has(key)) continue;
      const now = entries.get(key);
      const before = held.get(key);
      changes.set(key, now);
      if (now === undefined) {
        if (before !== undefined) removed.push(before);
      } else if (before === undefined || !sameEntry(before, now)) upserted.push(now);
    }
    this.pending = { seq, base: held, changes };
    return { kind: 'delta', seq, base: this.base, upserted, removed };
  }

  /**
   * As `nextChanged`, given the changed entries themselves when none can have gone (an agent's progress changes a
   * few units of thousands at a time); whole, from `all()`, when nothing is held or `whole` is asked for.
   */
  nextChangedEntries(changed: Iterable<E>, all: () => readonly E[], whole = false): ChainStep<E> {
    const held = this.held;
    if (whole || held === undefined) return this.next(all(), true);
    const seq = this.nextSeq();
    this.held = undefined;
    const changes = new Map<string, E | undefined>();
    const upserted: E[] = [];
    for (const e of changed) {
      const key = this.keyOf(e);
      const before = held.get(key);
      if (before !== undefined && sameEntry(before, e)) continue;
      if (!changes.has(key)) upserted.push(e);
      changes.set(key, e);
    }
    this.pending = { seq, base: held, changes };
    return { kind: 'delta', seq, base: this.base, upserted, removed: [] };
  }

  /**
   * The delta `next` gave with `seq` is not sent (it says nothing new): what is held stays held, and the next
   * delta follows the same report. A whole report not sent leaves nothing held.
   */
  discard(seq: number): void {
    const pending = this.pending;
    if (pending?.seq !== seq) return;
    if ('base' in pending) this.held = pending.base;
    else if (pending.delta) this.held = pending.entries;
    this.pending = undefined;
  }

  /** the bus took the report `next` gave with `seq`: the next delta follows it */
  taken(seq: number): void {
    const pending = this.pending;
    if (pending?.seq !== seq) return;
    if ('base' in pending) {
      for (const [key, e] of pending.changes) {
        if (e === undefined) pending.base.delete(key);
        else pending.base.set(key, e);
      }
      this.held = pending.base;
    } else this.held = pending.entries;
    this.base = seq;
    this.pending = undefined;
  }
}
