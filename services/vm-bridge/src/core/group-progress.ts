import { VmHostState, type VmProgress } from '@meshwave/contracts';
import type { GroupRecord, HostRecord } from './batch-decision.js';
import { isAvailable, type DecisionSettings } from './batch-decision.js';

/** The VmProgress event for a group as it stands (pure; the bridge publishes it when it changes). */
export function groupProgress(
  name: string,
  group: GroupRecord,
  hosts: readonly HostRecord[],
  now: number,
  settings: DecisionSettings,
  blockedReason?: string,
  /** the bridge's last starved instant: a report's age counts from then at the most (see isAvailable) */
  starvedAt?: number,
): VmProgress | undefined {
  const command = group.command;
  if (command === undefined) return undefined;
  const reason = group.halted ? group.haltReason : blockedReason;
  const enrolled = new Set(hosts.map((h) => h.name));
  return {
    group: name,
    rolloutId: command.rolloutId,
    generation: command.generation,
    halted: group.halted,
    ...(reason !== undefined ? { reason } : {}),
    hosts: [
      ...hosts.map((h) => ({
        name: h.name,
        version: h.report?.runningVersion ?? null,
        state: h.state,
        healthy:
          isAvailable(h, now, settings, starvedAt) ||
          (h.report?.healthy === true && now - Math.max(h.report.at, starvedAt ?? -Infinity) <= settings.reportStaleMs),
        ...(h.reason !== undefined ? { reason: h.reason } : {}),
      })),
      // Hosts the command names that never enrolled: the planner must see that they wait.
      ...Object.keys(command.targets)
        .filter((name) => !enrolled.has(name))
        .map((name) => ({ name, version: null, state: VmHostState.Pending, healthy: false, reason: 'not registered' })),
    ].sort((a, b) => (a.name < b.name ? -1 : 1)),
  };
}
