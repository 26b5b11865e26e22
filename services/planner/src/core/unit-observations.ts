import {
  UnitFailureReason,
  UnitState,
  VmHostState,
  type UnitProgress,
  type UnitProgressEntry,
  type VmProgress,
} from '@meshwave/contracts';
import type { HealthReport } from '@meshwave/contracts';
import type { Observations, Received, RolloutRecord, RolloutState } from './rollout-state.js';
import { indexOfReport } from './report-index.js';
import { updatedChunk } from './chunk-update.js';
import { waveUnitsOf, type ParsedUnit } from './wave-units.js';

export { parseUnit, parsedUnitsOf, type ParsedUnit } from './wave-units.js';

/** A unit's state as the API and gates see it. */
export const UnitStatus = { Pending: 'pending', Moving: 'moving', Converged: 'converged', Failed: 'failed' } as const;
export type UnitStatus = (typeof UnitStatus)[keyof typeof UnitStatus];

/** A unit of a wave with what its cluster's agent last said about it. */
export interface UnitObservation {
  /** `cluster/namespace` or `cluster/namespace/kind/name` */
  readonly unit: string;
  readonly cluster: string;
  readonly wave: number;
  /** the revision the desired state asks for */
  readonly desired: string;
  readonly status: UnitStatus;
  /** the report is for the latest generation sent to its cluster (older reports do not count in gates) */
  readonly fresh: boolean;
  readonly reason?: string;
  readonly message?: string;
  /** the cluster's health report, newer than the wave's dispatch, says the unit crash-loops / has the wrong sidecar */
  readonly crashLooping: boolean;
  readonly sidecarMismatch: boolean;
  /** container restarts of its pods, from the same health report (0 without one that counts) */
  readonly restarts: number;
}

export interface VmHostObservation {
  /** `group/host` */
  readonly host: string;
  readonly group: string;
  readonly wave: number;
  readonly desired: string;
  readonly status: 'pending' | 'upgrading' | 'converged' | 'failed';
  readonly fresh: boolean;
  readonly reason?: string;
}

/** Whether `unit` falls under an exclusion (a namespace exclusion covers its workloads). */
export function isExcluded(unit: string, excluded: readonly string[]): boolean {
  return excluded.some((x) => unit === x || unit.startsWith(`${x}/`));
}

/** The revision each dispatched unit should run now: `to`, or `from` when failed back. */
export function desiredRevisionOf(record: RolloutRecord, state: RolloutState, wave: number): string {
  return state.rollbackAll || state.rolledBackWaves.includes(wave) ? record.spec.spec.from : record.spec.spec.to;
}

export { indexOfReport, type ClusterIndex } from './report-index.js';

/** Failures that are about the unit itself, whatever revision it is on. */
const UNCONDITIONAL_FAILURES: ReadonlySet<string> = new Set([UnitFailureReason.NotFound, UnitFailureReason.ApiError]);

function statusOfEntry(e: UnitProgressEntry, desired: string): UnitStatus {
  // A unit that failed on the revision it is being moved away from (failback in progress) is moving, not failed.
  if (e.state === UnitState.Failed)
    return e.revision === desired || UNCONDITIONAL_FAILURES.has(e.reason ?? '') ? UnitStatus.Failed : UnitStatus.Moving;
  // a unit on a tag runs the revision the tag points at, as its agent judged it (ADR 0046)
  const injectedOk =
    e.injectedRevision === undefined ||
    e.injectedRevision === desired ||
    (e.injects !== undefined && e.injectedRevision === e.injects);
  if (e.state === UnitState.Converged && e.revision === desired && injectedOk) return UnitStatus.Converged;
  if (e.state === UnitState.Restarting || e.revision === desired) return UnitStatus.Moving;
  return UnitStatus.Pending;
}

/** A namespace unit reported workload by workload: failed if any failed, converged if all converged. */
function statusOfEntries(
  entries: readonly UnitProgressEntry[],
  desired: string,
): { status: UnitStatus; entry?: UnitProgressEntry } {
  if (entries.length === 0) return { status: UnitStatus.Pending };
  const statuses = entries.map((e) => statusOfEntry(e, desired));
  const failed = statuses.indexOf(UnitStatus.Failed);
  if (failed >= 0) return { status: UnitStatus.Failed, entry: entries[failed] };
  if (statuses.every((s) => s === UnitStatus.Converged)) return { status: UnitStatus.Converged };
  if (statuses.some((s) => s !== UnitStatus.Pending)) return { status: UnitStatus.Moving };
  return { status: UnitStatus.Pending };
}

interface HealthFlags {
  readonly crash: boolean;
  readonly mismatch: boolean;
  readonly restarts: number;
}

/**
 * Health flags per cluster-local key (`namespace` and `namespace/kind/name`), from a report that counts; a
 * namespace's restarts are its workloads' together. Units with nothing to flag are left out (the common case).
 */
const flagsOf = new WeakMap<HealthReport, Map<string, HealthFlags>>();

function healthFlags(report: Received<HealthReport>['report']): Map<string, HealthFlags> {
  const known = flagsOf.get(report);
  if (known !== undefined) return known;
  const flags = new Map<string, HealthFlags>();
  flagsOf.set(report, flags);
  const add = (key: string, h: HealthReport['units'][number]): void => {
    const f = flags.get(key) ?? { crash: false, mismatch: false, restarts: 0 };
    flags.set(key, {
      crash: f.crash || h.crashLooping,
      mismatch: f.mismatch || h.sidecarMismatch,
      restarts: f.restarts + h.restarts,
    });
  };
  for (const h of report.units) {
    if (!h.crashLooping && !h.sidecarMismatch && h.restarts === 0) continue;
    add(h.namespace, h);
    if (h.kind !== undefined && h.name !== undefined) add(`${h.namespace}/${h.kind}/${h.name}`, h);
  }
  return flags;
}

/** What a cluster's units of one wave are observed from: equal inputs, equal observations. */
export interface ChunkInputs {
  readonly desired: string;
  readonly dispatched: boolean;
  readonly report: UnitProgress | undefined;
  readonly fresh: boolean;
  /** the health report that counts for the wave (received after its dispatch), if it is watched */
  readonly health: HealthReport | undefined;
  readonly excluded: string;
}

/**
 * What a health report changes in the observations: nothing when it flags no unit (the common case), so a
 * cluster's periodic health reports of a healthy fleet leave its observations as they were (issue 15).
 */
const flagging = (health: HealthReport | undefined): HealthReport | undefined =>
  health === undefined || healthFlags(health).size === 0 ? undefined : health;

/** Equal inputs but, perhaps, the report: what a chunk can be brought to by observing the changed units only. */
const sameBesidesReport = (a: ChunkInputs, b: ChunkInputs): boolean =>
  a.desired === b.desired &&
  a.dispatched === b.dispatched &&
  a.fresh === b.fresh &&
  flagging(a.health) === flagging(b.health) &&
  a.excluded === b.excluded;

/**
 * One cluster's units of one wave observed from the same inputs: `out[j]` is the unit at position `positions[j]`
 * of the wave (undefined: excluded). The same object while its inputs stay the same, so what is derived from it
 * can be kept by it (a status read's counts, the deadline's tallies).
 */
export interface ClusterChunk {
  readonly cluster: string;
  readonly positions: readonly number[];
  readonly inputs: ChunkInputs;
  readonly out: readonly (UnitObservation | undefined)[];
}

/** A wave's units split by cluster, in the wave's order (positions in it), built once per wave's unit list. */
interface WaveLayout {
  readonly clusters: Map<string, number[]>;
  /** each cluster's observations as last computed, with what they were computed from */
  readonly chunks: Map<string, ClusterChunk>;
}

const layouts = new WeakMap<readonly ParsedUnit[], WaveLayout>();

function layoutOf(units: readonly ParsedUnit[]): WaveLayout {
  let layout = layouts.get(units);
  if (layout !== undefined) return layout;
  const clusters = new Map<string, number[]>();
  units.forEach((u, i) => {
    const at = clusters.get(u.cluster);
    if (at === undefined) clusters.set(u.cluster, [i]);
    else at.push(i);
  });
  layouts.set(units, (layout = { clusters, chunks: new Map() }));
  return layout;
}

/** One unit's observation from its cluster's inputs (undefined: excluded). */
function observeUnit(
  u: ParsedUnit,
  wave: number,
  inputs: ChunkInputs,
  excluded: readonly string[],
): UnitObservation | undefined {
  if (excluded.length > 0 && isExcluded(u.unit, excluded)) return undefined;
  const index = inputs.dispatched && inputs.report !== undefined ? indexOfReport(inputs.report) : undefined;
  let status: UnitStatus = UnitStatus.Pending;
  let entry: UnitProgressEntry | undefined;
  if (index !== undefined) {
    if (u.kind !== undefined) {
      entry = index.byKey.get(u.local);
      status = entry ? statusOfEntry(entry, inputs.desired) : UnitStatus.Pending;
    } else {
      const own = index.byKey.get(u.namespace);
      const r = own
        ? { status: statusOfEntry(own, inputs.desired), entry: own }
        : statusOfEntries(index.byNamespace.get(u.namespace) ?? [], inputs.desired);
      status = r.status;
      entry = r.entry;
    }
  }
  const f = inputs.health === undefined ? undefined : healthFlags(inputs.health).get(u.local);
  const observation: { -readonly [K in keyof UnitObservation]: UnitObservation[K] } = {
    unit: u.unit,
    cluster: u.cluster,
    wave,
    desired: inputs.desired,
    status,
    fresh: index !== undefined && inputs.fresh,
    crashLooping: f?.crash ?? false,
    sidecarMismatch: f?.mismatch ?? false,
    restarts: f?.restarts ?? 0,
  };
  if (entry?.reason !== undefined) observation.reason = entry.reason;
  if (entry?.message !== undefined) observation.message = entry.message;
  return observation;
}

/**
 * Wave `w`'s units observed per cluster (its clusters in the order of their first unit in the wave), and how many
 * units the wave has. Incremental (issue 15, ADR 0048): a cluster's chunk is kept with what it was computed from
 * (its report and flagging health objects, the wave's desired revision, ...) and computed again only when those
 * changed (the clusters that reported since); the others are the same objects as before.
 */
export function observeWaveChunks(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  w: number,
): { readonly size: number; readonly chunks: ClusterChunk[] } {
  if (record.plan.waves[w] === undefined) return { size: 0, chunks: [] };
  const dispatchedAt = state.waveDispatchedAt === undefined ? Infinity : Date.parse(state.waveDispatchedAt);
  const excluded = state.excluded;
  const excludedKey = excluded.join('\n');
  const desired = desiredRevisionOf(record, state, w);
  const dispatched = w < state.dispatchedWaves;
  const watchHealth = dispatched && desired === record.spec.spec.to;
  const units = waveUnitsOf(record, state, w);
  const layout = layoutOf(units);
  const chunks: ClusterChunk[] = [];
  for (const [cluster, positions] of layout.clusters) {
    const report = observations.clusters.get(cluster);
    const received = watchHealth ? observations.health.get(cluster) : undefined;
    const inputs: ChunkInputs = {
      desired,
      dispatched,
      report,
      fresh: report !== undefined && report.generation >= (state.targets[`cluster/${cluster}`]?.generation ?? 0),
      // Health reports carry no rollout generation: only one received after the wave went out says something.
      health: received !== undefined && Date.parse(received.receivedAt) > dispatchedAt ? received.report : undefined,
      excluded: excludedKey,
    };
    let chunk = layout.chunks.get(cluster);
    const similar = chunk !== undefined && sameBesidesReport(chunk.inputs, inputs);
    if (chunk === undefined || !similar || chunk.inputs.report !== inputs.report) {
      // a report made from the chunk's by deltas: only the units they named are observed again (ADR 0068)
      const observe = (u: ParsedUnit): UnitObservation | undefined => observeUnit(u, w, inputs, excluded);
      chunk = (similar ? updatedChunk(chunk!, inputs, units, observe) : undefined) ?? {
        cluster,
        positions,
        inputs,
        out: positions.map((i) => observe(units[i] as ParsedUnit)),
      };
      layout.chunks.set(cluster, chunk);
    }
    chunks.push(chunk);
  }
  return { size: units.length, chunks };
}

/**
 * Every non-excluded unit of waves `waves`, with its status from the latest reports, in each wave's order. Units
 * of waves not yet dispatched are pending by definition. What is left per call beyond the chunks that changed
 * (observeWaveChunks) is placing the wave's observations in order.
 */
export function observeUnits(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  waves: readonly number[],
): UnitObservation[] {
  const out: UnitObservation[] = [];
  for (const w of waves) {
    const { size, chunks } = observeWaveChunks(record, state, observations, w);
    const placed: (UnitObservation | undefined)[] = new Array<UnitObservation | undefined>(size);
    for (const chunk of chunks) chunk.positions.forEach((i, j) => (placed[i] = chunk.out[j]));
    for (const o of placed) if (o !== undefined) out.push(o);
  }
  return out;
}

const NO_HOSTS: ReadonlyMap<string, VmProgress['hosts'][number]> = new Map();
// each report's hosts by name, built once per report: a lookup per host, not a scan of the group (10,000 hosts),
// and not built again at every decision while the report stays the same object
const hostsByReport = new WeakMap<VmProgress, ReadonlyMap<string, VmProgress['hosts'][number]>>();

/** A VM group's reported hosts by name (the first of a name, as a scan finds it), kept per report object. */
export function reportedHostsOf(report: VmProgress | undefined): ReadonlyMap<string, VmProgress['hosts'][number]> {
  if (report === undefined) return NO_HOSTS;
  let byName = hostsByReport.get(report);
  if (byName === undefined) {
    const hosts = new Map<string, VmProgress['hosts'][number]>();
    // the first of a name wins, as a scan would find it
    for (const x of report.hosts) if (!hosts.has(x.name)) hosts.set(x.name, x);
    hostsByReport.set(report, (byName = hosts));
  }
  return byName;
}

/** Every VM host of waves `waves`, with its status from the latest VM progress reports. */
export function observeVmHosts(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  waves: readonly number[],
): VmHostObservation[] {
  const out: VmHostObservation[] = [];
  const hostsOf = (group: string): ReadonlyMap<string, VmProgress['hosts'][number]> =>
    reportedHostsOf(observations.vmGroups.get(group));
  for (const w of waves) {
    const planned = record.plan.waves[w];
    if (planned === undefined) continue;
    const desired = desiredRevisionOf(record, state, w);
    const dispatched = w < state.dispatchedWaves;
    for (const h of planned.vmHosts) {
      const report = observations.vmGroups.get(h.group);
      const fresh =
        dispatched &&
        report !== undefined &&
        report.generation >= (state.targets[`vmgroup/${h.group}`]?.generation ?? 0);
      const seen = dispatched ? hostsOf(h.group).get(h.name) : undefined;
      let status: VmHostObservation['status'] = 'pending';
      if (seen !== undefined) {
        if (seen.state === VmHostState.Failed || seen.state === VmHostState.Reverted) status = 'failed';
        else if (seen.state === VmHostState.Converged && seen.version === desired && seen.healthy) status = 'converged';
        else if (seen.state === VmHostState.Upgrading || seen.version === desired) status = 'upgrading';
      }
      out.push({
        host: `${h.group}/${h.name}`,
        group: h.group,
        wave: w,
        desired,
        status,
        fresh,
        ...(seen?.reason !== undefined ? { reason: seen.reason } : {}),
      });
    }
  }
  return out;
}
