// Waiting for a state that stays (an object on the apiserver, a server answering): real servers take real time.

export interface EventuallyOptions {
  /** give up after this long (default 90 s) */
  readonly timeoutMs?: number;
  /** pause between two checks (default 250 ms) */
  readonly intervalMs?: number;
  /** false ends the wait early (the process that should get there has exited) */
  readonly alive?: () => boolean;
}

/**
 * Polls `check` until it returns a truthy value, and returns that value. `check` may throw; the last error is in
 * the timeout's message. A number as `options` is the timeout in milliseconds.
 */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: number | EventuallyOptions = {},
): Promise<T> {
  const {
    timeoutMs = 90_000,
    intervalMs = 250,
    alive,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (alive && !alive()) throw new Error(`${what}: process exited (see its log)`);
    if (Date.now() > deadline) {
      const cause = last instanceof Error ? last.message : last === undefined ? '' : String(last);
      throw new Error(`${what}: not reached in ${timeoutMs} ms${cause ? ` (last error: ${cause})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
