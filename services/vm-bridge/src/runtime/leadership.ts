import { LeaseElection, type StateStore } from '@meshwave/store';
import type { Logger } from '@meshwave/telemetry';
import { loadGroup } from '../adapters/group-store.js';
import type { BridgeSettings } from '../config/bridge-settings.js';
import type { BridgeContext } from './bridge-context.js';

/**
 * The bridge's lease, on the store's one lease election: one bridge acts at a time, a second waits, and a
 * restarted one takes over when the lease expires. Once held, the election renews it on a timer of its own:
 * renewal never waits for a group's reconcile or the consumer-group join.
 */
export function createBridgeElection(
  store: StateStore,
  settings: BridgeSettings,
  instance: string,
  log: Logger,
): LeaseElection {
  return new LeaseElection({
    store,
    leaseName: settings.leaseName,
    holder: instance,
    ttlMs: settings.leaseTtlMs,
    renewEveryMs: settings.tickMs,
    onDemoted: async (_lease, why) => {
      if (why !== 'stopping')
        log.error({ lease: settings.leaseName, why }, 'lost the lease; stopping work until it is reacquired');
      await Promise.resolve();
    },
    onError: (error) => log.warn({ err: error, lease: settings.leaseName }, 'lease renewal failed'),
  });
}

/** Waits for the lease (a previous holder's must expire first), then indexes every group's hosts. */
export async function waitForLease(ctx: BridgeContext, signal: AbortSignal): Promise<boolean> {
  const { election, settings } = ctx;
  while (!ctx.lifecycle.stopped) {
    await election.tick();
    if (election.current !== undefined) break;
    ctx.log.info({ lease: settings.leaseName }, 'lease held by another bridge; waiting');
    await ctx.clock.sleep(Math.max(100, settings.leaseTtlMs / 5), signal);
  }
  const lease = election.current;
  if (ctx.lifecycle.stopped || lease === undefined) return false;
  election.start();
  ctx.log.info({ epoch: lease.epoch, instance: lease.holder }, 'vm-bridge holds the lease');
  await indexGroups(ctx);
  return true;
}

/**
 * Whether this bridge holds the lease. A lease taken again (a new epoch) needs no indexing here: the group writer
 * reads each group again at a new epoch and indexes its hosts from what it read, in the group's write order.
 */
export function keepLease(ctx: BridgeContext): boolean {
  return ctx.election.current !== undefined;
}

async function indexGroups(ctx: BridgeContext): Promise<void> {
  for (const name of ctx.groups.keys()) ctx.hosts.refresh(await loadGroup(ctx.store, name));
}
