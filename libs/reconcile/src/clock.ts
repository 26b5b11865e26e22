/** A cancellable timer. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Time for everything that waits: reconcile queues, leases, reporters, simulated clusters and fleets. Production
 * uses the system clock; tests and the embedded demo drive a manual one, so hundreds of simulated pods cost no
 * real time. The pure cores never see a clock: they take `now` as a parameter.
 */
export interface Clock {
  /** milliseconds since the epoch */
  now(): number;
  /** runs `fn` once after `ms` (at once for `ms` <= 0) unless cancelled first */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** resolves after `ms`, or early (without error) when `signal` aborts */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** `sleep` for any clock, built on its timers. */
function sleepOn(setTimer: Clock['setTimer'], ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimer(ms, done);
    function done(): void {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

const systemTimer =
  (keepAlive: boolean): Clock['setTimer'] =>
  (ms, fn) => {
    const t = setTimeout(fn, Math.max(0, ms));
    if (!keepAlive) t.unref?.();
    return { cancel: () => clearTimeout(t) };
  };

/**
 * The real clock. A pending timer does not keep the process alive (shutdown is explicit), but a sleep does: a
 * daemon whose loop only sleeps between polls must not exit while it sleeps.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: systemTimer(false),
  sleep: (ms, signal) => sleepOn(systemTimer(true), ms, signal),
};

/** A clock that only moves when told to; timers fire in time order during `advance`. */
export interface ManualClock extends Clock {
  /** moves time forward by `ms`, firing due timers in order and letting promises settle between them */
  advance(ms: number): Promise<void>;
  /** number of timers not yet fired */
  pendingTimers(): number;
}

interface PendingTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

const settle = async (): Promise<void> => {
  // A few macrotask turns let chains of awaited promises (reconcile → port → watch handlers) finish.
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
};

export function createManualClock(startMs = Date.parse('2026-01-01T00:00:00Z')): ManualClock {
  let now = startMs;
  let seq = 0;
  let live = 0;
  // A binary min-heap on (at, seq): the demo keeps thousands of timers pending.
  const heap: PendingTimer[] = [];
  const before = (a: PendingTimer, b: PendingTimer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  const push = (t: PendingTimer): void => {
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  };
  const pop = (): PendingTimer | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  const setTimer: Clock['setTimer'] = (ms, fn) => {
    const t: PendingTimer = { at: now + Math.max(0, ms), seq: seq++, fn, cancelled: false };
    push(t);
    live++;
    return {
      cancel: () => {
        if (!t.cancelled) live--;
        t.cancelled = true;
      },
    };
  };
  return {
    now: () => now,
    setTimer,
    sleep: (ms, signal) => sleepOn(setTimer, ms, signal),
    async advance(ms) {
      const until = now + ms;
      await settle();
      for (;;) {
        const next = heap[0];
        if (!next || next.at > until) break;
        pop();
        if (next.cancelled) continue;
        next.cancelled = true;
        live--;
        now = Math.max(now, next.at);
        next.fn();
        // Settle only when the next due timer is later: timers due at the same instant run back to back.
        const after = heap[0];
        if (!after || after.at !== next.at) await settle();
      }
      now = until;
      await settle();
    },
    pendingTimers: () => live,
  };
}
