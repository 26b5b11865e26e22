import { systemClock, type Clock, type TimerHandle } from './clock.js';

/** Outcome of one reconcile: done, or look again after a while (time-based work such as deadlines). */
export type ReconcileResult = { readonly requeueAfterMs?: number } | void;

/** Reconciles one key: re-reads the world for it and acts. A throw is retried with backoff (unless not retryable). */
export type Reconciler = (key: string) => Promise<ReconcileResult>;

export interface KeyQueueOptions {
  /** times retries and `addAfter`; default the system clock */
  readonly clock?: Clock;
  /** reconciles running at once, over different keys; default 4 */
  readonly concurrency?: number;
  /** first retry delay after an error, doubling per failure of the same key up to `maxBackoffMs` */
  readonly baseBackoffMs?: number;
  /** default 30 s */
  readonly maxBackoffMs?: number;
  /** errors for which this returns false are not retried (the key waits for its next event); default: all are */
  readonly retryable?: (error: unknown) => boolean;
  /**
   * A key added without `urgent` runs at most once per this many ms (counted from the start of its last run);
   * adds meanwhile become one run at the end of the interval. For keys whose events come in bursts (a rollout
   * hears from every agent) and whose reconcile costs their size. Default 0: no pacing.
   */
  readonly minIntervalMs?: number;
  /** told of every failure, with the key's consecutive failure count */
  readonly onError?: (key: string, error: unknown, attempt: number) => void;
}

export interface KeyQueue {
  /**
   * Queues `key`. A key already waiting is not queued twice; a key running now runs once more after it
   * finishes. `urgent` puts it first (a failure report must not wait behind routine work).
   */
  add(key: string, urgent?: boolean): void;
  /** Queues `key` after `ms`; of several pending wake-ups for one key the earliest wins. */
  addAfter(key: string, ms: number): void;
  /**
   * Resolves when nothing waits or runs: an add held back by `minIntervalMs` is waiting; other delayed wake-ups
   * (`addAfter`, requeues, retries) may still be pending.
   */
  idle(): Promise<void>;
  /** keys waiting or running */
  size(): number;
  /** Stops taking keys and drops waiting and delayed ones; resolves when the running reconciles finish. */
  stop(): Promise<void>;
  /** Takes keys again after `stop()` (a planner that regains leadership). */
  restart(): void;
}

export const DEFAULT_KEY_QUEUE_CONCURRENCY = 4;
export const DEFAULT_BASE_BACKOFF_MS = 200;
export const DEFAULT_MAX_BACKOFF_MS = 30_000;

/**
 * Puts `key` in line once: last, or first when `urgent` (a key already waiting moves to the front). True when it
 * was not waiting yet.
 */
function enqueue(queued: Set<string>, order: string[], key: string, urgent: boolean): boolean {
  if (queued.has(key)) {
    if (urgent) {
      order.splice(order.indexOf(key), 1);
      order.unshift(key);
    }
    return false;
  }
  queued.add(key);
  if (urgent) order.unshift(key);
  else order.push(key);
  return true;
}

/** `minIntervalMs` per key: when each key's last run started, and the adds held back until its interval ends. */
class Pacer {
  /** keys whose add waits for the end of their interval: they count as waiting for `idle()` */
  readonly held = new Set<string>();
  private readonly lastStart = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly minIntervalMs: number,
  ) {}

  started(key: string): void {
    if (this.minIntervalMs > 0) this.lastStart.set(key, this.clock.now());
  }

  /** how long an add of `key` waits (0: it is queued now) */
  waitFor(key: string): number {
    if (this.minIntervalMs <= 0) return 0;
    return Math.max(0, (this.lastStart.get(key) ?? -Infinity) + this.minIntervalMs - this.clock.now());
  }

  clear(): void {
    this.lastStart.clear();
    this.held.clear();
  }
}

/** Wake-ups of keys after a delay; of several pending for one key the earliest wins. */
class DelayedAdds {
  private readonly timers = new Map<string, { at: number; timer: TimerHandle }>();

  constructor(private readonly clock: Clock) {}

  add(key: string, ms: number, fire: () => void): void {
    const at = this.clock.now() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimer(ms, () => {
      this.timers.delete(key);
      fire();
    });
    this.timers.set(key, { at, timer });
  }

  cancel(key: string): void {
    this.timers.get(key)?.timer.cancel();
    this.timers.delete(key);
  }

  clear(): void {
    for (const d of this.timers.values()) d.timer.cancel();
    this.timers.clear();
  }
}

/** How long a queue's reconciles run back to back before the event loop may turn (timers, sockets, other work). */
const RECONCILE_SLICE_MS = 10;

/**
 * Work in slices: `pause()` resolves at once within a slice of `sliceMs`, and after the event loop's next turn
 * (timers and I/O due meanwhile run first) once the slice is used up.
 */
function slicedWork(sliceMs: number): { pause(): Promise<void>; restart(): void } {
  let sliceStart = performance.now();
  return {
    /** work resumes after a pause of its own (an idle queue): a new slice */
    restart() {
      sliceStart = performance.now();
    },
    async pause() {
      if (performance.now() - sliceStart < sliceMs) return;
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    },
  };
}

/** Runs one reconcile of `key`; returns when to run it again (a requeue it asked for, or its backoff), if ever. */
async function reconcileOnce(
  reconcile: Reconciler,
  key: string,
  failures: Map<string, number>,
  retry: {
    readonly retryable: (error: unknown) => boolean;
    readonly onError: KeyQueueOptions['onError'];
    readonly base: number;
    readonly cap: number;
  },
): Promise<number | undefined> {
  try {
    const result = await reconcile(key);
    failures.delete(key);
    return result?.requeueAfterMs;
  } catch (error) {
    const attempt = (failures.get(key) ?? 0) + 1;
    retry.onError?.(key, error, attempt);
    if (!retry.retryable(error)) {
      failures.delete(key);
      return undefined;
    }
    failures.set(key, attempt);
    return Math.min(retry.cap, retry.base * 2 ** (attempt - 1));
  }
}

/**
 * Reconcile by key, as controller-runtime's workqueue: a key queued twice runs once; a key never runs twice at
 * the same time (added while running, it runs again afterwards); errors retry with capped exponential backoff;
 * a reconcile may ask to be run again after a while (`requeueAfterMs`).
 */
export function createKeyQueue(reconcile: Reconciler, options: KeyQueueOptions = {}): KeyQueue {
  const clock = options.clock ?? systemClock;
  const concurrency = options.concurrency ?? DEFAULT_KEY_QUEUE_CONCURRENCY;
  const base = options.baseBackoffMs ?? DEFAULT_BASE_BACKOFF_MS;
  const cap = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  const retryable = options.retryable ?? ((): boolean => true);
  const queued = new Set<string>();
  const order: string[] = [];
  const running = new Set<string>();
  /** keys added while running, and whether one of those adds was urgent */
  const dirty = new Map<string, boolean>();
  const pacer = new Pacer(clock, options.minIntervalMs ?? 0);
  const failures = new Map<string, number>();
  const delayed = new DelayedAdds(clock);
  const idleWaiters: (() => void)[] = [];
  let stopped = false;
  const slices = slicedWork(RECONCILE_SLICE_MS);

  const busy = (): boolean => order.length > 0 || running.size > 0 || pacer.held.size > 0;
  const checkIdle = (): void => {
    if (!busy()) for (const resolve of idleWaiters.splice(0)) resolve();
  };

  const pump = (): void => {
    if (running.size === 0) slices.restart();
    while (!stopped && running.size < concurrency) {
      const key = order.shift();
      if (key === undefined) break;
      queued.delete(key);
      running.add(key);
      pacer.started(key);
      // this run reads the world as it is now: it serves an add held back for the interval too
      if (pacer.held.delete(key)) delayed.cancel(key);
      void run(key);
    }
    checkIdle();
  };

  const run = async (key: string): Promise<void> => {
    let againMs: number | undefined;
    try {
      againMs = await reconcileOnce(reconcile, key, failures, { retryable, onError: options.onError, base, cap });
      // Reconciles that only read caches and in-memory stores never wait on I/O: a queue of thousands of them (a
      // resync of every unit) would run as one chain of resolved promises, holding every timer and socket of the
      // process meanwhile. After a slice of work the next key waits for a turn of the event loop (issue 15, ADR 0044).
      await slices.pause();
    } finally {
      running.delete(key);
    }
    // Added while it ran: it runs again now, which also serves any retry or requeue it asked for.
    const urgentAgain = dirty.get(key);
    if (dirty.delete(key)) queue.add(key, urgentAgain);
    else if (againMs !== undefined) queue.addAfter(key, againMs);
    pump();
  };

  const queue: KeyQueue = {
    add(key, urgent = false) {
      if (stopped) return;
      if (running.has(key)) {
        dirty.set(key, urgent || dirty.get(key) === true);
        return;
      }
      const wait = urgent || queued.has(key) ? 0 : pacer.waitFor(key);
      if (wait > 0) {
        pacer.held.add(key);
        return queue.addAfter(key, wait);
      }
      if (enqueue(queued, order, key, urgent)) pump();
    },
    addAfter(key, ms) {
      if (stopped) return;
      if (ms <= 0) return queue.add(key);
      delayed.add(key, ms, () => {
        pacer.held.delete(key);
        queue.add(key);
        checkIdle();
      });
    },
    idle() {
      if (!busy()) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    size: () => order.length + running.size,
    async stop() {
      stopped = true;
      delayed.clear();
      order.length = 0;
      queued.clear();
      pacer.clear();
      checkIdle();
      await queue.idle();
    },
    restart() {
      stopped = false;
    },
  };
  return queue;
}
