import { VmHostState, type VmProgress } from '@meshwave/contracts';
import type { GroupCommand, GroupRecord, HostRecord } from './batch-decision.js';
import { isAvailable, type DecisionSettings } from './batch-decision.js';

/** One host's entry of a group's progress. */
export type HostProgress = VmProgress['hosts'][number];

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
  const head = progressHead(name, group, blockedReason);
  if (head === undefined || group.command === undefined) return undefined;
  const enrolled = new Set(hosts.map((h) => h.name));
  return {
    ...head,
    hosts: [
      ...hosts.map((h) => hostProgressOf(h, now, settings, starvedAt)),
      // Hosts the command names that never enrolled: the planner must see that they wait.
      ...notEnrolled(group.command, enrolled),
    ].sort((a, b) => (a.name < b.name ? -1 : 1)),
  };
}

/** A group's progress but its hosts; undefined before any command. */
export function progressHead(
  name: string,
  group: GroupRecord,
  blockedReason?: string,
): Omit<VmProgress, 'hosts'> | undefined {
  const command = group.command;
  if (command === undefined) return undefined;
  const reason = group.halted ? group.haltReason : blockedReason;
  return {
    group: name,
    rolloutId: command.rolloutId,
    generation: command.generation,
    halted: group.halted,
    ...(reason !== undefined ? { reason } : {}),
  };
}

/** One enrolled host's progress entry. */
export function hostProgressOf(
  h: HostRecord,
  now: number,
  settings: DecisionSettings,
  starvedAt: number | undefined,
): HostProgress {
  return {
    name: h.name,
    version: h.report?.runningVersion ?? null,
    state: h.state,
    healthy:
      isAvailable(h, now, settings, starvedAt) ||
      (h.report?.healthy === true && now - Math.max(h.report.at, starvedAt ?? -Infinity) <= settings.reportStaleMs),
    ...(h.reason !== undefined ? { reason: h.reason } : {}),
  };
}

function notEnrolled(command: GroupCommand, enrolled: ReadonlySet<string>): HostProgress[] {
  return Object.keys(command.targets)
    .filter((name) => !enrolled.has(name))
    .map((name) => ({ name, version: null, state: VmHostState.Pending, healthy: false, reason: 'not registered' }));
}
