import { UnitState, UnitWaitReason, type UnitProgressEntry } from '@meshwave/contracts';
import type { Observations, RolloutRecord, RolloutState } from './rollout-state.js';
import { indexOfReport, observeWaveChunks, type ClusterChunk, type UnitObservation } from './unit-observations.js';
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

// A tally per chunk object and `to`: a chunk is the same object while what it was observed from is (its report,
// the wave's membership and exclusions), and that is all a tally derives from.
const tallies = new WeakMap<ClusterChunk, { readonly to: string; readonly tally: ClusterTally }>();

function tallyOf(chunk: ClusterChunk, units: ReturnType<typeof waveUnitsOf>, to: string): ClusterTally {
  const known = tallies.get(chunk);
  if (known !== undefined && known.to === to) return known.tally;
  const counts = { pending: 0, moving: 0, converged: 0, failed: 0 };
  const failed: { at: number; unit: UnitObservation }[] = [];
  const waiting = new Map<string, WaitTally>();
  const index = chunk.inputs.report === undefined ? undefined : indexOfReport(chunk.inputs.report);
  let total = 0;
  let onTarget = 0;
  chunk.out.forEach((o, j) => {
    if (o === undefined) return;
    const at = chunk.positions[j]!;
    total++;
    counts[o.status]++;
    if (o.status === 'failed' && failed.length < FAILED_KEPT) failed.push({ at, unit: o });
    if (o.status === 'pending' && o.reason !== undefined && WAIT_REASONS.has(o.reason)) {
      const w = waiting.get(o.reason);
      waiting.set(o.reason, w === undefined ? { count: 1, first: o, firstAt: at } : { ...w, count: w.count + 1 });
    }
    if (index === undefined) return;
    const u = units[at]!;
    const own = index.byKey.get(u.local);
    const entries = own !== undefined ? [own] : u.kind === undefined ? (index.byNamespace.get(u.namespace) ?? []) : [];
    if (entries.length > 0 && entries.every((e) => runningRevision(e) === to)) onTarget++;
  });
  // an observation is fresh when its cluster's report is for the latest generation and the wave went out
  const fresh = chunk.inputs.fresh && chunk.inputs.dispatched && chunk.inputs.report !== undefined;
  const moving = fresh ? total - counts.converged : total;
  const tally: ClusterTally = { cluster: chunk.cluster, total, counts, moving, onTarget, failed, waiting };
  tallies.set(chunk, { to, tally });
  return tally;
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
