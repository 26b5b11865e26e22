import type { PlannedAmbientStep, PlannedGatewayStep } from '@meshwave/contracts';
import type { RolloutRecord } from './rollout-state.js';

// The engine's waves (ADR 0050, 0051): indexes [0, plan.waves.length) are the workload waves; after them come the
// plan's extra step waves, its ambient steps (node waves, then waypoint steps), then its gateway steps, in the
// order the plan lists them. Dispatch, soak, gates, windows, halts and retries are the waves' own; the modules of
// each kind (ambient-waves.ts, gateway-waves.ts) say what such a wave is made of.

/** The first wave that is an ambient step (the first after the workload waves). */
export const firstAmbientWave = (record: RolloutRecord): number => record.plan.waves.length;

/** The first wave that is a gateway step (after the ambient steps). */
export const firstGatewayWave = (record: RolloutRecord): number =>
  record.plan.waves.length + record.plan.ambientSteps.length;

/** How many waves the engine runs: the workload waves, the ambient steps, the gateway steps. */
export const waveCountOf = (record: RolloutRecord): number =>
  firstGatewayWave(record) + record.plan.gatewaySteps.length;

/** The ambient step wave `w` is, or undefined for any other wave. */
export function ambientStepAt(record: RolloutRecord, w: number): PlannedAmbientStep | undefined {
  const i = w - firstAmbientWave(record);
  return i >= 0 ? record.plan.ambientSteps[i] : undefined;
}

/** The gateway step wave `w` is, or undefined for any other wave (or past the end). */
export function gatewayStepAt(record: RolloutRecord, w: number): PlannedGatewayStep | undefined {
  const i = w - firstGatewayWave(record);
  return i >= 0 ? record.plan.gatewaySteps[i] : undefined;
}

/** An extra step wave: what kind it is, its name and what its dispatch moves (for the transition's reason). */
export interface StepWave {
  readonly kind: 'ambient step' | 'gateway step';
  readonly name: string;
  readonly moves: string;
}

/** The extra step wave `w` is, or undefined for a workload wave (or past the end). */
export function stepWaveAt(record: RolloutRecord, w: number): StepWave | undefined {
  const { to } = record.spec.spec;
  const ambient = ambientStepAt(record, w);
  if (ambient !== undefined)
    return {
      kind: 'ambient step',
      name: ambient.name,
      moves:
        ambient.waypoints.length > 0
          ? `${ambient.waypoints.length} waypoints to ${to}`
          : `${ambient.nodes.length} nodes' ${ambient.component} to ${ambient.nodes[0]?.version ?? 'its template'}`,
    };
  const gateway = gatewayStepAt(record, w);
  if (gateway !== undefined)
    return {
      kind: 'gateway step',
      name: gateway.name,
      moves: `${gateway.gateways.length} gateways to ${gateway.percent}% on ${to}`,
    };
  return undefined;
}

/** The name and soak of wave `w`: a workload wave, an ambient step or a gateway step. */
export function waveInfoOf(record: RolloutRecord, w: number): { name: string; soakSeconds: number } | undefined {
  return record.plan.waves[w] ?? ambientStepAt(record, w) ?? gatewayStepAt(record, w);
}
