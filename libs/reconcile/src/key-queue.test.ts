import { describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from './clock.js';
import { createKeyQueue, type KeyQueueOptions, type ReconcileResult } from './key-queue.js';

/** A reconcile that waits until the test releases it. */
interface Gate {
  readonly opened: Promise<void>;
  open(): void;
}
const newGate = (): Gate => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

interface Harness {
  readonly clock: ManualClock;
  /** every reconcile, as `key@ms` when it started */
  readonly runs: string[];
  /** keys running now */
  readonly active: Set<string>;
  /** the most keys that ran at once, per key (must stay 1) */
  readonly maxPerKey: Map<string, number>;
}

/** A queue whose reconcile records each run and then does what `behaviour` says for that key. */
const newQueue = (
  behaviour: (key: string, run: number) => Promise<ReconcileResult> | ReconcileResult = () => undefined,
  options: Omit<KeyQueueOptions, 'clock'> = {},
): Harness & { queue: ReturnType<typeof createKeyQueue> } => {
  const clock = createManualClock(0);
  const runs: string[] = [];
  const active = new Set<string>();
  const maxPerKey = new Map<string, number>();
  const counts = new Map<string, number>();
  const queue = createKeyQueue(
    async (key) => {
      maxPerKey.set(key, Math.max(maxPerKey.get(key) ?? 0, active.has(key) ? 2 : 1));
      active.add(key);
      runs.push(`${key}@${clock.now()}`);
      const run = (counts.get(key) ?? 0) + 1;
      counts.set(key, run);
      try {
        return await behaviour(key, run);
      } finally {
        active.delete(key);
      }
    },
    { clock, ...options },
  );
  return { clock, runs, active, maxPerKey, queue };
};

describe('key queue', () => {
  it('Given hundreds of keys whose reconcile never waits on I/O, When they run, Then timers run meanwhile', async () => {
    // a resync of every unit of a cluster: reconciles that read a cache and an in-memory store only (issue 15)
    const keys = Array.from({ length: 300 }, (_, i) => `unit-${i}`);
    // each reconcile costs a millisecond of work: the queue holds the loop for 300 ms in all
    const h = newQueue(
      async () => {
        const until = performance.now() + 1;
        while (performance.now() < until);
      },
      { concurrency: 4 },
    );
    let runsWhenTimerRan: number | undefined;
    // Given: a timer due at once (a lease renewal, an HTTP answer)
    setTimeout(() => (runsWhenTimerRan = h.runs.length), 0);
    // When
    for (const k of keys) h.queue.add(k);
    await h.queue.idle();
    // Then: every key ran, and the timer did not wait for all of them
    expect(h.runs).toHaveLength(keys.length);
    expect(runsWhenTimerRan).toBeLessThan(keys.length);
  });

  it('Given a key waiting behind a busy worker, When it is added again, Then it runs once', async () => {
    const gate = newGate();
    const h = newQueue((key) => (key === 'busy' ? gate.opened : undefined), { concurrency: 1 });
    h.queue.add('busy');
    h.queue.add('k');
    h.queue.add('k');
    expect(h.queue.size()).toBe(2);
    gate.open();
    await h.queue.idle();
    expect(h.runs).toEqual(['busy@0', 'k@0']);
  });

  it('Given a key running, When it is added twice more, Then it never runs twice at once and runs once more afterwards', async () => {
    const gate = newGate();
    const h = newQueue((_key, run) => (run === 1 ? gate.opened : undefined), { concurrency: 4 });
    h.queue.add('k');
    h.queue.add('k');
    h.queue.add('k');
    gate.open();
    await h.queue.idle();
    expect(h.runs).toEqual(['k@0', 'k@0']);
    expect(h.maxPerKey.get('k')).toBe(1);
  });

  it('Given different keys, When they are added, Then at most `concurrency` run at once', async () => {
    const gate = newGate();
    let most = 0;
    const h = newQueue(
      async () => {
        most = Math.max(most, h.active.size);
        await gate.opened;
      },
      { concurrency: 2 },
    );
    for (const k of ['a', 'b', 'c', 'd']) h.queue.add(k);
    expect(h.queue.size()).toBe(4);
    gate.open();
    await h.queue.idle();
    expect(most).toBe(2);
    expect(h.runs.map((r) => r.split('@')[0]).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('Given an urgent key, When the worker frees, Then it runs before keys queued earlier', async () => {
    const gate = newGate();
    const h = newQueue((key) => (key === 'busy' ? gate.opened : undefined), { concurrency: 1 });
    h.queue.add('busy');
    h.queue.add('routine');
    h.queue.add('failure-report');
    h.queue.add('failure-report', true);
    h.queue.add('late', true);
    gate.open();
    await h.queue.idle();
    expect(h.runs.map((r) => r.split('@')[0])).toEqual(['busy', 'late', 'failure-report', 'routine']);
  });

  it('Given a reconcile that keeps failing, When time passes, Then it retries with exponential backoff capped at the maximum', async () => {
    const errors: number[] = [];
    const h = newQueue(
      () => {
        throw new Error('apiserver unreachable');
      },
      { baseBackoffMs: 100, maxBackoffMs: 400, onError: (_key, _error, attempt) => errors.push(attempt) },
    );
    h.queue.add('k');
    await h.clock.advance(1_500);
    expect(h.runs).toEqual(['k@0', 'k@100', 'k@300', 'k@700', 'k@1100', 'k@1500']);
    expect(errors).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('Given a key that failed, When it then succeeds, Then its next failure starts from the base backoff again', async () => {
    const h = newQueue(
      (_key, run) => {
        if (run !== 3) throw new Error(`run ${run} fails`);
      },
      { baseBackoffMs: 100, maxBackoffMs: 10_000 },
    );
    h.queue.add('k');
    await h.clock.advance(300); // runs at 0 (fails), 100 (fails), 300 (succeeds)
    h.queue.add('k'); // run 4 fails at 300, retried 100 ms later: the count started again
    await h.clock.advance(100);
    expect(h.runs).toEqual(['k@0', 'k@100', 'k@300', 'k@300', 'k@400']);
  });

  it('Given an error that is not retryable, When the reconcile throws it, Then the key waits for its next add', async () => {
    const h = newQueue(
      () => {
        throw new Error('the spec is invalid');
      },
      { retryable: () => false },
    );
    h.queue.add('k');
    await h.clock.advance(60_000);
    expect(h.runs).toEqual(['k@0']);
    expect(h.clock.pendingTimers()).toBe(0);
    h.queue.add('k');
    await h.queue.idle();
    expect(h.runs).toEqual(['k@0', 'k@60000']);
  });

  it('Given a minimum interval, When a burst of adds arrives, Then the key runs at once and then once per interval', async () => {
    const h = newQueue(undefined, { minIntervalMs: 250 });
    h.queue.add('k');
    await h.queue.idle();
    for (let i = 0; i < 50; i++) h.queue.add('k');
    await h.clock.advance(249);
    expect(h.runs).toEqual(['k@0']);
    await h.clock.advance(1);
    expect(h.runs).toEqual(['k@0', 'k@250']);
    await h.clock.advance(1_000);
    expect(h.runs).toEqual(['k@0', 'k@250']);
  });

  it('Given an add held back by the interval, When someone waits for idle, Then the wait ends only after it ran', async () => {
    const h = newQueue(undefined, { minIntervalMs: 250 });
    h.queue.add('k');
    await h.queue.idle();
    h.queue.add('k');
    let idle = false;
    void h.queue.idle().then(() => (idle = true));
    await h.clock.advance(249);
    expect(idle).toBe(false);
    await h.clock.advance(1);
    await h.queue.idle();
    expect(idle).toBe(true);
    expect(h.runs).toEqual(['k@0', 'k@250']);
  });

  it('Given a minimum interval, When an urgent add arrives meanwhile, Then it runs at once', async () => {
    const gate = newGate();
    const h = newQueue((_key, run) => (run === 2 ? gate.opened : undefined), { minIntervalMs: 250 });
    h.queue.add('k');
    await h.queue.idle();
    h.queue.add('k');
    h.queue.add('k', true);
    await Promise.resolve();
    expect(h.runs).toEqual(['k@0', 'k@0']);
    // urgent while running: runs again as soon as the run ends, not at the end of the interval
    h.queue.add('k', true);
    gate.open();
    await h.queue.idle();
    expect(h.runs).toEqual(['k@0', 'k@0', 'k@0']);
  });

  it('Given a reconcile asking to look again later, When that time comes, Then the key runs again', async () => {
    const h = newQueue((_key, run) => (run === 1 ? { requeueAfterMs: 1_000 } : undefined));
    h.queue.add('k');
    await h.clock.advance(999);
    expect(h.runs).toEqual(['k@0']);
    await h.clock.advance(1);
    expect(h.runs).toEqual(['k@0', 'k@1000']);
  });

  it('Given two delayed adds of one key, When time passes, Then the earliest wins and the key runs once', async () => {
    const h = newQueue();
    h.queue.addAfter('k', 500);
    h.queue.addAfter('k', 200);
    h.queue.addAfter('k', 900);
    await h.clock.advance(1_000);
    expect(h.runs).toEqual(['k@200']);
  });

  it('Given waiting, delayed and running keys, When the queue stops, Then it resolves after the running one and drops the rest', async () => {
    const gate = newGate();
    const h = newQueue((key) => (key === 'running' ? gate.opened : undefined), { concurrency: 1 });
    h.queue.add('running');
    h.queue.add('waiting');
    h.queue.addAfter('delayed', 100);
    let stopped = false;
    const stopping = h.queue.stop().then(() => (stopped = true));
    await h.clock.advance(0);
    expect(stopped).toBe(false);
    gate.open();
    await stopping;
    await h.clock.advance(1_000);
    h.queue.add('after-stop');
    expect(h.runs).toEqual(['running@0']);
    expect(h.queue.size()).toBe(0);

    h.queue.restart();
    h.queue.add('after-restart');
    await h.queue.idle();
    expect(h.runs).toEqual(['running@0', 'after-restart@1000']);
  });

  it('Given someone waiting for idle, When the queue stops with nothing running, Then the wait ends', async () => {
    const gate = newGate();
    const h = newQueue(() => gate.opened, { concurrency: 1 });
    h.queue.add('a');
    h.queue.add('b');
    const idle = h.queue.idle();
    gate.open();
    await h.queue.stop();
    await idle;
    expect(h.runs).toEqual(['a@0']);
  });
});
