import type { GroupChange, GroupWriter } from './group-writer.js';
import type { BridgeContext } from './bridge-context.js';
import type { StoredGroup } from '../adapters/group-store.js';

/** What one flush made of each item: its result, or the error its caller gets. */
export type ItemOutcomes<R> = ReadonlyMap<string, { readonly result: R } | { readonly error: unknown }>;

/** Turns the items gathered for a group (by key; the last one of a key wins) into one change of the group. */
export type BatchChange<I, R> = (
  loaded: StoredGroup,
  items: ReadonlyMap<string, I>,
) => ReturnType<GroupChange<ItemOutcomes<R>>>;

interface Pending<I, R> {
  readonly items: Map<string, I>;
  readonly waiters: Map<string, ((outcome: { result: R } | { error: unknown }) => void)[]>;
}

/**
 * Items of one group (host reports, registrations) gathered and applied together in one read-decide-write, started
 * at most every `reportFlushMs` per group, so thousands of hosts reporting or enrolling at once make a few writes
 * (issue 15). An urgent item (a report of a host in the batch in flight: it may complete or fail the batch) starts
 * its flush as soon as the group's previous write ended, cutting a flush's wait short (ADR 0063). A flush queued
 * but not started takes in the items that arrive meanwhile; each caller gets its own item's outcome.
 */
export class CoalescedWrites<I, R> {
  private readonly pending = new Map<string, Pending<I, R>>();
  private readonly queued = new Map<string, Promise<void>>();
  private readonly lastFlushAt = new Map<string, number>();
  /** ends the wait of the group's queued flush */
  private readonly wakers = new Map<string, () => void>();

  constructor(
    private readonly ctx: Pick<BridgeContext, 'clock' | 'settings'>,
    private readonly writer: Pick<GroupWriter, 'mutate'>,
    private readonly change: BatchChange<I, R>,
  ) {}

  /** the item waiting under `key` for the group's next flush, if any */
  pendingItem(group: string, key: string): I | undefined {
    return this.pending.get(group)?.items.get(key);
  }

  /**
   * Adds `item` under `key` to the group's next flush (replacing one waiting); resolves with its outcome. `urgent`:
   * the flush does not wait for `reportFlushMs`.
   */
  submit(group: string, key: string, item: I, urgent = false): Promise<R> {
    let p = this.pending.get(group);
    if (p === undefined) this.pending.set(group, (p = { items: new Map(), waiters: new Map() }));
    p.items.set(key, item);
    const outcome = new Promise<{ result: R } | { error: unknown }>((resolve) => {
      const waiters = p.waiters.get(key) ?? [];
      waiters.push(resolve);
      p.waiters.set(key, waiters);
    });
    void this.flush(group, urgent);
    return outcome.then((o) => {
      if ('error' in o) throw o.error;
      return o.result;
    });
  }

  private flush(group: string, urgent: boolean): Promise<void> {
    const queued = this.queued.get(group);
    if (queued !== undefined) {
      if (urgent) this.wakers.get(group)?.();
      return queued;
    }
    const { clock, settings } = this.ctx;
    const wait = urgent ? 0 : (this.lastFlushAt.get(group) ?? -Infinity) + settings.reportFlushMs - clock.now();
    let drained: Pending<I, R> | undefined;
    const apply = (): Promise<ItemOutcomes<R>> =>
      this.writer.mutate(group, (loaded) => {
        if (drained === undefined) {
          // First attempt: take what is pending now; later items go to the next flush. Retries reuse it.
          this.lastFlushAt.set(group, clock.now());
          this.queued.delete(group);
          this.wakers.delete(group);
          drained = this.pending.get(group) ?? { items: new Map(), waiters: new Map() };
          this.pending.delete(group);
        }
        return this.change(loaded, drained.items);
      });
    // a sleep (unlike a timer) keeps the process alive: a flush waiting here is a write under way
    const cut = new AbortController();
    if (wait > 0) this.wakers.set(group, () => cut.abort());
    const waited = wait > 0 ? clock.sleep(wait, cut.signal) : Promise.resolve();
    const flush = waited.then(apply).then(
      (outcomes) => this.answer(drained, (key) => outcomes.get(key) ?? { error: new Error(`no outcome for ${key}`) }),
      (error: unknown) => {
        // A flush that failed before it took its items (bridge not active) fails the items pending now.
        if (drained === undefined) {
          this.queued.delete(group);
          this.wakers.delete(group);
          drained = this.pending.get(group);
          this.pending.delete(group);
        }
        this.answer(drained, () => ({ error }));
      },
    );
    this.queued.set(group, flush);
    return flush;
  }

  private answer(
    drained: Pending<I, R> | undefined,
    outcomeOf: (key: string) => { result: R } | { error: unknown },
  ): void {
    for (const [key, waiters] of drained?.waiters ?? []) for (const resolve of waiters) resolve(outcomeOf(key));
  }
}
