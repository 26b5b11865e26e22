import { describe, expect, it } from 'vitest';
import { createManualClock, systemClock } from './clock.js';

describe('clock', () => {
  it('Given a manual clock, When time advances, Then timers fire in time order and cancelled ones never', async () => {
    const clock = createManualClock(1_000);
    const fired: string[] = [];
    clock.setTimer(300, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(100, () => fired.push(`a@${clock.now()}`));
    clock.setTimer(200, () => fired.push('cancelled')).cancel();
    expect(clock.pendingTimers()).toBe(2);
    await clock.advance(250);
    expect(fired).toEqual(['a@1100']);
    await clock.advance(50);
    expect(fired).toEqual(['a@1100', 'b@1300']);
    expect(clock.now()).toBe(1_300);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('Given a sleep on a manual clock, When time reaches its end, Then it resolves, and not before', async () => {
    const clock = createManualClock(0);
    let woke = false;
    const sleeping = clock.sleep(1_000).then(() => (woke = true));
    await clock.advance(999);
    expect(woke).toBe(false);
    await clock.advance(1);
    await sleeping;
    expect(woke).toBe(true);
  });

  it('Given a sleep, When its signal aborts, Then it resolves at once and leaves no timer behind', async () => {
    const clock = createManualClock(0);
    const abort = new AbortController();
    const sleeping = clock.sleep(60_000, abort.signal);
    abort.abort();
    await sleeping;
    expect(clock.now()).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
    abort.abort();
    await clock.sleep(60_000, abort.signal); // already aborted: returns at once
  });

  it('Given the system clock, When a sleep is aborted, Then it resolves without waiting', async () => {
    const abort = new AbortController();
    const sleeping = systemClock.sleep(3_600_000, abort.signal);
    abort.abort();
    await sleeping;
    expect(systemClock.now()).toBeGreaterThan(Date.parse('2020-01-01T00:00:00Z'));
  });
});
