import { randomUUID } from 'node:crypto';
import type { Lease } from '@meshwave/store';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { nowOf, type PlannerContext } from './planner-context.js';
import { StoredEra, parseStoredIfAny } from './stored-documents.js';

/** Where the era marker lives: a scope of its own, so no rollout or fleet write ever touches it. */
export const ERA_SCOPE = 'meshwave';
export const ERA_DOC = 'era';

/** The error every replica answers with once it knows the store lost its data. */
export function storeDataLost(reason: string): PlannerError {
  return new PlannerError(PlannerErrorCode.StoreDataLost, reason, { retryable: false });
}

/**
 * The store's era, as this replica saw it (ADR 0025). The first leader of an empty store writes the marker; every
 * replica reads it at start and every `leaseRenewMs`. Once a replica has seen an era, finding the marker gone or
 * replaced means the store lost its data: the rollouts, reports and admissions this replica knew are gone, and
 * acting on what is left (nothing, or a deposed leader's stray writes) would re-move units or declare success
 * wrongly. `onLost` is told once, with the reason to show.
 */
export class StoreEra {
  private seen: StoredEra | undefined;
  private lostBy: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: Pick<PlannerContext, 'store' | 'config' | 'clock' | 'logger'>,
    private readonly onLost: (reason: string) => void,
  ) {}

  /** why this replica considers the store's data lost, if it does */
  get lost(): string | undefined {
    return this.lostBy;
  }

  start(): void {
    const observe = (): void => {
      if (this.lostBy !== undefined) return;
      this.observe().catch((e: unknown) => {
        // a loss was reported through onLost already; anything else is the store being unreachable for a while
        if (this.lostBy === undefined) this.context.logger.warn({ err: e }, 'reading the store era failed');
      });
    };
    this.timer = setInterval(observe, this.context.config.leaseRenewMs);
    this.timer.unref();
    observe();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads the marker and compares it with the era this replica saw. */
  async observe(): Promise<void> {
    this.check(await this.read());
  }

  /**
   * At election, before acting: the era must be the one this replica saw; an empty store (none seen yet) gets a
   * new one. Throws STORE_DATA_LOST otherwise.
   */
  async confirm(lease: Lease): Promise<void> {
    const era = await this.read();
    this.check(era);
    if (era !== undefined) return;
    const created: StoredEra = {
      id: randomUUID(),
      createdAt: nowOf(this.context).toISOString(),
      createdBy: lease.holder,
    };
    const written = await this.context.store.transition({
      scope: ERA_SCOPE,
      epoch: lease.epoch,
      writes: [{ name: ERA_DOC, value: created, expectedVersion: 0 }],
    });
    // Written meanwhile by another (a leader of a later epoch): that one is the era.
    if (!written.ok) return this.check(await this.read());
    this.context.logger.info({ era: created.id }, 'new store era');
    this.seen = created;
  }

  private async read(): Promise<StoredEra | undefined> {
    return parseStoredIfAny(StoredEra, await this.context.store.read(ERA_SCOPE, ERA_DOC), ERA_DOC);
  }

  private check(era: StoredEra | undefined): void {
    if (this.lostBy !== undefined) throw storeDataLost(this.lostBy);
    if (this.seen === undefined) {
      this.seen = era;
      return;
    }
    if (era?.id === this.seen.id) return;
    this.lostBy =
      `the store lost its data: era ${this.seen.id} (since ${this.seen.createdAt}) is ` +
      (era ? `replaced by ${era.id}` : 'gone') +
      '; this replica stopped acting until it is restarted (recovery: docs/adr/0025-epochs-survive-store-loss.md)';
    this.onLost(this.lostBy);
    throw storeDataLost(this.lostBy);
  }
}
