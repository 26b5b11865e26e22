/** A cancellable timer. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Time for everything that waits: the simulated cluster, the reconcile queue, reporters. Production uses the
 * system clock; tests and the embedded demo drive a manual one, so hundreds of simulated pods cost no real time.
 */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
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
  const timers: PendingTimer[] = [];
  return {
    now: () => now,
    setTimer(ms, fn) {
      const t: PendingTimer = { at: now + Math.max(0, ms), seq: seq++, fn, cancelled: false };
      timers.push(t);
      return {
        cancel: () => {
          t.cancelled = true;
        },
      };
    },
    async advance(ms) {
      const until = now + ms;
      await settle();
      for (;;) {
        let next: PendingTimer | undefined;
        for (const t of timers) {
          if (t.cancelled || t.at > until) continue;
          if (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t;
        }
        if (!next) break;
        timers.splice(timers.indexOf(next), 1);
        now = Math.max(now, next.at);
        next.fn();
        await settle();
      }
      for (let i = timers.length - 1; i >= 0; i--) if (timers[i]?.cancelled) timers.splice(i, 1);
      now = until;
      await settle();
    },
    pendingTimers: () => timers.filter((t) => !t.cancelled).length,
  };
}
