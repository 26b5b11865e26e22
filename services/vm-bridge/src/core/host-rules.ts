import { AgentPhase } from '@meshwave/contracts';
import type { ActiveBatch, DecisionSettings, GroupRecord, HostRecord } from './batch-decision.js';

// The rules the bridge judges one host by (pure): available, failed in its batch, the version it is to run.

/** Since when a batch's hosts have had a loop that kept up: its start, or the bridge's last starved instant. */
export function timedFrom(batch: ActiveBatch, starvedAt: number | undefined): number {
  return Math.max(batch.startedAt, starvedAt ?? -Infinity);
}

/** Why a batch failed; stable constants shown to operators (prefix of the halt reason). */
export const BatchFailureReason = {
  HostReportedFailure: 'HostReportedFailure',
  UnhealthyOnNewVersion: 'UnhealthyOnNewVersion',
  BatchTimeout: 'BatchTimeout',
} as const;
export type BatchFailureReason = (typeof BatchFailureReason)[keyof typeof BatchFailureReason];

/**
 * True when the host runs what it should, idle, healthy, with a fresh report. With `starvedAt` (the bridge's last
 * starved instant), a report's age counts from then at the most: reports wait in a starved loop (issue 15).
 */
export function isAvailable(host: HostRecord, now: number, settings: DecisionSettings, starvedAt?: number): boolean {
  const r = host.report;
  if (r === undefined || now - Math.max(r.at, starvedAt ?? -Infinity) > settings.reportStaleMs) return false;
  if (!r.healthy || r.phase !== AgentPhase.Idle) return false;
  return host.desiredVersion === null || r.runningVersion === host.desiredVersion;
}

export function failureOf(
  host: HostRecord,
  batch: ActiveBatch,
  now: number,
  settings: DecisionSettings,
  holdTimeouts: boolean,
  starvedAt: number | undefined,
): string | undefined {
  const r = host.report;
  if (r !== undefined && r.assignment === host.assignment && host.desiredVersion !== null) {
    if (r.failedVersion === host.desiredVersion && r.phase === AgentPhase.Idle) {
      return `${BatchFailureReason.HostReportedFailure}: host ${host.name} could not run ${host.desiredVersion}: ${r.lastError ?? 'no detail'}`;
    }
    if (r.runningVersion === host.desiredVersion && r.phase === AgentPhase.Idle && !r.healthy) {
      return `${BatchFailureReason.UnhealthyOnNewVersion}: host ${host.name} runs ${host.desiredVersion} but is not ready: ${r.lastError ?? 'no detail'}`;
    }
  }
  if (
    !holdTimeouts &&
    now - timedFrom(batch, starvedAt) >= settings.batchTimeoutMs &&
    !isAvailable(host, now, settings)
  ) {
    return `${BatchFailureReason.BatchTimeout}: host ${host.name} did not report ${host.desiredVersion ?? 'its version'} running and healthy within ${Math.round(settings.batchTimeoutMs / 1000)}s`;
  }
  return undefined;
}

/** The version the command wants `host` on, or undefined when the command leaves it alone. */
export function targetOf(group: GroupRecord, host: HostRecord): string | undefined {
  return group.command?.targets[host.name];
}
