import { changedSince } from './report-index.js';
import type { ChunkInputs, ClusterChunk, UnitObservation } from './unit-observations.js';
import type { ParsedUnit } from './wave-units.js';

/**
 * A chunk brought from the one before it (ADR 0068): `changed` are the indexes (into `positions` and `out`) of the
 * units observed again, ascending; the others are the previous chunk's observations, the same objects.
 */
export interface ChunkStep {
  readonly prev: ClusterChunk;
  readonly changed: readonly number[];
}

/** A cluster's units of a wave by the keys its agent's report names them by (indexes into the chunk). */
interface ChunkKeys {
  /** by `namespace` or `namespace/kind/name` */
  readonly byLocal: Map<string, number[]>;
  /** namespace units by their namespace: any of its workloads' entries counts for them */
  readonly namespaceUnits: Map<string, number[]>;
}

// per cluster's positions in a wave (one array per wave's unit list and cluster, kept as long as the layout is)
const keysOf = new WeakMap<readonly number[], ChunkKeys>();
// the step a chunk was made by, until what is derived from the chunk (its tally) took it into account
const steps = new WeakMap<ClusterChunk, ChunkStep>();

function chunkKeys(positions: readonly number[], units: readonly ParsedUnit[]): ChunkKeys {
  let keys = keysOf.get(positions);
  if (keys !== undefined) return keys;
  keys = { byLocal: new Map(), namespaceUnits: new Map() };
  const add = (map: Map<string, number[]>, key: string, j: number): void => {
    const list = map.get(key);
    if (list === undefined) map.set(key, [j]);
    else list.push(j);
  };
  positions.forEach((i, j) => {
    const u = units[i]!;
    add(keys.byLocal, u.local, j);
    if (u.kind === undefined) add(keys.namespaceUnits, u.namespace, j);
  });
  keysOf.set(positions, keys);
  return keys;
}

/**
 * `chunk` brought to `inputs`, which differ from its own in the report only, by observing again just the units
 * the deltas between the two reports named (issue 15: a progress delta of a few units no longer observes its
 * cluster's every unit). Undefined when the reports are not known to be related by deltas, or most units
 * changed: then the chunk is observed whole. `observe` observes one unit from `inputs`.
 */
export function updatedChunk(
  chunk: ClusterChunk,
  inputs: ChunkInputs,
  units: readonly ParsedUnit[],
  observe: (u: ParsedUnit) => UnitObservation | undefined,
): ClusterChunk | undefined {
  const before = chunk.inputs.report;
  if (before === undefined || inputs.report === undefined) return undefined;
  const keys = changedSince(before, inputs.report);
  if (keys === undefined || keys.size > chunk.positions.length / 2) return undefined;
  const { byLocal, namespaceUnits } = chunkKeys(chunk.positions, units);
  const touched = new Set<number>();
  for (const k of keys) {
    for (const j of byLocal.get(k) ?? []) touched.add(j);
    const slash = k.indexOf('/');
    for (const j of namespaceUnits.get(slash < 0 ? k : k.slice(0, slash)) ?? []) touched.add(j);
  }
  const changed = [...touched].sort((a, b) => a - b);
  const out = chunk.out.slice();
  for (const j of changed) out[j] = observe(units[chunk.positions[j]!]!);
  const next: ClusterChunk = { cluster: chunk.cluster, positions: chunk.positions, inputs, out };
  // one step back at most: a chunk whose own tally was never taken is not kept alive by its successor's step
  steps.delete(chunk);
  steps.set(next, { prev: chunk, changed });
  return next;
}

/** The step `chunk` was made by, once: taking it releases the previous chunk. */
export function takeStep(chunk: ClusterChunk): ChunkStep | undefined {
  const step = steps.get(chunk);
  steps.delete(chunk);
  return step;
}
