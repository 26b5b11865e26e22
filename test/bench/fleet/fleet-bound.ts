// The time a rollout cannot beat on a fleet, computed from the plan the planner returned and the fleet's
// simulated timing. It follows the engine's semantics:
// - waves run one after another: a wave is dispatched when the previous one passed its gates, and a wave
//   passes no earlier than its convergence plus its soak (the gates are taken as judging instantly);
// - within a wave, clusters and VM groups converge in parallel (one agent per cluster, the bridge per group);
// - within a cluster at most `maxUnavailable` units (the plan's per-cluster figure, which the engine sends to
//   the agent) restart at once; a unit takes its pod starts one after another (the simulated cluster surges
//   ceil(25%) of a Deployment's replicas per step, one pod per step for StatefulSets and DaemonSets), so a
//   cluster needs at least max(sum of unit times / maxUnavailable, the longest unit);
// - a VM group restarts one planned batch at a time, each taking the simulated proxy's restart time;
// - each unit start is one PATCH against the agent's Kubernetes QPS budget (50/s by default). The simulated
//   clusters do not rate-limit, so that term is printed, and counted only in the "with QPS" bound.
import { demoWorkloadNames, demoWorkloadReplicas, type DemoFleetConfig } from '@meshwave/cli';
import type { Plan } from '@meshwave/contracts';

/** the agent's default client-side Kubernetes rate limit, requests per second (MESHWAVE_KUBE_QPS) */
export const AGENT_QPS = 50;

export interface WaveBound {
  readonly wave: string;
  readonly units: number;
  readonly clusters: number;
  /** the plan's per-cluster maxUnavailable, smallest and largest */
  readonly maxUnavailable: readonly [number, number];
  /** slowest cluster's pod-start term, seconds */
  readonly podSeconds: number;
  /** slowest cluster's QPS term, seconds (not enforced by simulated clusters) */
  readonly qpsSeconds: number;
  readonly vmHosts: number;
  /** most batches of any VM group in this wave */
  readonly vmBatches: number;
  readonly vmSeconds: number;
  readonly soakSeconds: number;
  /** max(pod, vm) + soak */
  readonly seconds: number;
  /** max(pod, qps, vm) + soak */
  readonly secondsWithQps: number;
}

export interface FleetBound {
  readonly waves: readonly WaveBound[];
  readonly seconds: number;
  readonly secondsWithQps: number;
}

/** Pod starts one after another for one unit, as the simulated cluster's rollout step takes them. */
function podSteps(kind: string, replicas: number): number {
  const perStep = kind === 'Deployment' ? Math.max(1, Math.ceil(replicas * 0.25)) : 1;
  return Math.ceil(replicas / perStep);
}

export function fleetBound(plan: Plan, fleet: DemoFleetConfig): FleetBound {
  const { podStartMs, vmRestartMs } = fleet.timing;
  const most = Math.max(...fleet.clusters.map((c) => c.workloadsPerNamespace));
  const replicasByName = new Map(demoWorkloadNames(most).map((name, i) => [name, demoWorkloadReplicas(i)]));
  const waves = plan.waves.map((w): WaveBound => {
    const perCluster = new Map<string, { work: number; longest: number; units: number }>();
    for (const u of w.workloads) {
      const replicas = replicasByName.get(u.name);
      if (replicas === undefined) throw new Error(`unit ${u.name} is not a generated workload`);
      const seconds = (podSteps(u.kind, replicas) * podStartMs) / 1000;
      const c = perCluster.get(u.cluster) ?? { work: 0, longest: 0, units: 0 };
      c.work += seconds;
      c.longest = Math.max(c.longest, seconds);
      c.units++;
      perCluster.set(u.cluster, c);
    }
    let podSeconds = 0;
    let qpsSeconds = 0;
    for (const c of w.clusters) {
      const load = perCluster.get(c.cluster);
      if (load === undefined) continue;
      podSeconds = Math.max(podSeconds, load.work / Math.max(1, c.maxUnavailable), load.longest);
      qpsSeconds = Math.max(qpsSeconds, load.units / AGENT_QPS);
    }
    const batches = new Map<string, number>();
    for (const h of w.vmHosts) batches.set(h.group, Math.max(batches.get(h.group) ?? 0, h.batch + 1));
    const vmBatches = Math.max(0, ...batches.values());
    const vmSeconds = (vmBatches * vmRestartMs) / 1000;
    const mu = w.clusters.map((c) => c.maxUnavailable);
    return {
      wave: w.name,
      units: w.units.length,
      clusters: w.clusters.length,
      maxUnavailable: mu.length === 0 ? [0, 0] : [Math.min(...mu), Math.max(...mu)],
      podSeconds,
      qpsSeconds,
      vmHosts: w.vmHosts.length,
      vmBatches,
      vmSeconds,
      soakSeconds: w.soakSeconds,
      seconds: Math.max(podSeconds, vmSeconds) + w.soakSeconds,
      secondsWithQps: Math.max(podSeconds, qpsSeconds, vmSeconds) + w.soakSeconds,
    };
  });
  return {
    waves,
    seconds: waves.reduce((s, w) => s + w.seconds, 0),
    secondsWithQps: waves.reduce((s, w) => s + w.secondsWithQps, 0),
  };
}

/** The bound's terms, one line per wave. */
export function formatBound(bound: FleetBound): string {
  const s = (x: number): string => `${x.toFixed(1)} s`;
  const lines = bound.waves.map(
    (w) =>
      `  ${w.wave.padEnd(12)} ${String(w.units).padStart(6)} units in ${String(w.clusters).padStart(2)} clusters ` +
      `(maxUnavailable ${w.maxUnavailable[0]}..${w.maxUnavailable[1]}): pods ${s(w.podSeconds)}, ` +
      `QPS ${s(w.qpsSeconds)}; ${w.vmHosts} VM hosts in ${w.vmBatches} batches: ${s(w.vmSeconds)}; ` +
      `soak ${s(w.soakSeconds)} => ${s(w.seconds)} (with QPS ${s(w.secondsWithQps)})`,
  );
  lines.push(`  bound ${s(bound.seconds)} (with the ${AGENT_QPS}/s QPS budget: ${s(bound.secondsWithQps)})`);
  return lines.join('\n');
}
