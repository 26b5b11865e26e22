import { DEFAULT_EVENT_LOOP_DELAY_THRESHOLD_MS } from '@meshwave/contracts';
import { createHash } from 'node:crypto';
import type { DecisionSettings } from '../core/batch-decision.js';

/** A VM group this bridge serves. Hosts enroll with the group's enrollment token (its sha256 is configured). */
export interface VmGroupConfig {
  readonly name: string;
  /** sha256 (hex) of the enrollment token; undefined: the group accepts no new hosts */
  readonly enrollmentTokenSha256?: string;
  /** the mesh its hosts are part of (ADR 0058), published in the group's membership report; undefined: none */
  readonly mesh?: string;
}

export interface BridgeSettings extends DecisionSettings {
  /** the bridge's leader lease; a second bridge waits, a restarted one takes over when it expires */
  readonly leaseName: string;
  readonly leaseTtlMs: number;
  /** how often every group is reconciled even without news (deadlines, staleness) */
  readonly tickMs: number;
  /**
   * Routine reports and registrations of a group are written at most this often (those arriving meanwhile are
   * applied together). A report of a host in the batch in flight is written as soon as the group's previous write
   * ended: it may complete or fail the batch, and the next batch starts in that write (ADR 0063).
   */
  readonly reportFlushMs: number;
  /** progress is republished at least this often even when unchanged */
  readonly progressIntervalMs: number;
  /** upper bound of one long poll */
  readonly maxLongPollMs: number;
  /** consumer group of the commands subscription; default `commandsConsumerGroup` of the groups served */
  readonly consumerGroup?: string;
  /** past this event-loop delay (ms) the bridge is Degraded and holds batch timeouts (MESHWAVE_EVENT_LOOP_DELAY_THRESHOLD_MS) */
  readonly loopDelayThresholdMs: number;
}

export const DEFAULT_BRIDGE_SETTINGS: BridgeSettings = {
  batchTimeoutMs: 10 * 60_000,
  reportStaleMs: 90_000,
  leaseName: 'vm-bridge',
  leaseTtlMs: 15_000,
  tickMs: 1000,
  reportFlushMs: 100,
  progressIntervalMs: 30_000,
  maxLongPollMs: 60_000,
  loopDelayThresholdMs: DEFAULT_EVENT_LOOP_DELAY_THRESHOLD_MS,
};

/** Longest list of group names spelled out in a consumer group id; a longer one is digested. */
const MAX_GROUP_NAMES_IN_ID = 200;

/**
 * The commands subscription's consumer group: one per set of VM groups served (`vm-bridge.<names>`), as a cluster
 * agent's is one per cluster. Replicas of one bridge share it (only the lease holder consumes). A bridge serving
 * other groups never shares it: in one consumer group the partitions are split between the members, so each would
 * skip the commands of the other's groups on the partitions it got; and a bridge joining a group a departed
 * unrelated bridge was a member of waited for that member's session to expire (30 s) before it consumed anything,
 * its halts included.
 */
export function commandsConsumerGroup(groups: readonly string[]): string {
  const names = [...groups].sort().join('+');
  if (names.length <= MAX_GROUP_NAMES_IN_ID) return `vm-bridge.${names}`;
  return `vm-bridge.${createHash('sha256').update(names).digest('hex').slice(0, 16)}`;
}
