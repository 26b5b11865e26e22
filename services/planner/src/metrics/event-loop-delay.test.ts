import { describe, expect, it } from 'vitest';
import { EventLoopDelayMonitor } from './event-loop-delay.js';
import { PlannerMetrics } from './planner-metrics.js';

/** Blocks the event loop without burning a core: the thread sleeps, timers wait. */
function blockEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('event-loop delay', () => {
  it('a stalled loop reads as lag past the threshold at once, is exported, and recovery re-judges; the last instant it lagged is kept', async () => {
    const metrics = new PlannerMetrics();
    let recovered = 0;
    let clock = 1_000;
    const monitor = new EventLoopDelayMonitor(
      metrics.eventLoopDelay,
      50,
      100,
      () => recovered++,
      () => clock,
    );
    monitor.start();
    try {
      expect(monitor.load()).toMatchObject({ thresholdMs: 100 });
      expect(monitor.load().starvedAt).toBeUndefined();
      // let the histogram take its first samples, so the stall is one of them
      await new Promise((r) => setTimeout(r, 120));
      blockEventLoop(400);
      // the window's tick is overdue by the stall: starved before the window even closes
      clock = 2_000;
      expect(monitor.load()).toMatchObject({ lagMs: expect.any(Number), starvedAt: 2_000 });
      expect(monitor.load().lagMs).toBeGreaterThan(100);
      // Then the closed window exports the stall and, once a calm window follows, recovery is signalled
      const exported = async (): Promise<number> => (await metrics.eventLoopDelay.get()).values[0]?.value ?? 0;
      while ((await exported()) <= 0.1) await new Promise((r) => setTimeout(r, 10));
      while (recovered === 0) await new Promise((r) => setTimeout(r, 10));
      expect(recovered).toBeGreaterThan(0);
      // silence is counted from the end of the lag (membership): the last instant it was seen starved is kept
      expect(monitor.load().starvedAt).toBe(2_000);
    } finally {
      monitor.stop();
    }
  });
});
