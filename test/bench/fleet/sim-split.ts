// How the process mode splits the simulated fleet over processes (issue 15, ADR 0067): one Node thread running
// fleet (b)'s 50 clusters, their agents and the vm-bridge with 10,000 hosts answered no scrape for minutes, so the
// clusters are dealt over several simulator processes and the bridge with its hosts runs in one of its own. Pure.
import type { DemoFleetConfig } from '@meshwave/cli';

/** What one simulator process plays: these clusters (with their agents), and the vm-bridge with its hosts or not. */
export interface SimulatorPart {
  readonly clusters: readonly string[];
  readonly vmBridge: boolean;
}

/** Simulator processes for the clusters when not told: one per core, two at least, never more than clusters. */
export function defaultClusterProcesses(clusters: number, parallelism: number): number {
  return Math.max(1, Math.min(clusters, Math.max(2, parallelism)));
}

/**
 * The fleet's clusters dealt in turn over `clusterProcesses` processes (so each process holds some of every wave:
 * the first clusters are staging), capped at one per cluster; the vm-bridge and its hosts in a process of their
 * own after them when the fleet has VM groups. No process is empty.
 */
export function splitSimulatedFleet(fleet: DemoFleetConfig, clusterProcesses: number): SimulatorPart[] {
  if (!Number.isInteger(clusterProcesses) || clusterProcesses < 1)
    throw new RangeError(`simulator processes: a whole number of 1 or more, not ${clusterProcesses}`);
  const n = Math.min(clusterProcesses, fleet.clusters.length);
  const groups: string[][] = Array.from({ length: n }, () => []);
  fleet.clusters.forEach((c, i) => groups[i % n]!.push(c.name));
  const parts: SimulatorPart[] = groups.map((clusters) => ({ clusters, vmBridge: false }));
  if (fleet.vmGroups.length > 0) parts.push({ clusters: [], vmBridge: true });
  return parts;
}

/**
 * The part of the fleet a simulator process plays, as a fleet: the named clusters with their gateways and
 * ambient nodes, and the VM groups only if it runs the bridge. Names not in the fleet are an error.
 */
export function fleetOfPart(fleet: DemoFleetConfig, part: SimulatorPart): DemoFleetConfig {
  const names = new Set(part.clusters);
  const unknown = part.clusters.filter((name) => !fleet.clusters.some((c) => c.name === name));
  if (unknown.length > 0) throw new RangeError(`simulator part: no cluster ${unknown.join(', ')} in the fleet`);
  return {
    ...fleet,
    clusters: fleet.clusters.filter((c) => names.has(c.name)),
    vmGroups: part.vmBridge ? fleet.vmGroups : [],
    gateways: fleet.gateways.filter((g) => names.has(g.cluster)),
    ambient: fleet.ambient.filter((a) => names.has(a.cluster)),
    faults: {
      crashLoop: fleet.faults.crashLoop.filter((f) => names.has(f.cluster)),
      slowRollout: fleet.faults.slowRollout.filter((f) => names.has(f.cluster)),
      sidecarMismatch: fleet.faults.sidecarMismatch.filter((f) => names.has(f.cluster)),
    },
  };
}

/** The arguments naming a part on the simulator's command line (fleet-simulator.ts). */
export function partArgs(part: SimulatorPart): string[] {
  return ['--clusters', part.clusters.join(','), ...(part.vmBridge ? ['--vm-bridge'] : [])];
}

/** A part from the simulator's command line; the whole fleet when neither is given (as before the split). */
export function partOf(fleet: DemoFleetConfig, clusters: string | undefined, vmBridge: boolean): SimulatorPart {
  if (clusters === undefined && !vmBridge) return { clusters: fleet.clusters.map((c) => c.name), vmBridge: true };
  return { clusters: (clusters ?? '').split(',').filter((n) => n !== ''), vmBridge };
}

/** The ground truth of the whole fleet from each process's: units summed, VM groups together. */
export function sumGroundTruth<G>(
  parts: readonly {
    units: { total: number; onTarget: number };
    vmGroups: readonly G[];
    peakRestarting: Readonly<Record<string, number>>;
  }[],
): { units: { total: number; onTarget: number }; vmGroups: G[]; peakRestarting: Record<string, number> } {
  return {
    peakRestarting: Object.assign({}, ...parts.map((p) => p.peakRestarting)) as Record<string, number>,
    units: {
      total: parts.reduce((n, p) => n + p.units.total, 0),
      onTarget: parts.reduce((n, p) => n + p.units.onTarget, 0),
    },
    vmGroups: parts.flatMap((p) => p.vmGroups),
  };
}
