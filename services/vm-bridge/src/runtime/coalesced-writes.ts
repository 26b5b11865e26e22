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
 * Items of one group (host reports, registrations) gathered and applied together in one read-decide-write: a flush
 * starts when the group's previous write ended (and `reportFlushMs` after the last flush started, default 0), and
 * a flush queued but not started takes in the items that arrive meanwhile, so thousands of hosts reporting at once
 * make a few writes, and the report that completes a batch is written without waiting for a timer (ADR 0063).
 * Each caller gets its own item's outcome.
 */
export class CoalescedWrites<I, R> {
  private readonly pending = new Map<string, Pending<I, R>>();
  private readonly queued = new Map<string, Promise<void>>();
  private readonly lastFlushAt = new Map<string, number>();

  constructor(
    private readonly ctx: Pick<BridgeContext, 'clock' | 'settings'>,
    private readonly writer: Pick<GroupWriter, 'mutate'>,
    private readonly change: BatchChange<I, R>,
  ) {}

  /** the item waiting under `key` for the group's next flush, if any */
  pendingItem(group: string, key: string): I | undefined {
    return this.pending.get(group)?.items.get(key);
  }

  /** Adds `item` under `key` to the group's next flush (replacing one waiting); resolves with its outcome. */
  submit(group: string, key: string, item: I): Promise<R> {
    let p = this.pending.get(group);
    if (p === undefined) this.pending.set(group, (p = { items: new Map(), waiters: new Map() }));
    p.items.set(key, item);
    const outcome = new Promise<{ result: R } | { error: unknown }>((resolve) => {
      const waiters = p.waiters.get(key) ?? [];
      waiters.push(resolve);
      p.waiters.set(key, waiters);
    });
    void this.flush(group);
    return outcome.then((o) => {
      if ('error' in o) throw o.error;
      return o.result;
    });
  }

  private flush(group: string): Promise<void> {
    const queued = this.queued.get(group);
    if (queued !== undefined) return queued;
    const { clock, settings } = this.ctx;
    const wait = (this.lastFlushAt.get(group) ?? -Infinity) + settings.reportFlushMs - clock.now();
    let drained: Pending<I, R> | undefined;
    const apply = (): Promise<ItemOutcomes<R>> =>
      this.writer.mutate(group, (loaded) => {
        if (drained === undefined) {
          // First attempt: take what is pending now; later items go to the next flush. Retries reuse it.
          this.lastFlushAt.set(group, clock.now());
          this.queued.delete(group);
          drained = this.pending.get(group) ?? { items: new Map(), waiters: new Map() };
          this.pending.delete(group);
        }
        return this.change(loaded, drained.items);
      });
    const flush = (wait > 0 ? clock.sleep(wait) : Promise.resolve()).then(apply).then(
      (outcomes) => this.answer(drained, (key) => outcomes.get(key) ?? { error: new Error(`no outcome for ${key}`) }),
      (error: unknown) => {
        // A flush that failed before it took its items (bridge not active) fails the items pending now.
        if (drained === undefined) {
          this.queued.delete(group);
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
