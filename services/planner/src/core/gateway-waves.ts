import {
  GatewayKind,
  UnitState,
  type GatewayPin,
  type GatewayStepCommand,
  type PlannedGateway,
} from '@meshwave/contracts';
import type { Observations, RolloutRecord, RolloutState } from './rollout-state.js';
import { firstGatewayWave, gatewayStepAt, waveCountOf } from './step-waves.js';
import { UnitStatus, type UnitObservation } from './unit-observations.js';

// The gateway steps as waves of the engine (ADR 0050): the last extra step waves (step-waves.ts), after the
// ambient steps. Dispatch, soak, gates, approval, halts and failback are the waves' own; this module only says what
// a gateway wave is made of and what its gateways should be at.

/** The unit key a gateway is observed and gated under: its Deployment's, as a workload's would be. */
export const gatewayUnitKey = (g: PlannedGateway): string => `${g.cluster}/${g.namespace}/Deployment/${g.name}`;

/**
 * Every gateway some step moves, with the share of its replicas it should have on `to` now: that of the newest
 * dispatched step naming it and not rolled back, 0 when none (taken back, or no step dispatched yet).
 */
export function gatewayShares(
  record: RolloutRecord,
  state: RolloutState,
): Map<string, { gateway: PlannedGateway; percent: number }> {
  const out = new Map<string, { gateway: PlannedGateway; percent: number }>();
  const first = firstGatewayWave(record);
  record.plan.gatewaySteps.forEach((step, i) => {
    const w = first + i;
    const live = w < state.dispatchedWaves && !state.rolledBackWaves.includes(w);
    for (const g of step.gateways) {
      const key = gatewayUnitKey(g);
      const known = out.get(key);
      if (live) out.set(key, { gateway: g, percent: step.percent });
      else if (known === undefined) out.set(key, { gateway: g, percent: 0 });
    }
  });
  return out;
}

/**
 * Each cluster's gateway commands: every gateway at its share, once a gateway step went out (before that the
 * agents are told nothing, so no gateway is touched). The old Deployments go only once the rollout completed: until
 * then a failback can still take every step back.
 */
export function gatewayCommandsOf(record: RolloutRecord, state: RolloutState): Map<string, GatewayStepCommand[]> {
  const out = new Map<string, GatewayStepCommand[]>();
  if (state.dispatchedWaves <= firstGatewayWave(record)) return out;
  const completed = state.phase === 'Completed';
  const { to, tag } = record.spec.spec;
  for (const { gateway: g, percent } of gatewayShares(record, state).values()) {
    const list = out.get(g.cluster) ?? [];
    list.push({
      namespace: g.namespace,
      name: g.name,
      revision: to,
      percent,
      removeOld: completed && percent === 100 && g.kind === GatewayKind.Injected,
      ...(g.kind === GatewayKind.GatewayApi ? { kind: GatewayKind.GatewayApi } : {}),
      ...(g.kind === GatewayKind.GatewayApi && tag !== undefined ? { tag } : {}),
    });
    out.set(g.cluster, list);
  }
  return out;
}

/**
 * With `spec.tag`, each cluster's Gateway API Gateways the rollout's `gateway-api` step moves (ADR 0056): the agent
 * pins them to the revision the tag names before it moves the tag, so istiod does not restart them at the cluster's
 * first wave (istio/istio#59959) but in their own step. Empty without a tag.
 */
export function gatewayPinsOf(record: RolloutRecord): Map<string, GatewayPin[]> {
  const out = new Map<string, GatewayPin[]>();
  if (record.spec.spec.tag === undefined) return out;
  for (const step of record.plan.gatewaySteps)
    for (const g of step.gateways) {
      if (g.kind !== GatewayKind.GatewayApi || g.gatewayName === undefined) continue;
      const list = out.get(g.cluster) ?? [];
      list.push({ namespace: g.namespace, gatewayName: g.gatewayName });
      out.set(g.cluster, list);
    }
  return out;
}

const STATUS_OF: Record<string, UnitStatus> = {
  pending: UnitStatus.Pending,
  restarting: UnitStatus.Moving,
  converged: UnitStatus.Converged,
  failed: UnitStatus.Failed,
};

/**
 * The gateways of gateway waves `waves`, each with its status at the share it should have now, as its cluster's
 * agent reported it (`UnitProgress.gateways`): a report about another share is pending. The agent-report gate
 * judges them as it judges units (converged, failed, reports missing).
 */
export function observeGateways(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  waves: readonly number[],
): UnitObservation[] {
  const shares = gatewayShares(record, state);
  const seen = new Set<string>();
  const out: UnitObservation[] = [];
  for (const w of waves) {
    const step = gatewayStepAt(record, w);
    if (step === undefined) continue;
    for (const g of step.gateways) {
      const unit = gatewayUnitKey(g);
      if (seen.has(unit)) continue;
      seen.add(unit);
      const percent = shares.get(unit)?.percent ?? 0;
      const report = observations.clusters.get(g.cluster);
      const sent = state.targets[`cluster/${g.cluster}`]?.generation ?? 0;
      const entry = report?.gateways?.find(
        (e) => e.namespace === g.namespace && e.name === g.name && e.percent === percent,
      );
      const dispatched = w < state.dispatchedWaves;
      out.push({
        unit,
        cluster: g.cluster,
        wave: w,
        desired: `${record.spec.spec.to}@${percent}%`,
        status: dispatched && entry !== undefined ? (STATUS_OF[entry.state] ?? UnitStatus.Pending) : UnitStatus.Pending,
        fresh: dispatched && report !== undefined && report.generation >= sent,
        ...(entry?.state === UnitState.Failed ? { reason: 'GatewayStepFailed' } : {}),
        ...(entry?.reason !== undefined ? { message: entry.reason } : {}),
        crashLooping: false,
        sidecarMismatch: false,
        restarts: 0,
      });
    }
  }
  return out;
}

/** Gateway waves dispatched and not yet taken back, newest first: a failback takes them back in this order. */
export function gatewayWavesToTakeBack(record: RolloutRecord, state: RolloutState): number[] {
  const first = firstGatewayWave(record);
  const out: number[] = [];
  for (let w = Math.min(state.dispatchedWaves, waveCountOf(record)) - 1; w >= first; w--)
    if (!state.rolledBackWaves.includes(w)) out.push(w);
  return out;
}
