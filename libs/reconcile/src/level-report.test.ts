import { describe, expect, it } from 'vitest';
import { createManualClock } from './clock.js';
import { createLevelReport } from './level-report.js';

/** A receiver behind a link that drops the first `drops` sends; it keeps what arrived. */
function newLink(drops: number): { received: string[]; send: (state: string) => Promise<void> } {
  const received: string[] = [];
  let dropped = 0;
  return {
    received,
    send: async (state) => {
      if (dropped < drops) {
        dropped++;
        throw new Error('broker unreachable');
      }
      received.push(state);
    },
  };
}

describe('level report', () => {
  it('Given a send that fails once, When nothing changes afterwards, Then the state still arrives', async () => {
    const clock = createManualClock();
    const link = newLink(1);
    const state = 'converged';
    const report = createLevelReport({ clock, resendMs: 0, send: () => link.send(state) });
    report.request(0);
    await clock.advance(0);
    expect(link.received).toEqual([]);
    // no further change: only the retry can deliver it
    await clock.advance(60_000);
    expect(link.received).toEqual(['converged']);
    report.stop();
  });

  it('Given failures in a row, When retried, Then the delays double up to the cap and the newest state is sent', async () => {
    const clock = createManualClock(0);
    const link = newLink(3);
    let state = 'restarting';
    const delays: number[] = [];
    const report = createLevelReport({
      clock,
      resendMs: 0,
      baseBackoffMs: 100,
      maxBackoffMs: 300,
      send: () => link.send(state),
      onFailure: (_e, retryInMs) => delays.push(retryInMs),
    });
    report.request(0);
    state = 'converged';
    await clock.advance(10_000);
    expect(delays).toEqual([100, 200, 300]);
    expect(link.received).toEqual(['converged']);
    report.stop();
  });

  it('Given a delivered report the receiver lost, When resendMs passes, Then the whole state is sent again', async () => {
    const clock = createManualClock();
    const link = newLink(0);
    const report = createLevelReport({ clock, resendMs: 30_000, send: () => link.send('converged') });
    report.request(0);
    await clock.advance(0);
    link.received.length = 0; // the receiver could not take it
    await clock.advance(30_000);
    expect(link.received).toEqual(['converged']);
    report.stop();
  });

  it('Given changes more often than resendMs, When resendMs passes, Then the next send is still a full one', async () => {
    const clock = createManualClock();
    const calls: boolean[] = [];
    const report = createLevelReport({
      clock,
      resendMs: 30_000,
      send: async (full) => {
        calls.push(full);
      },
    });
    // a change every 10 s for 2 minutes: each cancels the pending resend timer
    for (let t = 0; t < 12; t++) {
      report.request(0);
      await clock.advance(10_000);
    }
    expect(calls.filter((full) => full).length).toBeGreaterThanOrEqual(3);
    report.stop();
  });

  it('Given a debounced send pending, When a request asks for now, Then it goes at once, and a later request does not delay it', async () => {
    const clock = createManualClock();
    const link = newLink(0);
    let n = 0;
    const report = createLevelReport({ clock, resendMs: 0, send: () => link.send(`report ${++n}`) });
    report.request(500);
    report.request(0);
    await clock.advance(0);
    expect(link.received).toEqual(['report 1']);
    report.request(500);
    report.request(10_000);
    await clock.advance(500);
    expect(link.received).toEqual(['report 1', 'report 2']);
    report.stop();
  });

  it('Given a sender of changes only, When it retries a failure or resends, Then it is told to send everything', async () => {
    const clock = createManualClock();
    const calls: boolean[] = [];
    let fail = true;
    const report = createLevelReport({
      clock,
      resendMs: 30_000,
      send: async (full) => {
        calls.push(full);
        if (fail) throw new Error('broker unreachable');
      },
    });
    report.request(0);
    fail = false;
    await clock.advance(1_000); // the retry
    report.request(0); // a change
    await clock.advance(30_000); // the resend
    expect(calls).toEqual([false, true, false, true]);
    report.stop();
  });
});
