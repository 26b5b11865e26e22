import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * What running the demo cost its process: with the whole fleet in one process this is the figure a user
 * sizes a machine by, and the event-loop delay says whether the process kept up (a starved loop delays every
 * timer and request, the failure mode issue 15 describes).
 */
export interface ProcessStats {
  /** user + system CPU seconds of the process since it started */
  readonly cpuSeconds: number;
  /** peak resident set size, MB */
  readonly peakRssMb: number;
  /** event-loop delay while the demo ran, ms */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
}

/** Starts measuring the event-loop delay; `stop()` returns the process's figures so far. */
export function startProcessStats(): { stop(): ProcessStats } {
  // 20 ms resolution: fine enough for the stalls that matter (hundreds of ms), cheap on a busy loop
  const histogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      const usage = process.resourceUsage();
      const ms = (ns: number): number => Math.round(ns / 1e5) / 10;
      return {
        cpuSeconds: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1e4) / 100,
        peakRssMb: Math.round(usage.maxRSS / 1024),
        loopDelayP99Ms: ms(histogram.percentile(99)),
        loopDelayMaxMs: ms(histogram.max),
      };
    },
  };
}
