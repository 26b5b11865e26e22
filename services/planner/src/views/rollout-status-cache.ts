import type { WaveStatus } from '@meshwave/contracts';
import type { Observations, RolloutRecord, RolloutState } from '../core/rollout-state.js';
import { buildWaveStatuses } from './rollout-status.js';

/** A rollout as a status read gets it: its record, its state with the state document's version, the reports. */
export interface StatusInputs {
  readonly record: RolloutRecord;
  readonly state: RolloutState;
  readonly stateVersion: number;
  readonly observations: Observations;
}

/** The inputs wave statuses were built from, by identity: a report replaced is a new object. */
interface Built {
  readonly record: RolloutRecord;
  readonly stateVersion: number;
  readonly reports: readonly unknown[];
  readonly waves: readonly WaveStatus[];
}

/** Rollouts whose last wave statuses are kept (the ones being watched; a rollout read again moves to the end). */
export const STATUS_CACHE_ROLLOUTS = 16;

function reportsOf(observations: Observations): unknown[] {
  return [
    ...observations.clusters.entries(),
    ...observations.vmGroups.entries(),
    ...observations.health.entries(),
  ].flat();
}

const sameReports = (a: readonly unknown[], b: readonly unknown[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The wave statuses of a status read, built again only when what they derive from changed: the rollout's record
 * (the same object while its version is, ADR 0032), its state's stored version, and each cluster's, VM group's and
 * health report: an unchanged poll answers the same statuses. A poll after some reports changed builds them from
 * per-cluster and per-group tallies, counting again only the clusters and groups that reported (buildWaveStatuses;
 * the demo, the CLI and each dashboard tab read the status several times a second). The rest of the status (estimate, deadline, transitions) is derived on every read: it depends
 * on the time and costs what the waves count.
 */
export class RolloutStatusCache {
  private readonly built = new Map<string, Built>();

  constructor(private readonly kept = STATUS_CACHE_ROLLOUTS) {}

  wavesOf(id: string, inputs: StatusInputs): readonly WaveStatus[] {
    const reports = reportsOf(inputs.observations);
    const last = this.built.get(id);
    this.built.delete(id);
    const fresh =
      last !== undefined &&
      last.record === inputs.record &&
      last.stateVersion === inputs.stateVersion &&
      sameReports(last.reports, reports);
    const waves = fresh ? last.waves : buildWaveStatuses(inputs.record, inputs.state, inputs.observations);
    this.built.set(id, { record: inputs.record, stateVersion: inputs.stateVersion, reports, waves });
    for (const oldest of this.built.keys()) {
      if (this.built.size <= this.kept) break;
      this.built.delete(oldest);
    }
    return waves;
  }
}
