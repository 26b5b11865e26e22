import { createManualClock, type Clock } from '@meshwave/reconcile';
import { describe, expect, it } from 'vitest';
import { waitReady, type ReadinessProbe } from './proxy-runner.js';

/** A proxy that answers ready from `readyAt` on (ms on `clock`), and counts the probes. */
function newProbe(clock: Clock, readyAt: number): ReadinessProbe & { checks: number } {
  const probe = {
    checks: 0,
    check: async () => {
      probe.checks++;
      return clock.now() >= readyAt ? { ready: true } : { ready: false, detail: 'proxy starting' };
    },
  };
  return probe;
}

describe('waitReady judges readiness on what the probe saw, never on time alone', () => {
  it('a loop stalled past the deadline between two probes still sees the proxy that became ready', async () => {
    // Given a proxy ready 300 ms after its start, and an event loop that stalls 9 s in the first 100 ms pause
    const manual = createManualClock();
    const start = manual.now();
    const stalled: Clock = {
      now: () => manual.now(),
      setTimer: (ms, fn) => manual.setTimer(ms, fn),
      sleep: async (ms) => {
        await manual.advance(ms + 9000);
      },
    };
    const probe = newProbe(stalled, start + 300);

    // When the agent waits at most 5 s for it
    const result = await waitReady(probe, { timeoutMs: 5000, intervalMs: 100, clock: stalled });

    // Then the probe looked again after the deadline and found it ready
    expect(result).toEqual({ ready: true });
    expect(probe.checks).toBe(2);
  });

  it('a proxy that never gets ready fails once the deadline has passed, saying why', async () => {
    const manual = createManualClock();
    const start = manual.now();
    const probe = newProbe(manual, Number.POSITIVE_INFINITY);
    const waiting = waitReady(probe, { timeoutMs: 1000, intervalMs: 100, clock: manual });
    for (let i = 0; i < 20; i++) await manual.advance(100);
    const result = await waiting;
    expect(result.ready).toBe(false);
    expect(result.detail).toBe('not ready within 1s: proxy starting');
    expect(manual.now() - start).toBeGreaterThanOrEqual(1000);
  });
});
