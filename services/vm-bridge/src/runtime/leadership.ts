import { LeaseElection, type StateStore } from '@meshwave/store';
import type { Logger } from '@meshwave/telemetry';
import { loadGroup } from '../adapters/group-store.js';
import type { BridgeSettings } from '../config/bridge-settings.js';
import type { BridgeContext } from './bridge-context.js';

/**
 * The bridge's lease, on the store's one lease election: one bridge acts at a time, a second waits, and a
 * restarted one takes over when the lease expires. The bridge drives it from its own loop (`tick`), so renewal
 * and the reconcile of every group share one timer.
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
  ctx.log.info({ epoch: lease.epoch, instance: lease.holder }, 'vm-bridge holds the lease');
  await indexGroups(ctx);
  return true;
}

/** Renews the lease, or takes it again (re-indexing the hosts); false while another bridge holds it. */
export async function keepLease(ctx: BridgeContext): Promise<boolean> {
  const before = ctx.election.current;
  await ctx.election.tick();
  const after = ctx.election.current;
  if (after === undefined) return false;
  if (after !== before) await indexGroups(ctx);
  return true;
}

async function indexGroups(ctx: BridgeContext): Promise<void> {
  for (const name of ctx.groups.keys()) ctx.hosts.refresh(await loadGroup(ctx.store, name));
}
