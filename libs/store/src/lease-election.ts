import type { Lease, StateStore } from './state-store.js';

export interface LeaseElectionOptions {
  readonly store: StateStore;
  readonly leaseName: string;
  /** unique per process; followers can read it to say who leads */
  readonly holder: string;
  readonly ttlMs: number;
  /** how often `start` tries to acquire or renew; well under `ttlMs` */
  readonly renewEveryMs: number;
  /**
   * This process now holds `lease`; its epoch fences every write and command it makes. It runs off the renewal
   * path (renewal never waits for it, however long it takes: a consumer-group join can outlast the lease), and
   * `signal` is aborted when the lease is lost meanwhile. If it throws, the lease is given up.
   */
  readonly onElected?: (lease: Lease, signal: AbortSignal) => Promise<void>;
  /** the lease is lost (or about to be): stop deciding and publishing; called after `onElected` has settled */
  readonly onDemoted?: (lease: Lease, why: string) => Promise<void>;
  readonly onError?: (error: unknown) => void;
  readonly now?: () => number;
}

/**
 * Leader election on the store's fenced lease, for every service that needs one replica acting at a time. The
 * holder renews well before expiry; when a renewal is refused, or cannot be confirmed before the lease would have
 * expired, it demotes itself before anyone else can take over, so two replicas never both act. The epoch of each
 * acquisition fences every write and command (ADR 0005).
 *
 * Renewal never waits on other work: `onElected` and `onDemoted` run in order on a chain of their own, and a
 * lease whose validity has lapsed on this side is no longer `current` even before the next renewal says so.
 *
 * Either `start` it (it then renews every `renewEveryMs` by itself) or call `tick` from a loop of your own.
 */
export class LeaseElection {
  private lease: Lease | undefined;
  /** when the current lease is known to expire at the latest, from our side */
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking: Promise<void> = Promise.resolve();
  private leaderKnown = false;
  /** elected and demoted work, one after the other, never awaited by renewal */
  private work: Promise<void> = Promise.resolve();
  /** aborted when the lease the running elected work is for is lost */
  private tenure: AbortController | undefined;
  private readonly now: () => number;

  constructor(private readonly options: LeaseElectionOptions) {
    this.now = options.now ?? Date.now;
  }

  /** the lease this process holds, if any, and only while it cannot have expired */
  get current(): Lease | undefined {
    return this.lease !== undefined && this.now() < this.validUntil ? this.lease : undefined;
  }

  /** true once this process has asked the store who leads (for readiness) */
  get known(): boolean {
    return this.leaderKnown;
  }

  /** settles once the elected and demoted work started so far has (tests, orderly shutdown) */
  async settled(): Promise<void> {
    let work: Promise<void>;
    do {
      work = this.work;
      await work;
    } while (work !== this.work);
  }

  /** Acquires, then renews every `renewEveryMs` until `stop`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /**
   * Stops renewing; with `release` (the default) the lease is demoted and handed back for a successor once the
   * demotion is done. Without, it is left to expire (as a crash would leave it); elected work is still cancelled.
   */
  async stop(options: { readonly release?: boolean } = {}): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    const lease = this.lease;
    if (!lease || options.release === false) {
      this.lease = undefined;
      this.tenure?.abort();
      await this.work;
      return;
    }
    await this.demote('stopping');
    await this.options.store.releaseLease(lease).catch((e: unknown) => this.options.onError?.(e));
  }

  /** Called when a write was refused for a stale epoch: someone else leads now. Settles once demoted. */
  lost(why: string): Promise<void> {
    return this.demote(why);
  }

  /** One round: renews the lease held, or tries to acquire it. Never throws (errors go to `onError`). */
  async tick(): Promise<void> {
    const { store, leaseName, holder, ttlMs } = this.options;
    try {
      if (this.lease) {
        const started = this.now();
        const ok = await store.renewLease(this.lease, ttlMs);
        if (ok) {
          this.validUntil = started + ttlMs;
          return;
        }
        void this.demote('lease renewal refused');
        // fall through: if nobody else took the lease meanwhile, take it again (with a new epoch) at once
      }
      const started = this.now();
      const lease = await store.acquireLease(leaseName, holder, ttlMs);
      this.leaderKnown = true;
      if (lease) this.elect(lease, started + ttlMs);
    } catch (error) {
      this.options.onError?.(error);
      // Unable to confirm the lease: demote before it can have expired, so a new leader never overlaps.
      if (this.lease && this.now() + this.options.renewEveryMs >= this.validUntil)
        void this.demote('lease renewal failed');
    }
  }

  private elect(lease: Lease, validUntil: number): void {
    this.lease = lease;
    this.validUntil = validUntil;
    const tenure = new AbortController();
    this.tenure = tenure;
    const onElected = this.options.onElected;
    if (!onElected) return;
    this.work = this.work
      .then(() => (tenure.signal.aborted ? undefined : onElected(lease, tenure.signal)))
      .catch((error: unknown) => {
        this.options.onError?.(error);
        if (this.lease === lease) void this.demote(`elected work failed: ${messageOf(error)}`);
      });
  }

  /** Drops the lease at once (nothing acts on it from now on), then runs `onDemoted` after the elected work. */
  private demote(why: string): Promise<void> {
    const lease = this.lease;
    if (!lease) return this.work;
    this.lease = undefined;
    this.tenure?.abort();
    const onDemoted = this.options.onDemoted;
    if (onDemoted)
      this.work = this.work.then(() => onDemoted(lease, why)).catch((error: unknown) => this.options.onError?.(error));
    return this.work;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => this.schedule(this.options.renewEveryMs));
    }, ms);
    // The service's own handles (servers, consumers) keep the process alive, never a lease timer alone.
    this.timer.unref?.();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
