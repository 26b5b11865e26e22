import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Gauge } from 'prom-client';
import type { PlannerLoad } from '../core/judgement-hold.js';

/** the sampling interval of the delay histogram */
const RESOLUTION_MS = 20;

/** Where the planner reads its own event-loop delay when it decides (a fake in tests). */
export interface LoopDelaySource {
  load(): PlannerLoad;
}

/**
 * The planner's event-loop delay (perf_hooks.monitorEventLoopDelay): p99 over each window, exported as
 * `meshwave_event_loop_delay_seconds`. `load()` is the larger of the last window's p99 and how overdue the
 * window's own tick is now, so a loop that is stalled right now counts before its window closes.
 */
export class EventLoopDelayMonitor implements LoopDelaySource {
  private readonly histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private timer: NodeJS.Timeout | undefined;
  private lastTickAt = performance.now();
  private lastP99Ms = 0;

  constructor(
    private readonly gauge: Gauge,
    private readonly windowMs: number,
    private readonly thresholdMs: number,
    /** called when the lag falls back under the threshold: judgements held meanwhile are made again */
    private readonly onRecovered: () => void = () => undefined,
  ) {}

  start(): void {
    if (this.timer) return;
    this.histogram.enable();
    this.lastTickAt = performance.now();
    this.timer = setInterval(() => this.tick(), this.windowMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram.disable();
  }

  load(): PlannerLoad {
    const overdueMs = Math.max(0, performance.now() - this.lastTickAt - this.windowMs);
    return { lagMs: Math.max(this.lastP99Ms, overdueMs), thresholdMs: this.thresholdMs };
  }

  private tick(): void {
    const wasStarved = this.load().lagMs > this.thresholdMs;
    // This tick's own lateness counts too: right after a stall the histogram may not hold the stall's sample yet.
    const lateMs = Math.max(0, performance.now() - this.lastTickAt - this.windowMs);
    // The histogram is in nanoseconds and records the sampling timer's whole interval (resolution included):
    // the delay is what exceeds the resolution. A window without a sample (just enabled) reads as no delay.
    const p99Ms = this.histogram.count > 0 ? Math.max(0, this.histogram.percentile(99) / 1e6 - RESOLUTION_MS) : 0;
    this.lastP99Ms = Math.max(p99Ms, lateMs);
    this.histogram.reset();
    this.lastTickAt = performance.now();
    this.gauge.set(this.lastP99Ms / 1000);
    if (wasStarved && this.lastP99Ms <= this.thresholdMs) this.onRecovered();
  }
}
