import type { Lease, StateStore } from './state-store.js';

export interface LeaseElectionOptions {
  readonly store: StateStore;
  readonly leaseName: string;
  /** unique per process; followers can read it to say who leads */
  readonly holder: string;
  readonly ttlMs: number;
  /** how often `start` tries to acquire or renew; well under `ttlMs` */
  readonly renewEveryMs: number;
  /** this process now holds `lease`; its epoch fences every write and command it makes */
  readonly onElected?: (lease: Lease) => Promise<void>;
  /** the lease is lost (or about to be): stop deciding and publishing at once */
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

  constructor(private readonly options: LeaseElectionOptions) {}

  /** the lease this process holds, if any */
  get current(): Lease | undefined {
    return this.lease;
  }

  /** true once this process has asked the store who leads (for readiness) */
  get known(): boolean {
    return this.leaderKnown;
  }

  /** Acquires, then renews every `renewEveryMs` until `stop`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops renewing; with `release` (the default) the lease is demoted and handed back for a successor. */
  async stop(options: { readonly release?: boolean } = {}): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    const lease = this.lease;
    if (!lease) return;
    this.lease = undefined;
    if (options.release === false) return;
    await this.options.onDemoted?.(lease, 'stopping');
    await this.options.store.releaseLease(lease).catch((e: unknown) => this.options.onError?.(e));
  }

  /** Called when a write was refused for a stale epoch: someone else leads now. */
  async lost(why: string): Promise<void> {
    const lease = this.lease;
    if (!lease) return;
    this.lease = undefined;
    await this.options.onDemoted?.(lease, why);
  }

  /** One round: renews the lease held, or tries to acquire it. Never throws (errors go to `onError`). */
  async tick(): Promise<void> {
    const now = this.options.now ?? Date.now;
    const { store, leaseName, holder, ttlMs } = this.options;
    try {
      if (this.lease) {
        const started = now();
        const ok = await store.renewLease(this.lease, ttlMs);
        if (ok) {
          this.validUntil = started + ttlMs;
          return;
        }
        await this.lost('lease renewal refused');
        // fall through: if nobody else took the lease meanwhile, take it again (with a new epoch) at once
      }
      const started = now();
      const lease = await store.acquireLease(leaseName, holder, ttlMs);
      this.leaderKnown = true;
      if (lease) {
        this.lease = lease;
        this.validUntil = started + ttlMs;
        await this.options.onElected?.(lease);
      }
    } catch (error) {
      this.options.onError?.(error);
      // Unable to confirm the lease: demote before it can have expired, so a new leader never overlaps.
      if (this.lease && now() + this.options.renewEveryMs >= this.validUntil) await this.lost('lease renewal failed');
    }
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => this.schedule(this.options.renewEveryMs));
    }, ms);
  }
}
