import { DegradedReason } from '@meshwave/contracts';
import { createManualClock } from '@meshwave/reconcile';
import { describe, expect, it } from 'vitest';
import { createApiserverCondition } from './apiserver-condition.js';

describe('apiserver condition', () => {
  it('Given calls failing with network errors and 5xx for 3 s, Then the agent is Degraded (apiserver-unreachable) and says so when it happens, not at the next call', async () => {
    const clock = createManualClock(1_000);
    const c = createApiserverCondition({ clock, afterMs: 3000 });
    const changes: boolean[] = [];
    c.onChange((u) => changes.push(u));
    c.record(0);
    await clock.advance(1000);
    c.record(503);
    expect(c.unreachable()).toBe(false);
    expect(c.report()).toEqual({});
    await clock.advance(2000);
    expect(changes).toEqual([true]);
    expect(c.report()).toEqual({ degraded: { reason: DegradedReason.ApiserverUnreachable, unreachableMs: 3000 } });
  });

  it('Given an unreachable apiserver, When any call gets an answer below 500 (a 404 included), Then it is well again at once', async () => {
    const clock = createManualClock(1_000);
    const c = createApiserverCondition({ clock, afterMs: 3000 });
    const changes: boolean[] = [];
    c.onChange((u) => changes.push(u));
    c.record(0);
    await clock.advance(5000);
    c.record(404);
    expect(changes).toEqual([true, false]);
    expect(c.unreachable()).toBe(false);
    expect(c.report()).toEqual({});
  });

  it('Given a failure followed by a success within the window, Then nothing changes, and a later failure starts a new window', async () => {
    const clock = createManualClock(1_000);
    const c = createApiserverCondition({ clock, afterMs: 3000 });
    const changes: boolean[] = [];
    c.onChange((u) => changes.push(u));
    c.record(0);
    await clock.advance(2000);
    c.record(200);
    c.record(0);
    await clock.advance(2000);
    expect(changes).toEqual([]);
    await clock.advance(1000);
    expect(changes).toEqual([true]);
  });
});
