import type { Observations, RolloutState, TargetRecord } from './rollout-state.js';

/** The generation of the newest report of `target` (`cluster/<name>` or `vmgroup/<name>`); undefined: none yet. */
export function reportGenerationOf(observations: Observations, target: string): number | undefined {
  return target.startsWith('cluster/')
    ? observations.clusters.get(target.slice('cluster/'.length))?.generation
    : observations.vmGroups.get(target.slice('vmgroup/'.length))?.generation;
}

/** Whether the reports of `target` have not reached the generation it was last sent. */
export function lagsBehind(
  observations: Observations,
  target: string,
  sent: Pick<TargetRecord, 'generation'>,
): boolean {
  return (reportGenerationOf(observations, target) ?? -1) < sent.generation;
}

/** Whether any target of the rollout still lags what it was sent (the engine may send it again). */
export function anyTargetLags(state: Pick<RolloutState, 'targets'>, observations: Observations): boolean {
  return Object.entries(state.targets).some(([target, sent]) => lagsBehind(observations, target, sent));
}
