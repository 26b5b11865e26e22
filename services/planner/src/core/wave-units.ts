import type { RolloutRecord, RolloutState } from './rollout-state.js';
import { processValues } from './shared-values.js';

/** `cluster/namespace/kind/name` → its parts. */
export function parseUnit(unit: string): { cluster: string; namespace: string; kind?: string; name?: string } {
  const [cluster = '', namespace = '', kind, name] = unit.split('/');
  return kind !== undefined && name !== undefined ? { cluster, namespace, kind, name } : { cluster, namespace };
}

export interface ParsedUnit {
  readonly unit: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly kind?: string;
  readonly name?: string;
  /** key inside its cluster, as agents report it: `namespace` or `namespace/kind/name` */
  readonly local: string;
}

/**
 * A planned unit's parts, held as long as its wave is: the cluster, namespace and kind are the process's shared
 * strings (a wave of 81,000 units names a few hundred of them), and the object has one shape.
 */
const parsed = (unit: string): ParsedUnit => {
  const [cluster = '', namespace = '', kind, name] = unit.split('/');
  const local = unit.slice(cluster.length + 1);
  const c = processValues.string(cluster);
  const ns = processValues.string(namespace);
  return kind !== undefined && name !== undefined
    ? { unit, cluster: c, namespace: ns, kind: processValues.string(kind), name, local }
    : { unit, cluster: c, namespace: ns, local };
};

// Parsing unit strings is the hot path of a reconcile on a large fleet; a wave's units never change, so they
// are parsed once per planned wave (a memo: the result depends on the wave only).
const parsedWaves = new WeakMap<object, readonly ParsedUnit[]>();

export function parsedUnitsOf(planned: { readonly units: readonly string[] }): readonly ParsedUnit[] {
  let units = parsedWaves.get(planned);
  if (units === undefined) {
    units = planned.units.map(parsed);
    parsedWaves.set(planned, units);
  }
  return units;
}

/**
 * Who took part in which wave, kept in the rollout's state (absent: the plan as made, nobody silent). Keys are
 * wave indexes. A wave's units are its planned units plus `added`, minus `skipped` (waveUnitsOf).
 */
export interface WaveMembership {
  /** the clusters each started wave took when it started (its snapshot; later joiners do not change it) */
  readonly snapshots: Readonly<Record<string, readonly string[]>>;
  /** units a wave took beyond its plan: a cluster's that joined after creation, or skipped units coming back */
  readonly added: Readonly<Record<string, readonly string[]>>;
  /** units a wave left out because their cluster was Unreachable (`onUnreachable: skip`) */
  readonly skipped: Readonly<Record<string, readonly string[]>>;
  /** clusters of the current wave Unreachable at the last decision, with the instant they went silent */
  readonly unreachable: Readonly<Record<string, string>>;
}

// A wave whose membership changed is built once per content of its changes (units added and skipped), not per
// state object: a status read parses the stored state afresh each time, and a new list per read would make every
// unit of the wave be observed again (the observations are kept per list, unit-observations.ts).
// (First by the membership object, as a decision's calls share it, then by content.)
const byMembership = new WeakMap<WaveMembership, Map<number, readonly ParsedUnit[]>>();
const effective = new WeakMap<object, { readonly key: string; readonly units: readonly ParsedUnit[] }>();

/** The units wave `w` moves: its planned units plus those added (a joined cluster's, comebacks), minus those skipped. */
export function waveUnitsOf(record: RolloutRecord, state: RolloutState, w: number): readonly ParsedUnit[] {
  const planned = record.plan.waves[w];
  if (planned === undefined) return [];
  const m = state.membership;
  const added = m?.added[w] ?? [];
  const skipped = m?.skipped[w] ?? [];
  if (m === undefined || (added.length === 0 && skipped.length === 0)) return parsedUnitsOf(planned);
  let waves = byMembership.get(m);
  if (waves === undefined) byMembership.set(m, (waves = new Map()));
  const own = waves.get(w);
  if (own !== undefined) return own;
  const key = `${added.join('\n')}\u0000${skipped.join('\n')}`;
  const known = effective.get(planned);
  let units = known?.key === key ? known.units : undefined;
  if (units === undefined) {
    const left = new Set(skipped);
    units = [...parsedUnitsOf(planned), ...added.map(parsed)].filter((u) => !left.has(u.unit));
    effective.set(planned, { key, units });
  }
  waves.set(w, units);
  return units;
}

/**
 * Units skipped and not taken back by a later wave since: they come back at the next wave's start (or the
 * forced wave's) once their cluster is reachable. Per unit, the wave that last skipped it.
 */
export function pendingSkips(m: WaveMembership | undefined, beforeWave = Infinity): Map<string, number> {
  const out = new Map<string, number>();
  if (m === undefined) return out;
  const lastAdded = new Map<string, number>();
  for (const [k, units] of Object.entries(m.added))
    for (const u of units) lastAdded.set(u, Math.max(lastAdded.get(u) ?? -1, Number(k)));
  for (const [k, units] of Object.entries(m.skipped)) {
    const w = Number(k);
    if (w >= beforeWave) continue;
    for (const u of units) if ((lastAdded.get(u) ?? -1) <= w && (out.get(u) ?? -1) < w) out.set(u, w);
  }
  return out;
}
