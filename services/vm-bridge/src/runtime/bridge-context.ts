import type { EventBus } from '@meshwave/bus';
import type { Clock } from '@meshwave/reconcile';
import type { LeaseElection, StateStore } from '@meshwave/store';
import { DegradedReason, type Degraded } from '@meshwave/contracts';
import type { Logger } from '@meshwave/telemetry';
import type { Tracer } from '@opentelemetry/api';
import type { BundleCatalog } from '../adapters/bundle-catalog.js';
import type { BridgeSettings, VmGroupConfig } from '../config/bridge-settings.js';
import { VmBridgeError, VmBridgeErrorCode } from '../errors.js';
import type { BridgeMetrics } from '../metrics/bridge-metrics.js';
import type { HostIndex } from './host-index.js';

/** What every part of the bridge shares: its ports, its settings, its lease and its index of hosts. */
export interface BridgeContext {
  readonly store: StateStore;
  /** commands in, progress out; without a bus the bridge is driven in process (tests, demo) */
  readonly bus: EventBus | undefined;
  readonly catalog: BundleCatalog;
  readonly groups: ReadonlyMap<string, VmGroupConfig>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly tracer: Tracer;
  readonly metrics: BridgeMetrics;
  readonly settings: BridgeSettings;
  /** the bridge's leader lease; its epoch fences every write */
  readonly election: LeaseElection;
  readonly hosts: HostIndex;
  /** the bridge's own event-loop delay now, ms */
  readonly loopDelayMs: () => number;
  readonly lifecycle: {
    stopped: boolean;
    /** true once every group's hosts are indexed (answers before that would be wrong 401/404s) */
    loaded: boolean;
  };
}

/** Hosts are answered only by the active bridge, once it has loaded its groups: 503 (retry) before. */
export function requireActive(ctx: BridgeContext): void {
  if (ctx.election.current === undefined || ctx.lifecycle.stopped || !ctx.lifecycle.loaded) {
    throw new VmBridgeError(VmBridgeErrorCode.Fenced, 'this bridge is not active (yet)', { retryable: true });
  }
}

export function unknownGroup(group: string): VmBridgeError {
  return new VmBridgeError(VmBridgeErrorCode.UnknownGroup, `no VM group "${group}" here`, { context: { group } });
}

export function unknownHost(host: string): VmBridgeError {
  return new VmBridgeError(VmBridgeErrorCode.UnknownHost, `host "${host}" is not registered`, { context: { host } });
}

/** Degraded while the bridge's own loop lags past its threshold: it holds batch timeouts and says so. */
export function degradedOf(ctx: Pick<BridgeContext, 'loopDelayMs' | 'settings'>): Degraded | undefined {
  const lagMs = ctx.loopDelayMs();
  return lagMs > ctx.settings.loopDelayThresholdMs
    ? { reason: DegradedReason.EventLoopLag, lagMs: Math.round(lagMs) }
    : undefined;
}
