// The fleet benchmark's process mode: what it reads of the processes it runs (simulators' /proc samples, the
// planner's loop delay) and the summary of a run, from the planner's status and the simulators' ground truth.
import { performance } from 'node:perf_hooks';
import { rolloutOutcome, overMaxUnavailable, vmHostsOnTarget } from '@meshwave/cli';
import type { GateVerdict, Plan, RolloutStatus, VmGroup } from '@meshwave/contracts';
import { sample, type EmbeddedRun } from './embedded-run.ts';
import type { Simulators } from './sim-processes.ts';

/** each simulator process's CPU seconds and RSS now, from /proc */
export function simulatorSamples(pids: readonly number[]): string {
  if (pids.length === 0) return '-';
  return pids
    .map((pid) => sample(pid))
    .map((s) => (s === undefined ? '-' : `${s.cpuSeconds.toFixed(0)}/${s.peakRssMb.toFixed(0)}`))
    .join(' ');
}

export const byTime = (a: GateVerdict, b: GateVerdict): number => a.at.localeCompare(b.at);

const round = (x: number): number => Math.round(x * 10) / 10;

/** The planner's own p99 per 5 s window, sampled each second: the median window and the worst one. */
export function loopDelayOf(samples: readonly number[]): { p99Ms: number; maxMs: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p99Ms: round(sorted[Math.floor(sorted.length / 2)] ?? 0), maxMs: round(sorted.at(-1) ?? 0) };
}

/** The demo's summary line, from the planner's status and the simulator's ground truth. */
export async function summarize(
  status: RolloutStatus,
  plan: Plan,
  simulators: Simulators,
  m: { startedAt: number; appliedAt: number; cpuSeconds: number; peakRssMb: number; loopDelays: number[] },
): Promise<NonNullable<EmbeddedRun['summary']>> {
  const truth = await simulators.groundTruth<VmGroup>(status.to, status.excluded);
  const loop = loopDelayOf(m.loopDelays);
  return {
    ...rolloutOutcome(status),
    units: truth.units,
    vmHosts: vmHostsOnTarget(plan, truth.vmGroups, status.to),
    overMaxUnavailable: overMaxUnavailable(plan, truth.peakRestarting),
    durationSeconds: round((performance.now() - m.startedAt) / 1000),
    rolloutSeconds: round((Date.now() - m.appliedAt) / 1000),
    process: {
      cpuSeconds: round(m.cpuSeconds),
      peakRssMb: Math.round(m.peakRssMb),
      loopDelayP99Ms: loop.p99Ms,
      loopDelayMaxMs: loop.maxMs,
    },
  };
}
