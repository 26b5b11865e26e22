import { afterEach, describe, expect, it } from 'vitest';
import { monitorLoopDelay, type EventLoopDelay } from './event-loop-delay.js';

const monitors: EventLoopDelay[] = [];
afterEach(() => {
  for (const m of monitors.splice(0)) m.stop();
});

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

describe('event-loop delay', () => {
  it('Given a loop blocked right now, the delay shows the block before any timer has run', () => {
    const m = monitorLoopDelay({ probeMs: 20 });
    monitors.push(m);
    busyWait(300);
    expect(m.delayMs()).toBeGreaterThanOrEqual(250);
  });

  it('Given a block that ended, its delay stays in the window after it, then settles', async () => {
    // What the service reads at the end of each window (where it updates its metric and condition): read there,
    // not after a sleep of our own, which a loaded machine may stretch past the window that holds the block.
    const windows: { maxMs: number; delayMs: number }[] = [];
    const m = monitorLoopDelay({
      probeMs: 10,
      windowMs: 100,
      onWindow: () => windows.push({ maxMs: m.lastWindow().maxMs, delayMs: m.delayMs() }),
    });
    monitors.push(m);
    busyWait(300);
    // Wait for a window with no block in it: the block is forgotten (a state that stays, not a time).
    while (!windows.some((w, i) => i > 0 && w.maxMs < 250)) await new Promise((r) => setTimeout(r, 20));
    expect(windows[0]!.maxMs).toBeGreaterThanOrEqual(250);
    expect(windows[0]!.delayMs).toBeGreaterThanOrEqual(250);
  });
});
