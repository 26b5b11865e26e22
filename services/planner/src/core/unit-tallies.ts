import { UnitState, UnitWaitReason, type UnitProgressEntry } from '@meshwave/contracts';
import type { Observations, RolloutRecord, RolloutState } from './rollout-state.js';
import { indexOfReport, observeWaveChunks, type ClusterChunk, type UnitObservation } from './unit-observations.js';
import type { ClusterIndex } from './report-index.js';
import { takeStep, type ChunkStep } from './chunk-update.js';
import { waveUnitsOf } from './wave-units.js';

/** The failed units a tally keeps (a wave's status lists its first 50). */
export const FAILED_KEPT = 50;

/** Units of one reason of waiting: how many, and the first of them in the wave's order. */
export interface WaitTally {
  readonly count: number;
  readonly first: UnitObservation;
  readonly firstAt: number;
}

/**
 * One cluster's units of one wave counted: what a wave's status, the deadline's projection and the gates'
 * summaries take from them, so a read sums one tally per cluster instead of walking every unit.
 */
export interface ClusterTally {
  readonly cluster: string;
  /** units observed (exclusions left out), by status */
  readonly total: number;
  readonly counts: Readonly<Record<UnitObservation['status'], number>>;
  /** units not both converged and reported for the latest generation sent (what a running wave waits for) */
  readonly moving: number;
  /** units running `to` as reported (the injected sidecar; see runningRevision) */
  readonly onTarget: number;
  /** the first failed units in the wave's order, with their positions in it */
  readonly failed: readonly { readonly at: number; readonly unit: UnitObservation }[];
  /** pending units whose agent says why it starts none of them, per reason */
  readonly waiting: ReadonlyMap<string, WaitTally>;
}

const WAIT_REASONS: ReadonlySet<string> = new Set(Object.values(UnitWaitReason));

/**
 * The revision a reported workload runs: the one seen injected in its pods. An agent that does not report the
 * injected revision says only that a unit converged on its label; that counts, a label alone never does.
 */
function runningRevision(e: UnitProgressEntry): string | null | undefined {
  // pods on the revision a tag points at run the tag (a rollout whose `to` is a tag, ADR 0046)
  if (e.injects !== undefined && e.injectedRevision === e.injects) return e.revision;
  if (e.injectedRevision !== undefined) return e.injectedRevision;
  return e.state === UnitState.Converged ? e.revision : undefined;
}

/** A tally kept per chunk object and `to`, with which of its units run `to` (what a step's tally starts from). */
interface Kept {
  readonly to: string;
  readonly tally: ClusterTally;
  readonly onTargetAt: Uint8Array;
}

// A chunk is the same object while what it was observed from is (its report, the wave's membership and
// exclusions), and that is all a tally derives from.
const tallies = new WeakMap<ClusterChunk, Kept>();

type Units = ReturnType<typeof waveUnitsOf>;

const waitReasonOf = (o: UnitObservation | undefined): string | undefined =>
  o !== undefined && o.status === 'pending' && o.reason !== undefined && WAIT_REASONS.has(o.reason)
    ? o.reason
    : undefined;

/** Whether the unit at `at` runs `to` as its cluster's report says (every entry of a namespace unit). */
function runsTo(units: Units, at: number, index: ClusterIndex | undefined, to: string): boolean {
  if (index === undefined) return false;
  const u = units[at]!;
  const own = index.byKey.get(u.local);
  const entries = own !== undefined ? [own] : u.kind === undefined ? (index.byNamespace.get(u.namespace) ?? []) : [];
  return entries.length > 0 && entries.every((e) => runningRevision(e) === to);
}

/** an observation is fresh when its cluster's report is for the latest generation and the wave went out */
const movingOf = (chunk: ClusterChunk, total: number, converged: number): number =>
  chunk.inputs.fresh && chunk.inputs.dispatched && chunk.inputs.report !== undefined ? total - converged : total;

const indexOf = (chunk: ClusterChunk): ClusterIndex | undefined =>
  chunk.inputs.report === undefined ? undefined : indexOfReport(chunk.inputs.report);

/** The first failed units of a chunk in the wave's order. */
function failedOf(chunk: ClusterChunk): { at: number; unit: UnitObservation }[] {
  const failed: { at: number; unit: UnitObservation }[] = [];
  for (let j = 0; j < chunk.out.length && failed.length < FAILED_KEPT; j++) {
    const o = chunk.out[j];
    if (o?.status === 'failed') failed.push({ at: chunk.positions[j]!, unit: o });
  }
  return failed;
}

function tallied(chunk: ClusterChunk, units: Units, to: string): Kept {
  const counts = { pending: 0, moving: 0, converged: 0, failed: 0 };
  const waiting = new Map<string, WaitTally>();
  const onTargetAt = new Uint8Array(chunk.out.length);
  const index = indexOf(chunk);
  let total = 0;
  let onTarget = 0;
  chunk.out.forEach((o, j) => {
    if (o === undefined) return;
    const at = chunk.positions[j]!;
    total++;
    counts[o.status]++;
    const reason = waitReasonOf(o);
    if (reason !== undefined) {
      const w = waiting.get(reason);
      waiting.set(reason, w === undefined ? { count: 1, first: o, firstAt: at } : { ...w, count: w.count + 1 });
    }
    if (!runsTo(units, at, index, to)) return;
    onTarget++;
    onTargetAt[j] = 1;
  });
  const moving = movingOf(chunk, total, counts.converged);
  const failed = failedOf(chunk);
  return { to, onTargetAt, tally: { cluster: chunk.cluster, total, counts, moving, onTarget, failed, waiting } };
}

/**
 * A chunk's tally from its predecessor's, through the units its step observed again (ADR 0068): the same tally
 * a count from scratch gives. The first failed units are listed again only when a changed unit failed or did.
 */
function retallied(chunk: ClusterChunk, units: Units, prev: Kept, step: ChunkStep): Kept {
  const p = prev.tally;
  const counts = { ...p.counts };
  const onTargetAt = prev.onTargetAt.slice();
  const index = indexOf(chunk);
  const waitCounts = new Map([...p.waiting].map(([r, w]) => [r, w.count]));
  let { total, onTarget } = p;
  let failedMoved = false;
  for (const j of step.changed) {
    const was = step.prev.out[j];
    const now = chunk.out[j];
    for (const [o, d] of [
      [was, -1],
      [now, 1],
    ] as const) {
      if (o === undefined) continue;
      total += d;
      counts[o.status] += d;
      if (o.status === 'failed') failedMoved = true;
      const reason = waitReasonOf(o);
      if (reason !== undefined) waitCounts.set(reason, (waitCounts.get(reason) ?? 0) + d);
    }
    const runs = now !== undefined && runsTo(units, chunk.positions[j]!, index, prev.to) ? 1 : 0;
    onTarget += runs - onTargetAt[j]!;
    onTargetAt[j] = runs;
  }
  const waiting = waitingAfter(chunk, step, p.waiting, waitCounts);
  const moving = movingOf(chunk, total, counts.converged);
  const failed = failedMoved ? failedOf(chunk) : p.failed;
  const tally = { cluster: chunk.cluster, total, counts, moving, onTarget, failed, waiting };
  return { to: prev.to, onTargetAt, tally };
}

/** The index in a chunk of wave position `at` (positions ascend). */
function indexAt(positions: readonly number[], at: number): number {
  let lo = 0;
  let hi = positions.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (positions[mid]! < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The waiting units per reason after a step, in the order a count from scratch finds them (by their first unit):
 * a reason's first unit is the earliest changed one that waits for it, or the first before, or, when that one
 * changed, the next that waits for it from there on.
 */
function waitingAfter(
  chunk: ClusterChunk,
  step: ChunkStep,
  before: ReadonlyMap<string, WaitTally>,
  counts: ReadonlyMap<string, number>,
): Map<string, WaitTally> {
  const firsts = new Map<string, { first: UnitObservation; firstAt: number }>();
  const changed = new Set(step.changed);
  for (const [reason, w] of before) {
    let j = indexAt(chunk.positions, w.firstAt);
    if (changed.has(j)) while (j < chunk.out.length && waitReasonOf(chunk.out[j]) !== reason) j++;
    if (j < chunk.out.length) firsts.set(reason, { first: chunk.out[j]!, firstAt: chunk.positions[j]! });
  }
  for (const j of step.changed) {
    const reason = waitReasonOf(chunk.out[j]);
    const at = chunk.positions[j]!;
    if (reason !== undefined && (firsts.get(reason)?.firstAt ?? Infinity) > at)
      firsts.set(reason, { first: chunk.out[j]!, firstAt: at });
  }
  const waiting = new Map<string, WaitTally>();
  for (const [reason, f] of [...firsts].sort(([, a], [, b]) => a.firstAt - b.firstAt)) {
    const count = counts.get(reason) ?? 0;
    if (count > 0) waiting.set(reason, { count, ...f });
  }
  return waiting;
}

function tallyOf(chunk: ClusterChunk, units: Units, to: string): ClusterTally {
  const known = tallies.get(chunk);
  if (known !== undefined && known.to === to) return known.tally;
  const step = takeStep(chunk);
  const prev = step === undefined ? undefined : tallies.get(step.prev);
  const kept = prev !== undefined && prev.to === to ? retallied(chunk, units, prev, step!) : tallied(chunk, units, to);
  tallies.set(chunk, kept);
  return kept.tally;
}

/**
 * Wave `w`'s units counted per cluster, in the order of each cluster's first unit in the wave. Proportional to
 * the clusters of the wave plus the units of those that reported since the last call (issue 15): the operator's
 * status poll and each decision's deadline projection read it.
 */
export function waveTallies(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  w: number,
): ClusterTally[] {
  const units = waveUnitsOf(record, state, w);
  const to = record.spec.spec.to;
  return observeWaveChunks(record, state, observations, w).chunks.map((c) => tallyOf(c, units, to));
}
