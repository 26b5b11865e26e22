import { LeaseElection, type Lease, type StateStore } from '@meshwave/store';

export interface LeaderElectionOptions {
  readonly store: StateStore;
  readonly leaseName: string;
  /** unique per process: `<instance>` plus, when set, `@<advertised URL>` so followers can say who leads */
  readonly holder: string;
  readonly ttlMs: number;
  /** how often to try to acquire or renew; well under `ttlMs` */
  readonly renewEveryMs: number;
  /** runs off the renewal path; `signal` is aborted if the lease is lost meanwhile; throwing gives the lease up */
  readonly onElected: (lease: Lease, signal: AbortSignal) => Promise<void>;
  /** the lease is lost (or about to be): stop deciding and publishing (after `onElected` settled) */
  readonly onDemoted: (lease: Lease, why: string) => Promise<void>;
  readonly onError?: (error: unknown) => void;
  readonly now?: () => number;
}

/**
 * The planner's leader election: the store's one lease election (`LeaseElection`, shared with the vm-bridge). The
 * holder renews well before expiry and demotes itself before the lease could have expired, so two planners never
 * both act. The epoch of each acquisition fences every write and command.
 */
export class LeaderElection {
  private readonly election: LeaseElection;

  constructor(options: LeaderElectionOptions) {
    this.election = new LeaseElection(options);
  }

  get current(): Lease | undefined {
    return this.election.current;
  }

  /** true once this process has asked the store who leads (for readiness) */
  get known(): boolean {
    return this.election.known;
  }

  start(): void {
    this.election.start();
  }

  async stop(): Promise<void> {
    await this.election.stop();
  }

  /** Called when a write was refused for a stale epoch: someone else leads now. */
  async lost(why: string): Promise<void> {
    await this.election.lost(why);
  }
}
