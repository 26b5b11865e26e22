import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

// One event-loop delay measurement for every service (issue 15): the cluster-agent, the planner and the vm-bridge
// each judge time (progress deadlines, gates, batch timeouts) and hold those judgements while their loop lags.

/** How far behind the process's event loop runs: what a service trusts its own judgements of time by. */
export interface EventLoopDelay {
  /**
   * The delay now, ms: the worst of the last complete window, the current window and the stall under way (a
   * loop blocked right now has recorded nothing yet; its first timer after the block must see the block).
   */
  delayMs(): number;
  /** p99 and max of the last complete window, ms (for the metric) */
  lastWindow(): { readonly p99Ms: number; readonly maxMs: number };
  /** how long the loop has been blocked right now, ms (0 when it runs on time) */
  stallMs(): number;
  stop(): void;
}

export interface EventLoopDelayOptions {
  /** the window the delay is summarised over (default 1000 ms): a stall counts for one to two windows after it */
  readonly windowMs?: number;
  /** how often the stall probe ticks (default 100 ms) */
  readonly probeMs?: number;
  /** called at the end of each window (a service updates its metric and condition there) */
  readonly onWindow?: () => void;
}

const NS_PER_MS = 1e6;

/** Measures the loop with perf_hooks' histogram plus a probe timer whose lateness shows a stall under way. */
export function monitorLoopDelay(options: EventLoopDelayOptions = {}): EventLoopDelay {
  const windowMs = options.windowMs ?? 1000;
  const probeMs = options.probeMs ?? 100;
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let lastTick = performance.now();
  let windowStart = lastTick;
  let last = { p99Ms: 0, maxMs: 0 };
  const stallMs = (now: number): number => Math.max(0, now - lastTick - probeMs);
  // The histogram's max is 0 until its first sample.
  const currentMaxMs = (): number => histogram.max / NS_PER_MS;

  const probe = setInterval(() => {
    const now = performance.now();
    const stall = stallMs(now);
    lastTick = now;
    if (now - windowStart < windowMs) return;
    last = { p99Ms: histogram.percentile(99) / NS_PER_MS, maxMs: Math.max(currentMaxMs(), stall) };
    histogram.reset();
    windowStart = now;
    options.onWindow?.();
  }, probeMs);
  probe.unref();

  return {
    delayMs: () => Math.max(stallMs(performance.now()), last.maxMs, currentMaxMs()),
    lastWindow: () => last,
    stallMs: () => stallMs(performance.now()),
    stop() {
      clearInterval(probe);
      histogram.disable();
    },
  };
}
