import type { Plan, RolloutStatus } from '@meshwave/contracts';
import type { EmbeddedFleet } from './embedded-fleet.js';
import type { ProcessStats } from './process-stats.js';
import {
  nodeAgentsOnTarget,
  overMaxUnavailable,
  peakRestarting,
  vmHostsOnTarget,
  workloadsOnTarget,
  type NodeAgentsTruth,
  type OverMaxUnavailable,
} from './demo-ground-truth.js';
import { progressOf, type DemoProgressLine } from './demo-progress.js';

/** The demo's summary (`--json`): what scripts and tests read. */
export interface DemoSummary {
  readonly rollout: string;
  /** the rollout's phase at the end; a run stopped by a signal ends in the phase it was in (`stoppedBy` says so) */
  readonly phase: string;
  /** the wave the rollout was at */
  readonly wave: DemoProgressLine['wave'];
  readonly units: { readonly total: number; readonly onTarget: number };
  readonly vmHosts: { readonly total: number; readonly onTarget: number };
  /** ambient mode's node-agent pods on their template and nodes left cordoned (ADR 0051) */
  readonly nodeAgents: NodeAgentsTruth;
  readonly halts: number;
  readonly failbacks: number;
  readonly durationSeconds: number;
  /** from applying the rollout to its end (the rest of `durationSeconds` is the fleet's start-up) */
  readonly rolloutSeconds: number;
  /** units and VM hosts failed at the end, and units the demo operator excluded after a failure */
  readonly failedUnits: number;
  readonly excluded: number;
  /**
   * clusters whose apiserver saw more workloads restarting at once than the plan's largest maxUnavailable there
   * (ground truth from the simulated clusters; empty when none)
   */
  readonly overMaxUnavailable: readonly OverMaxUnavailable[];
  /**
   * the deadline's pacing factor at the end: 1 while the rollout was never judged at risk of its deadline; above 1,
   * it was, and concurrency was raised that much (within `pacing.maxUnavailableCeiling`)
   */
  readonly pacingFactor: number;
  /** present when a signal stopped the demo before the rollout ended (the fleet benchmark's deadline) */
  readonly stoppedBy?: string;
  readonly process: ProcessStats;
}

/** What a rollout's status says of its end: halts, failbacks, units and hosts failed, exclusions. */
export function rolloutOutcome(
  status: RolloutStatus,
): Pick<
  DemoSummary,
  'rollout' | 'phase' | 'wave' | 'halts' | 'failbacks' | 'failedUnits' | 'excluded' | 'pacingFactor'
> {
  return {
    rollout: status.id,
    phase: status.phase,
    wave: progressOf(status).wave,
    halts: status.transitions.filter((t) => t.trigger === 'gate-failed').length,
    failbacks: status.transitions.filter((t) => t.trigger === 'rollback-started' || t.to === 'RollingBack').length,
    failedUnits: status.waveStatuses.reduce((n, w) => n + w.units.failed + w.vmHosts.failed, 0),
    excluded: status.excluded.length,
    pacingFactor: status.burndown?.pacing?.factor ?? 1,
  };
}

/** Ground truth, read from the simulated clusters and hosts, not from the planner's view. */
export async function summarize(
  fleet: EmbeddedFleet,
  run: { status: RolloutStatus; plan: Plan; startedAt: number; appliedAt: number; stoppedBy?: string },
  stats: { stop(): ProcessStats },
): Promise<DemoSummary> {
  const { status, plan } = run;
  const to = status.to;
  return {
    ...rolloutOutcome(status),
    units: await workloadsOnTarget(fleet.clusters, new Set(status.excluded), to),
    vmHosts: vmHostsOnTarget(plan, fleet.vms.inventory(), to),
    nodeAgents: await nodeAgentsOnTarget(fleet.clusters),
    overMaxUnavailable: overMaxUnavailable(plan, peakRestarting(fleet.clusters)),
    durationSeconds: Math.round((Date.now() - run.startedAt) / 100) / 10,
    rolloutSeconds: Math.round((Date.now() - run.appliedAt) / 100) / 10,
    ...(run.stoppedBy === undefined ? {} : { stoppedBy: run.stoppedBy }),
    process: stats.stop(),
  };
}
