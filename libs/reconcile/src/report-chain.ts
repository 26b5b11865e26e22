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
    | {
        readonly seq: number;
        readonly entries: Map<string, E>;
        readonly delta: boolean;
        /** entries to put over `entries` once the bus takes the report (`nextChanged`'s delta) */
        readonly changes?: readonly E[];
      }
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
   * The report to send when no entry can have gone and only `changed` ones can differ from those held: a delta of
   * the changed ones that do, at the cost of those alone (`next` compares the whole list); whole, from `all()`,
   * when nothing is held or `whole` is asked for. An agent's progress changes a few units of thousands at a time.
   */
  nextChanged(changed: Iterable<E>, all: () => readonly E[], whole = false): ChainStep<E> {
    const held = this.held;
    if (whole || held === undefined) return this.next(all(), true);
    const seq = this.nextSeq();
    this.held = undefined;
    const upserted = new Map<string, E>();
    for (const e of changed) {
      const key = this.keyOf(e);
      const before = held.get(key);
      if (before === undefined || !sameEntry(before, e)) upserted.set(key, e);
    }
    const changes = [...upserted.values()];
    this.pending = { seq, entries: held, delta: true, changes };
    return { kind: 'delta', seq, base: this.base, upserted: changes, removed: [] };
  }

  /**
   * The delta `next` gave with `seq` is not sent (it says nothing new): what is held stays held, and the next
   * delta follows the same report. A whole report not sent leaves nothing held.
   */
  discard(seq: number): void {
    if (this.pending?.seq !== seq) return;
    if (this.pending.delta) this.held = this.pending.entries;
    this.pending = undefined;
  }

  /** the bus took the report `next` gave with `seq`: the next delta follows it */
  taken(seq: number): void {
    if (this.pending?.seq !== seq) return;
    const { entries, changes = [] } = this.pending;
    for (const e of changes) entries.set(this.keyOf(e), e);
    this.held = entries;
    this.base = seq;
    this.pending = undefined;
  }
}
