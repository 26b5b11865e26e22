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
    const windows: number[] = [];
    const m = monitorLoopDelay({ probeMs: 10, windowMs: 100, onWindow: () => windows.push(m.lastWindow().maxMs) });
    monitors.push(m);
    busyWait(300);
    await new Promise((r) => setTimeout(r, 50));
    expect(m.delayMs()).toBeGreaterThanOrEqual(250);
    // Wait for a window with no block in it: the block is forgotten (a state that stays, not a time).
    while (!windows.some((max, i) => i > 0 && max < 250)) await new Promise((r) => setTimeout(r, 20));
    expect(windows[0]).toBeGreaterThanOrEqual(250);
  });
});
