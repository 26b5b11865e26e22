import type { Lease } from '@meshwave/store';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { LeaderElection } from './leader-election.js';
import type { PlannerContext } from './planner-context.js';
import { storeDataLost } from './store-era.js';

/** What the planner does when it gains or loses the lease (wired by the facade). */
export interface LeadershipHooks {
  /** runs off the renewal path (renewal never waits for it); `signal` is aborted if the lease is lost meanwhile */
  onElected(lease: Lease, signal: AbortSignal): Promise<void>;
  onDemoted(lease: Lease, why: string): Promise<void>;
}

/** This replica's place in the leader election: who leads, with which epoch, and the leader gauge. */
export class Leadership {
  private readonly election: LeaderElection;
  private haltedBy: string | undefined;

  constructor(
    private readonly context: PlannerContext,
    hooks: LeadershipHooks,
  ) {
    const { config, logger, metrics } = context;
    const holder = config.advertiseUrl ? `${config.instanceId}@${config.advertiseUrl}` : config.instanceId;
    this.election = new LeaderElection({
      store: context.store,
      leaseName: config.leaseName,
      holder,
      ttlMs: config.leaseTtlMs,
      renewEveryMs: config.leaseRenewMs,
      onElected: async (lease, signal) => {
        logger.info({ epoch: lease.epoch }, 'elected leader');
        metrics.leader.set(1);
        metrics.leaderEpoch.set(lease.epoch);
        await hooks.onElected(lease, signal);
      },
      onDemoted: async (lease, why) => {
        logger.warn({ epoch: lease.epoch, why }, 'no longer leader');
        metrics.leader.set(0);
        metrics.leaderEpoch.set(0);
        await hooks.onDemoted(lease, why);
      },
      onError: (e) => logger.warn({ err: e }, 'leader election: store unreachable'),
    });
  }

  start(): void {
    this.election.start();
  }

  stop(): Promise<void> {
    return this.election.stop();
  }

  /** the lease this replica holds, if it leads */
  get current(): Lease | undefined {
    return this.election.current;
  }

  /** whether this replica has learnt who leads yet */
  get known(): boolean {
    return this.election.known;
  }

  isLeader(): boolean {
    return this.election.current !== undefined;
  }

  epoch(): number {
    return this.election.current?.epoch ?? 0;
  }

  /** `holder` of the current lease, whoever holds it */
  async leader(): Promise<string | undefined> {
    return (await this.context.store.leaseHolder(this.context.config.leaseName))?.holder;
  }

  /** why this replica stopped acting for good (the store lost its data, ADR 0025), if it did */
  get halted(): string | undefined {
    return this.haltedBy;
  }

  /**
   * Stops acting and competing for the lease until this process is restarted: the store lost the state this
   * replica knew, and nothing it could decide from what is left is safe. The reason is what the API answers.
   */
  halt(reason: string): void {
    if (this.haltedBy !== undefined) return;
    this.haltedBy = reason;
    this.context.logger.error({ reason }, 'halted: the store lost its data');
    void this.election.stop();
  }

  /** gives the lease up (a write refused for a stale epoch, a failed subscription) */
  lost(why: string): Promise<void> {
    return this.election.lost(why);
  }

  /** the lease for a mutation, or NotLeader (retryable: the API forwards or the client retries) */
  requireLeader(): Lease {
    if (this.haltedBy !== undefined) throw storeDataLost(this.haltedBy);
    const lease = this.election.current;
    if (!lease)
      throw new PlannerError(PlannerErrorCode.NotLeader, 'this replica does not lead; send mutations to the leader', {
        retryable: true,
      });
    return lease;
  }
}
