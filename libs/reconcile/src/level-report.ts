import type { Clock, TimerHandle } from './clock.js';

/** A report of current state, sent on change, again after a failure, and again every `resendMs` in any case. */
export interface LevelReportOptions {
  readonly clock: Clock;
  /**
   * Sends the state as it is now; throws (or resolves false) when it did not go out. Each call reads the state
   * afresh, so a retry never sends an old picture. `full`: the periodic resend or the first send after a
   * failure, which carries the whole state (a sender that sends only what changed sends everything then).
   */
  readonly send: (full: boolean) => Promise<boolean | void>;
  /** re-sends this often even when nothing changed (a lost report is repeated); 0: only on change and retry */
  readonly resendMs: number;
  /** first delay after a failed send, doubling per failure up to `maxBackoffMs`; default 500 */
  readonly baseBackoffMs?: number;
  /** default 30 000 */
  readonly maxBackoffMs?: number;
  /** told about each failed send (to log it); the retry is already scheduled */
  readonly onFailure?: (error: unknown, retryInMs: number) => void;
}

export interface LevelReport {
  /**
   * The state changed: send it within `delayMs` (0: at once). A send already due sooner stays as it is; a
   * later one (the periodic resend, a backoff, a debounce) is brought forward.
   */
  request(delayMs?: number): void;
  /** sends now and resolves once that send is over (sent, or failed with its retry scheduled) */
  flush(): Promise<void>;
  /** cancels what is scheduled; a send in flight finishes */
  stop(): void;
}

/**
 * A level-triggered report (controller-runtime's "status is reconstituted from the world"): the receiver gets
 * the whole current state, so one delivered report makes up for any number of lost ones. A failed send is
 * retried with capped exponential backoff until one goes through, and the state is re-sent every `resendMs`
 * even when nothing changed, since a report can also be lost after it left (a receiver that could not take it).
 */
export function createLevelReport(options: LevelReportOptions): LevelReport {
  const { clock } = options;
  const base = options.baseBackoffMs ?? 500;
  const cap = options.maxBackoffMs ?? 30_000;
  let timer: TimerHandle | undefined;
  let dueAt = Number.POSITIVE_INFINITY;
  /** the next send carries the whole state (set by a failure) */
  let fullDue = false;
  /**
   * When the periodic full resend is due. Kept apart from the timer: a change brings the next send forward and
   * cancels the timer, but the send it causes is then the full one, so frequent changes never put it off.
   */
  let nextFullAt = options.resendMs > 0 ? clock.now() + options.resendMs : Number.POSITIVE_INFINITY;
  let failures = 0;
  let sending = false;
  /** a request came in while a send was in flight: send again right after it */
  let again = false;
  let stopped = false;

  const cancel = (): void => {
    timer?.cancel();
    timer = undefined;
    dueAt = Number.POSITIVE_INFINITY;
  };

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    const at = clock.now() + Math.max(0, delayMs);
    if (timer !== undefined && at >= dueAt) return;
    timer?.cancel();
    dueAt = at;
    timer = clock.setTimer(delayMs, () => {
      timer = undefined;
      dueAt = Number.POSITIVE_INFINITY;
      void run();
    });
  };

  const run = async (): Promise<void> => {
    if (stopped) return;
    if (sending) {
      again = true;
      return;
    }
    sending = true;
    const full = fullDue || clock.now() >= nextFullAt;
    fullDue = false;
    let sent = false;
    let failure: unknown;
    try {
      sent = (await options.send(full)) !== false;
    } catch (error) {
      failure = error;
    } finally {
      sending = false;
    }
    if (sent) {
      failures = 0;
      if (full && options.resendMs > 0) nextFullAt = clock.now() + options.resendMs;
      if (options.resendMs > 0) schedule(Math.max(0, nextFullAt - clock.now()));
    } else {
      const backoff = Math.min(cap, base * 2 ** Math.min(failures, 16));
      failures++;
      fullDue = true;
      options.onFailure?.(failure, backoff);
      schedule(backoff);
    }
    if (again) {
      again = false;
      void run();
    }
  };

  return {
    request(delayMs = 0) {
      if (stopped) return;
      if (delayMs > 0) return schedule(delayMs);
      cancel();
      void run();
    },
    flush() {
      cancel();
      return run();
    },
    stop() {
      stopped = true;
      cancel();
    },
  };
}
