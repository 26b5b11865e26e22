import { VmHostState, type VmProgress } from '@meshwave/contracts';
import type { Observations, RolloutRecord, RolloutState } from './rollout-state.js';
import { desiredRevisionOf, reportedHostsOf, type VmHostObservation } from './unit-observations.js';

type ReportedHost = VmProgress['hosts'][number];

/** One VM group's hosts of one wave counted by status, and how many run `to`. */
export interface GroupTally {
  readonly group: string;
  readonly counts: Readonly<Record<VmHostObservation['status'], number>>;
  readonly onTarget: number;
}

interface ByName {
  /** the first host of a name, as a scan finds it (its status) */
  readonly first: ReadonlyMap<string, ReportedHost>;
  /** the version of the last host of a name (what runs there, as the injection counts it) */
  readonly version: ReadonlyMap<string, string | undefined>;
}

// a group's report indexed once per report object (the planner keeps one per group until the group reports again)
const indexes = new WeakMap<VmProgress, ByName>();

function byNameOf(report: VmProgress | undefined): ByName {
  if (report === undefined) return { first: new Map(), version: new Map() };
  let index = indexes.get(report);
  if (index === undefined) {
    const first = reportedHostsOf(report);
    index = { first, version: new Map(report.hosts.map((x) => [x.name, x.version ?? undefined])) };
    indexes.set(report, index);
  }
  return index;
}

function statusOf(seen: ReportedHost | undefined, desired: string): VmHostObservation['status'] {
  if (seen === undefined) return 'pending';
  if (seen.state === VmHostState.Failed || seen.state === VmHostState.Reverted) return 'failed';
  if (seen.state === VmHostState.Converged && seen.version === desired && seen.healthy) return 'converged';
  if (seen.state === VmHostState.Upgrading || seen.version === desired) return 'upgrading';
  return 'pending';
}

interface GroupSlot {
  readonly names: string[];
  last?: {
    readonly report: VmProgress | undefined;
    readonly desired: string;
    readonly dispatched: boolean;
    readonly to: string;
    readonly tally: GroupTally;
  };
}

// per planned wave: its hosts by group (in the order of each group's first host), with each group's last tally
const slots = new WeakMap<object, Map<string, GroupSlot>>();

function slotsOf(planned: RolloutRecord['plan']['waves'][number]): Map<string, GroupSlot> {
  let bySlot = slots.get(planned);
  if (bySlot === undefined) {
    bySlot = new Map();
    for (const h of planned.vmHosts) {
      const slot = bySlot.get(h.group);
      if (slot === undefined) bySlot.set(h.group, { names: [h.name] });
      else slot.names.push(h.name);
    }
    slots.set(planned, bySlot);
  }
  return bySlot;
}

/**
 * Wave `w`'s VM hosts counted per group: the same counts as observeVmHosts and the wave's injection give, with
 * a group counted again only when its report, the wave's desired revision or its dispatch changed (issue 15: a
 * status poll at 10,000 hosts re-read every group).
 */
export function waveHostTallies(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  w: number,
): GroupTally[] {
  const planned = record.plan.waves[w];
  if (planned === undefined) return [];
  const desired = desiredRevisionOf(record, state, w);
  const dispatched = w < state.dispatchedWaves;
  const to = record.spec.spec.to;
  const out: GroupTally[] = [];
  for (const [group, slot] of slotsOf(planned)) {
    const report = observations.vmGroups.get(group);
    const last = slot.last;
    if (
      last !== undefined &&
      last.report === report &&
      last.desired === desired &&
      last.dispatched === dispatched &&
      last.to === to
    ) {
      out.push(last.tally);
      continue;
    }
    const index = byNameOf(report);
    const counts = { pending: 0, upgrading: 0, converged: 0, failed: 0 };
    let onTarget = 0;
    for (const name of slot.names) {
      counts[statusOf(dispatched ? index.first.get(name) : undefined, desired)]++;
      if (index.version.get(name) === to) onTarget++;
    }
    const tally: GroupTally = { group, counts, onTarget };
    slot.last = { report, desired, dispatched, to, tally };
    out.push(tally);
  }
  return out;
}
