import type { AgentPhase } from '@meshwave/contracts';
import { VmHostState } from '@meshwave/contracts';
import { failureOf, isAvailable, targetOf, timedFrom } from './host-rules.js';
import { settled } from './report-decision.js';

export { BatchFailureReason, isAvailable } from './host-rules.js';

// The pure core of the bridge: given a group's stored state, the hosts' last reports and `now`, decide which
// hosts get which desired version. No I/O, no clock; the bridge persists what this returns and acts on it.

/** The latest accepted desired-state command of a group, as the bridge stores it. */
export interface GroupCommand {
  readonly rolloutId: string;
  readonly wave: number;
  readonly generation: number;
  readonly epoch: number;
  readonly from: string;
  readonly to: string;
  readonly maxUnavailable: number;
  /** host name -> version it should end on; hosts not listed stay where they are */
  readonly targets: Readonly<Record<string, string>>;
  /** W3C traceparent of the command, so batch spans join the wave's trace */
  readonly traceparent?: string;
}

/** A batch in flight: these hosts were told to move and the next batch waits for them. */
export interface ActiveBatch {
  readonly number: number;
  readonly hosts: readonly string[];
  readonly startedAt: number;
  readonly traceparent?: string;
}

export interface GroupRecord {
  readonly command?: GroupCommand;
  readonly halted: boolean;
  readonly haltReason?: string;
  /** generation of the command in force when the group halted; only a later generation resumes */
  readonly haltedAtGeneration?: number;
  readonly batch?: ActiveBatch;
  /** batches started so far (numbers batches across restarts) */
  readonly batchesStarted: number;
  /** highest planner epoch seen in any command (fencing); not used by the decision */
  readonly highestEpoch?: number;
}

/** A host's last report, as received (time is the bridge's receive time). */
export interface HostReport {
  readonly runningVersion: string | null;
  readonly healthy: boolean;
  readonly phase: AgentPhase;
  readonly lastError?: string;
  readonly failedVersion?: string;
  /** the assignment the agent last acted on (see HostRecord.assignment) */
  readonly assignment?: number;
  readonly at: number;
}

export interface HostRecord {
  readonly name: string;
  /** what the bridge tells the host to run now; null: no opinion, keep what runs */
  readonly desiredVersion: string | null;
  /**
   * increases each time desiredVersion is (re)assigned; the agent echoes it in its reports, so a failure it
   * reports is matched to the assignment it tried, never to an older one
   */
  readonly assignment: number;
  /** what to switch back to when the batch that moved this host fails */
  readonly previousVersion: string | null;
  readonly state: VmHostState;
  readonly reason?: string;
  /** the version that failed on this host, and the generation it failed in: not retried within it */
  readonly failedVersion?: string;
  readonly failedGeneration?: number;
  readonly report?: HostReport;
  /** traceparent of the command behind the current assignment, handed to the host with it */
  readonly traceparent?: string;
}

export interface DecisionSettings {
  /** a batch whose hosts are not all running the new version and healthy by then has failed */
  readonly batchTimeoutMs: number;
  /** a host whose last report is older than this counts as unavailable */
  readonly reportStaleMs: number;
}

export interface DecisionInput {
  readonly group: GroupRecord;
  readonly hosts: readonly HostRecord[];
  readonly now: number;
  readonly settings: DecisionSettings;
  /**
   * The bridge's own event loop lags (it is Degraded): no batch fails by its timeout now, since the hosts'
   * reports may be waiting in the starved loop; the timeout is judged again once the loop has caught up.
   * Failures the hosts report themselves still count.
   */
  readonly holdTimeouts?: boolean;
  /**
   * The last instant the bridge saw its own loop lag (absent: not since it started). A batch's timeout counts only
   * time after it: 60 s of a starved process are not 60 s the hosts had to report in (issue 15, ADR 0044).
   */
  readonly starvedAt?: number;
}

export const BatchEventKind = {
  Started: 'batch-started',
  Succeeded: 'batch-succeeded',
  Failed: 'batch-failed',
} as const;
export type BatchEventKind = (typeof BatchEventKind)[keyof typeof BatchEventKind];

/** Something that happened to a batch in this decision (for spans, metrics and logs). */
export interface BatchEvent {
  readonly kind: BatchEventKind;
  readonly batch: ActiveBatch;
  readonly reason?: string;
}

export interface Decision {
  readonly group: GroupRecord;
  /** every host, with its new record (same object when unchanged) */
  readonly hosts: readonly HostRecord[];
  readonly events: readonly BatchEvent[];
  /** hosts unavailable now (upgrading, unhealthy, silent), after this decision */
  readonly unavailable: number;
  /** when to decide again even if nothing is reported (batch deadline, report staleness) */
  readonly recheckAt?: number;
  /** why no batch could start although hosts wait (budget used up by unavailable hosts) */
  readonly blockedReason?: string;
  /** the bridge's last starved instant the decision took (its progress judges staleness alike) */
  readonly starvedAt?: number;
  /** hosts the command still wants moved that no batch holds now (a report can start a batch only while some do) */
  readonly waiting: number;
}

/** `h` (re)assigned `version` by `group`'s command, whose trace the host's work for it joins. */
function assign(group: GroupRecord, h: HostRecord, version: string | null): HostRecord {
  const { traceparent: _previous, ...rest } = h;
  const traceparent = group.command?.traceparent;
  return {
    ...rest,
    desiredVersion: version,
    assignment: h.assignment + 1,
    ...(traceparent !== undefined ? { traceparent } : {}),
  };
}

/** The hosts of one decision by name, as they change during it. */
type HostsByName = Map<string, HostRecord>;

/** One step of a decision: the group after it, and the batch events it caused. */
interface StepResult {
  readonly group: GroupRecord;
  readonly events: readonly BatchEvent[];
}

/**
 * Decides the next step for one VM group. Rules:
 * - at most `maxUnavailable` hosts upgrading or unavailable at once, counting hosts already unavailable;
 * - a new batch starts only when the previous batch's hosts all run their new version, idle and healthy;
 * - a failing batch is reverted (its hosts go back to their previous version) and the group halts;
 * - a halted group starts nothing new, but its batch in flight still completes or reverts;
 * - a command that changes the target of a host in flight (failback) applies to it at once.
 */
export function decideGroup(input: DecisionInput): Decision {
  const { now, settings } = input;
  const byName: HostsByName = new Map(input.hosts.map((h) => [h.name, h] as const));
  followChangedTargets(input.group, byName);
  const judged = judgeBatch(input.group, byName, now, settings, input.holdTimeouts === true, input.starvedAt);
  const started = startNextBatch(judged.group, byName, now, settings);
  const group = started.group;
  settleHostsOutsideBatch(group, byName, now, settings, input.starvedAt);

  const hosts = input.hosts.map((h) => byName.get(h.name) ?? h);
  const unavailable = hosts.filter((h) => !isAvailable(h, now, settings)).length;
  const recheckAt = recheckTime(group, hosts, now, settings, input.starvedAt);
  return {
    group,
    hosts,
    events: [...judged.events, ...started.events],
    unavailable,
    waiting: hosts.filter((h) => isWaiting(group, h)).length,
    ...(recheckAt !== undefined ? { recheckAt } : {}),
    ...(started.blockedReason !== undefined ? { blockedReason: started.blockedReason } : {}),
    ...(input.starvedAt !== undefined ? { starvedAt: input.starvedAt } : {}),
  };
}

/** In-flight hosts follow a changed target at once (failback does not wait for the batch). */
function followChangedTargets(group: GroupRecord, byName: HostsByName): void {
  if (group.batch === undefined) return;
  for (const name of group.batch.hosts) {
    const h = byName.get(name);
    if (h === undefined) continue;
    const target = targetOf(group, h);
    if (target !== undefined && target !== h.desiredVersion)
      byName.set(h.name, { ...assign(group, h, target), state: VmHostState.Upgrading });
  }
}

/** Judges the batch in flight: reverted (and the group halted) when a host failed, done when all are available. */
function judgeBatch(
  group: GroupRecord,
  byName: HostsByName,
  now: number,
  settings: DecisionSettings,
  holdTimeouts: boolean,
  starvedAt: number | undefined,
): StepResult {
  const batch = group.batch;
  if (batch === undefined) return { group, events: [] };
  const members = batch.hosts.map((n) => byName.get(n)).filter((h): h is HostRecord => h !== undefined);
  const failures = members
    .map((h) => [h, failureOf(h, batch, now, settings, holdTimeouts, starvedAt)] as const)
    .filter(([, f]) => f !== undefined);
  if (failures.length > 0) {
    const failedNames = new Set(failures.map(([h]) => h.name));
    const reason = `batch ${batch.number} failed: ${failures.map(([, f]) => f).join('; ')}`;
    const generation = group.command?.generation;
    for (const h of members) {
      const failed = failedNames.has(h.name);
      const base: HostRecord = {
        ...(h.previousVersion !== h.desiredVersion ? assign(group, h, h.previousVersion) : h),
        state: failed ? VmHostState.Failed : VmHostState.Reverted,
        reason: failed ? failures.find(([f]) => f.name === h.name)?.[1] : `reverted with batch ${batch.number}`,
      };
      byName.set(
        h.name,
        failed && h.desiredVersion !== null && generation !== undefined
          ? { ...base, failedVersion: h.desiredVersion, failedGeneration: generation }
          : base,
      );
    }
    const { batch: _done, ...rest } = group;
    return {
      group: {
        ...rest,
        halted: true,
        haltReason: reason,
        ...(group.command !== undefined ? { haltedAtGeneration: group.command.generation } : {}),
      },
      events: [{ kind: BatchEventKind.Failed, batch, reason }],
    };
  }
  if (!members.every((h) => isAvailable(h, now, settings))) return { group, events: [] };
  for (const h of members)
    byName.set(h.name, { ...h, state: VmHostState.Converged, previousVersion: h.desiredVersion });
  const { batch: _done, ...rest } = group;
  return { group: rest, events: [{ kind: BatchEventKind.Succeeded, batch }] };
}

/** Starts the next batch within the budget of `maxUnavailable`, or says why none could start. */
function startNextBatch(
  group: GroupRecord,
  byName: HostsByName,
  now: number,
  settings: DecisionSettings,
): StepResult & { readonly blockedReason?: string } {
  const command = group.command;
  if (group.batch !== undefined || group.halted || command === undefined) return { group, events: [] };
  const all = [...byName.values()];
  const unavailable = all.filter((h) => !isAvailable(h, now, settings)).length;
  let budget = command.maxUnavailable - unavailable;
  const waiting = all
    .filter((h) => isWaiting(group, h))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const picked: HostRecord[] = [];
  for (const h of waiting) {
    if (budget <= 0) break;
    // Only available hosts move: a silent or unhealthy host would fail the batch it joined.
    if (!isAvailable(h, now, settings)) continue;
    picked.push(h);
    budget--;
  }
  if (picked.length === 0) {
    if (waiting.length === 0) return { group, events: [] };
    const blockedReason = `${waiting.length} hosts wait; ${unavailable} of maxUnavailable ${command.maxUnavailable} hosts are unavailable`;
    return { group, events: [], blockedReason };
  }
  const batch: ActiveBatch = {
    number: group.batchesStarted + 1,
    hosts: picked.map((h) => h.name),
    startedAt: now,
    ...(command.traceparent !== undefined ? { traceparent: command.traceparent } : {}),
  };
  for (const h of picked) {
    byName.set(h.name, {
      ...assign(group, h, targetOf(group, h) ?? h.desiredVersion),
      previousVersion: h.desiredVersion ?? h.report?.runningVersion ?? null,
      state: VmHostState.Upgrading,
    });
  }
  return {
    group: { ...group, batch, batchesStarted: batch.number },
    events: [{ kind: BatchEventKind.Started, batch }],
  };
}

/**
 * Hosts outside any batch: state follows what they report. A converged host whose report aged while the bridge was
 * starved stays converged (fleet (b): 4,998 hosts of a passed wave went back to pending after a stall).
 */
function settleHostsOutsideBatch(
  group: GroupRecord,
  byName: HostsByName,
  now: number,
  settings: DecisionSettings,
  starvedAt: number | undefined,
): void {
  const inBatch = new Set(group.batch?.hosts ?? []);
  for (const h of [...byName.values()]) {
    if (inBatch.has(h.name)) continue;
    const next = settled(group, h, now, settings, starvedAt);
    if (next !== h) byName.set(h.name, next);
  }
}

/** When to decide again without news: the batch deadline, or the first fresh report going stale. */
function recheckTime(
  group: GroupRecord,
  hosts: readonly HostRecord[],
  now: number,
  settings: DecisionSettings,
  starvedAt: number | undefined,
): number | undefined {
  const deadlines: number[] = [];
  if (group.batch !== undefined) deadlines.push(timedFrom(group.batch, starvedAt) + settings.batchTimeoutMs);
  for (const h of hosts)
    if (h.report !== undefined && isAvailable(h, now, settings, starvedAt))
      deadlines.push(Math.max(h.report.at, starvedAt ?? -Infinity) + settings.reportStaleMs + 1);
  return deadlines.length > 0 ? Math.min(...deadlines) : undefined;
}

/** True when the command wants `h` on another version and it did not already fail that version in this generation. */
export function isWaiting(group: GroupRecord, h: HostRecord): boolean {
  const target = targetOf(group, h);
  if (target === undefined || target === h.desiredVersion) return false;
  return !(h.failedVersion === target && h.failedGeneration === group.command?.generation);
}

/** Group state before any command. */
export function newGroupRecord(): GroupRecord {
  return { halted: false, batchesStarted: 0 };
}
