import type { Clock, TimerHandle } from './clock.js';

/** Outcome of one reconcile: done, or look again after a while (time-based work such as deadlines). */
export type ReconcileResult = { readonly requeueAfterMs?: number } | void;

export type Reconciler = (key: string) => Promise<ReconcileResult>;

export interface WorkQueueOptions {
  readonly clock: Clock;
  /** reconciles running at once, over different keys */
  readonly concurrency?: number;
  /** first retry delay after an error; doubles up to `maxBackoffMs` */
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly onError?: (key: string, err: unknown, attempt: number) => void;
}

export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, ms: number): void;
  /** resolves when nothing is queued or running (timers may still be pending) */
  idle(): Promise<void>;
  size(): number;
  stop(): void;
}

/**
 * A de-duplicating queue in controller-runtime's style: a key queued twice runs once; a key never runs twice
 * at the same time (added while running, it runs again afterwards); errors retry with capped exponential backoff.
 */
export function createWorkQueue(reconcile: Reconciler, options: WorkQueueOptions): WorkQueue {
  const { clock } = options;
  const concurrency = options.concurrency ?? 4;
  const base = options.baseBackoffMs ?? 200;
  const cap = options.maxBackoffMs ?? 30_000;
  const queued = new Set<string>();
  const order: string[] = [];
  const running = new Set<string>();
  const dirty = new Set<string>();
  const failures = new Map<string, number>();
  const delayed = new Map<string, { at: number; timer: TimerHandle }>();
  let idleWaiters: (() => void)[] = [];
  let stopped = false;

  const checkIdle = (): void => {
    if (order.length === 0 && running.size === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const r of w) r();
    }
  };

  const pump = (): void => {
    while (!stopped && running.size < concurrency) {
      const idx = order.findIndex((k) => !running.has(k));
      if (idx < 0) break;
      const [key] = order.splice(idx, 1);
      if (key === undefined) break;
      queued.delete(key);
      running.add(key);
      void run(key);
    }
    checkIdle();
  };

  const run = async (key: string): Promise<void> => {
    let retryMs: number | undefined;
    try {
      const result = await reconcile(key);
      failures.delete(key);
      if (result && result.requeueAfterMs !== undefined) retryMs = result.requeueAfterMs;
    } catch (err) {
      const attempt = (failures.get(key) ?? 0) + 1;
      failures.set(key, attempt);
      options.onError?.(key, err, attempt);
      retryMs = Math.min(cap, base * 2 ** (attempt - 1));
    } finally {
      running.delete(key);
    }
    if (dirty.delete(key)) queue.add(key);
    else if (retryMs !== undefined) queue.addAfter(key, retryMs);
    pump();
  };

  const queue: WorkQueue = {
    add(key) {
      if (stopped) return;
      if (running.has(key)) {
        dirty.add(key);
        return;
      }
      if (queued.has(key)) return;
      queued.add(key);
      order.push(key);
      pump();
    },
    addAfter(key, ms) {
      if (stopped) return;
      if (ms <= 0) return queue.add(key);
      // Keep the earliest pending wake-up per key.
      const at = clock.now() + ms;
      const existing = delayed.get(key);
      if (existing && existing.at <= at) return;
      existing?.timer.cancel();
      const timer = clock.setTimer(ms, () => {
        delayed.delete(key);
        queue.add(key);
      });
      delayed.set(key, { at, timer });
    },
    idle() {
      if (order.length === 0 && running.size === 0) return Promise.resolve();
      return new Promise((r) => idleWaiters.push(r));
    },
    size: () => order.length + running.size,
    stop() {
      stopped = true;
      for (const d of delayed.values()) d.timer.cancel();
      delayed.clear();
      order.length = 0;
      queued.clear();
      checkIdle();
    },
  };
  return queue;
}
