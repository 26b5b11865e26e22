import {
  GatewayKind,
  PlanProblemCode,
  resolveRevision,
  type Inventory,
  type PlannedGateway,
  type PlannedGatewayStep,
  type PlanProblem,
  type RolloutSpec,
} from '@meshwave/contracts';
import { labelsMatch } from './glob.js';
import type { InMesh } from './rollout-mesh.js';
import { CompiledSelector } from './selection.js';
import { iso, type WaveScheduler } from './wave-schedule.js';

/** The name of a canary step of the injected gateways, by the share of replicas it leaves on `to`. */
export const gatewayStepName = (percent: number): string => `gateways-${percent}%`;
/** The last step: the Gateway API gateways, which istiod restarts when their revision or tag moves. */
export const GATEWAY_API_STEP = 'gateway-api';

const compareGateways = (a: PlannedGateway, b: PlannedGateway): number =>
  a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);

/**
 * The gateways the rollout's `gateways:` section selects that are on `from` (a tag resolved), by kind. A rollout of
 * one mesh (`inMesh`) selects only gateways of namespaces in its mesh (ADR 0056), as it does units.
 */
export function selectGateways(
  body: RolloutSpec['spec'],
  clusters: Inventory['clusters'],
  inMesh?: InMesh,
): { injected: PlannedGateway[]; gatewayApi: PlannedGateway[] } {
  const injected: PlannedGateway[] = [];
  const gatewayApi: PlannedGateway[] = [];
  const section = body.gateways;
  if (section === undefined) return { injected, gatewayApi };
  const { gatewayLabels, ...where } = section.select;
  const selector = new CompiledSelector(where, clusters);
  clusters.forEach((c, ci) => {
    if (!selector.matchesCluster(ci)) return;
    for (const g of c.gateways ?? []) {
      if (!selector.matchesNamespace(g.namespace) || !labelsMatch(gatewayLabels, g.labels)) continue;
      if (inMesh !== undefined && !inMesh(ci, g.namespace)) continue;
      if (resolveRevision(c.tags, g.revision) !== body.from) continue;
      const planned: PlannedGateway = {
        cluster: c.name,
        namespace: g.namespace,
        name: g.name,
        kind: g.kind,
        ...(g.gatewayName !== undefined ? { gatewayName: g.gatewayName } : {}),
      };
      (g.kind === GatewayKind.Injected ? injected : gatewayApi).push(planned);
    }
  });
  return { injected: injected.sort(compareGateways), gatewayApi: gatewayApi.sort(compareGateways) };
}

/**
 * The gateway steps (ADR 0047), scheduled after every wave in the same chain of windows and soaks: one step per
 * share of `gateways.steps` moving every selected injected gateway, then one step for the Gateway API gateways.
 * A step converging after the deadline is a blocking `DEADLINE_MISSED`, as a wave's is.
 */
export function planGatewaySteps(
  body: RolloutSpec['spec'],
  selected: ReturnType<typeof selectGateways>,
  scheduler: WaveScheduler,
  problems: PlanProblem[],
): PlannedGatewayStep[] {
  const section = body.gateways;
  if (section === undefined) return [];
  const soakSeconds = section.soak ?? body.defaults.soak;
  const wanted: { name: string; kind: GatewayKind; percent: number; gateways: PlannedGateway[] }[] = [];
  if (selected.injected.length > 0)
    for (const percent of section.steps)
      wanted.push({ name: gatewayStepName(percent), kind: GatewayKind.Injected, percent, gateways: selected.injected });
  if (selected.gatewayApi.length > 0)
    wanted.push({ name: GATEWAY_API_STEP, kind: GatewayKind.GatewayApi, percent: 100, gateways: selected.gatewayApi });
  const deadline = Date.parse(body.deadline);
  const steps: PlannedGatewayStep[] = [];
  for (const w of wanted) {
    if (scheduler.blocked) break;
    const s = scheduler.scheduleStep(w.name, soakSeconds);
    if (s === undefined) break;
    if (s.converged > deadline)
      problems.push({
        code: PlanProblemCode.DeadlineMissed,
        message: `gateway step "${w.name}" starts ${iso(s.start)} and is estimated to converge ${iso(s.converged)}, after the deadline ${body.deadline}`,
        wave: w.name,
        blocking: true,
      });
    steps.push({
      index: steps.length,
      name: w.name,
      kind: w.kind,
      percent: w.percent,
      earliestStart: iso(s.start),
      estimatedConverged: iso(s.converged),
      soakSeconds,
      gateways: w.gateways,
      delays: [...s.delays],
    });
  }
  return steps;
}
