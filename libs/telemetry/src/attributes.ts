/**
 * Span and log attribute names shared by every service, so one query finds a rollout's spans and log lines
 * across planner, agents and bridge.
 */
export const MeshwaveAttribute = {
  RolloutId: 'meshwave.rollout.id',
  Wave: 'meshwave.wave',
  Cluster: 'meshwave.cluster',
  VmGroup: 'meshwave.vmgroup',
  Generation: 'meshwave.generation',
  Epoch: 'meshwave.epoch',
} as const;
export type MeshwaveAttribute = (typeof MeshwaveAttribute)[keyof typeof MeshwaveAttribute];

/** The ids a log line or span carries; all optional because not every step knows every id. */
export interface RolloutIds {
  readonly rolloutId?: string;
  readonly wave?: number;
  readonly cluster?: string;
  readonly vmGroup?: string;
}

/** Span attributes for `ids`, leaving out the unknown ones. */
export function rolloutAttributes(ids: RolloutIds): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (ids.rolloutId !== undefined) out[MeshwaveAttribute.RolloutId] = ids.rolloutId;
  if (ids.wave !== undefined) out[MeshwaveAttribute.Wave] = ids.wave;
  if (ids.cluster !== undefined) out[MeshwaveAttribute.Cluster] = ids.cluster;
  if (ids.vmGroup !== undefined) out[MeshwaveAttribute.VmGroup] = ids.vmGroup;
  return out;
}
