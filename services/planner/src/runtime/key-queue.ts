/**
 * Reconcile-by-key queue, as controller-runtime's workqueue: a key waits at most once (adding it again
 * while it waits changes nothing), one key is handled by one worker at a time (adding it while it runs
 * makes it run once more afterwards), failures are retried with capped exponential backoff.
 */
export interface KeyQueueOptions {
  readonly concurrency: number;
  readonly handle: (key: string) => Promise<void>;
  readonly onError?: (key: string, error: unknown, attempt: number) => void;
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** errors for which this returns false are not retried */
  readonly retryable?: (error: unknown) => boolean;
}

export class KeyQueue {
  private readonly waiting: string[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly attempts = new Map<string, number>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  private active = 0;
  private stopped = false;

  constructor(private readonly options: KeyQueueOptions) {}

  /** Queue `key`; `urgent` puts it first (a failure report must not wait behind routine work). */
  add(key: string, urgent = false): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) {
      if (urgent) {
        this.waiting.splice(this.waiting.indexOf(key), 1);
        this.waiting.unshift(key);
      }
      return;
    }
    this.queued.add(key);
    if (urgent) this.waiting.unshift(key);
    else this.waiting.push(key);
    this.pump();
  }

  get size(): number {
    return this.waiting.length + this.running.size;
  }

  /** Resolves when nothing waits or runs (tests, shutdown). */
  async idle(): Promise<void> {
    if (this.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking keys; resolves when running handlers finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting.length = 0;
    this.queued.clear();
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    await this.idle();
  }

  /** Takes keys again after `stop()`. */
  restart(): void {
    this.stopped = false;
  }

  private pump(): void {
    while (!this.stopped && this.active < this.options.concurrency && this.waiting.length > 0) {
      const key = this.waiting.shift()!;
      this.queued.delete(key);
      this.running.add(key);
      this.active++;
      void this.run(key);
    }
    if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async run(key: string): Promise<void> {
    try {
      await this.options.handle(key);
      this.attempts.delete(key);
    } catch (error) {
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      this.options.onError?.(key, error, attempt);
      if (!this.stopped && (this.options.retryable?.(error) ?? true)) {
        const base = this.options.baseBackoffMs ?? 100;
        const delay = Math.min(this.options.maxBackoffMs ?? 10_000, base * 2 ** (attempt - 1));
        const t = setTimeout(() => {
          this.retryTimers.delete(key);
          this.add(key);
        }, delay);
        t.unref();
        this.retryTimers.set(key, t);
      } else {
        this.attempts.delete(key);
      }
    } finally {
      this.running.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
