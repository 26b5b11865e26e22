import { monitorLoopDelay, type EventLoopDelay } from '@meshwave/telemetry';
import type { Gauge } from 'prom-client';
import type { PlannerLoad } from '../core/judgement-hold.js';

/** Where the planner reads its own event-loop delay when it decides (a fake in tests). */
export interface LoopDelaySource {
  load(): PlannerLoad;
}

/**
 * The planner's event-loop delay (the services' one measurement, `monitorLoopDelay`): p99 over each window,
 * exported as `meshwave_event_loop_delay_seconds`. `load()` is the larger of the last window's p99 and the stall
 * under way now, so a loop that is stalled right now counts before its window closes.
 */
export class EventLoopDelayMonitor implements LoopDelaySource {
  private monitor: EventLoopDelay | undefined;
  private starved = false;
  /** the last instant (clock ms) the loop was seen lagging past the threshold */
  private starvedAt: number | undefined;

  constructor(
    private readonly gauge: Gauge,
    private readonly windowMs: number,
    private readonly thresholdMs: number,
    /** called when the lag falls back under the threshold: judgements held meanwhile are made again */
    private readonly onRecovered: () => void = () => undefined,
    /** the planner's clock (ms), in which `starvedAt` is told */
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.monitor) return;
    this.monitor = monitorLoopDelay({ windowMs: this.windowMs, onWindow: () => this.onWindow() });
  }

  stop(): void {
    this.monitor?.stop();
    this.monitor = undefined;
  }

  load(): PlannerLoad {
    const m = this.monitor;
    const lagMs = m === undefined ? 0 : Math.max(m.lastWindow().p99Ms, m.stallMs());
    if (lagMs > this.thresholdMs) this.starvedAt = this.now();
    return {
      lagMs,
      thresholdMs: this.thresholdMs,
      ...(this.starvedAt !== undefined ? { starvedAt: this.starvedAt } : {}),
    };
  }

  private onWindow(): void {
    const p99Ms = this.monitor?.lastWindow().p99Ms ?? 0;
    this.gauge.set(p99Ms / 1000);
    const starved = p99Ms > this.thresholdMs;
    if (starved) this.starvedAt = this.now();
    if (this.starved && !starved) this.onRecovered();
    this.starved = starved;
  }
}
