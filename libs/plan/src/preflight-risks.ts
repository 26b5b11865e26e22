import {
  RiskCode,
  resolveRevision,
  type Inventory,
  type InventoryWorkload,
  type PlanRisk,
  type RolloutSpec,
} from '@meshwave/contracts';
import { parseIstioVersion } from './upgrade-rules.js';
import type { UnitTable } from './unit-table.js';

/** Istio's default proxy drain (`terminationDrainDuration`), seconds. */
const DEFAULT_PROXY_DRAIN_SECONDS = 5;
/** Istio stopped publishing to this registry from 1.31 on (its images moved to docker.io/istio and others). */
const RETIRED_REGISTRY = 'gcr.io/istio-release';
const RETIRED_FROM_MINOR = { major: 1, minor: 31 } as const;

type Risk = Omit<PlanRisk, 'unit' | 'blocking'>;

/** The preflight risks of one workload, from what its agent read of it (nothing when it read nothing). */
export function workloadRisks(w: InventoryWorkload): Risk[] {
  const p = w.preflight;
  if (p === undefined) return [];
  const name = `${w.kind} ${w.name}`;
  const out: Risk[] = [];
  const add = (code: RiskCode, detail: string): void => void out.push({ code, detail: `${name}: ${detail}` });
  if (w.kind !== 'DaemonSet' && w.replicas === 1) add(RiskCode.SingleReplica, 'one replica: the restart is an outage');
  if (!p.readinessProbe)
    add(RiskCode.NoReadinessProbe, 'a container has no readiness probe: traffic reaches pods before they are ready');
  if (p.noDisruptionAllowed === true)
    add(RiskCode.PdbAllowsNoDisruption, 'a PodDisruptionBudget allows no disruption: evictions and drains will wait');
  if (p.onDelete) add(RiskCode.StatefulSetOnDelete, 'updateStrategy OnDelete: the restart never replaces a pod');
  if (p.partition > 0)
    add(RiskCode.StatefulSetPartition, `rollingUpdate partition ${p.partition}: pods below it never restart`);
  if (p.paused) add(RiskCode.DeploymentPaused, 'paused: the restart never rolls out');
  if (p.injectionDisabled)
    add(RiskCode.InjectionDisabled, 'sidecar.istio.io/inject is "false": its pods get no proxy of any revision');
  if (!p.holdUntilProxyStarts)
    add(
      RiskCode.NoHoldUntilProxyStarts,
      'no holdApplicationUntilProxyStarts: the app may call out before its proxy is up',
    );
  const drain = p.proxyDrainSeconds ?? DEFAULT_PROXY_DRAIN_SECONDS;
  if (p.appShutdownSeconds !== undefined && drain < p.appShutdownSeconds)
    add(
      RiskCode.ProxyDrainShorter,
      `the proxy drains for ${drain}s but the app may take ${p.appShutdownSeconds}s to shut down: its last calls fail`,
    );
  return out;
}

/**
 * The plan's preflight (ADR 0035): every risk of the units that can move, and which units a `preflight.block`
 * code skips. A cluster-wide risk (the new proxy image from a registry Istio no longer publishes to) names the
 * cluster as its unit and, when blocking, skips every unit of the cluster.
 */
export function preflightRisks(
  body: RolloutSpec['spec'],
  clusters: Inventory['clusters'],
  units: UnitTable,
  movable: Uint8Array,
): { risks: PlanRisk[]; blocked: Uint8Array } {
  const block = new Set<string>(body.preflight.block);
  const risks: PlanRisk[] = [];
  const blocked = new Uint8Array(units.size);
  const clusterRisk = clusters.map((c) => retiredRegistryRisk(body, c));
  const clusterHasUnits = new Uint8Array(clusters.length);
  for (let u = 0; u < units.size; u++) {
    if (movable[u] !== 1) continue;
    const ci = units.cluster[u]!;
    clusterHasUnits[ci] = 1;
    if (clusterRisk[ci] !== undefined && block.has(clusterRisk[ci].code)) blocked[u] = 1;
    for (let k = units.memberStart[u]!; k < units.memberStart[u + 1]!; k++)
      for (const r of workloadRisks(units.members[k]!)) {
        const blocking = block.has(r.code);
        if (blocking) blocked[u] = 1;
        risks.push({ unit: units.keys[u]!, ...r, blocking });
      }
  }
  clusterRisk.forEach((r, ci) => {
    if (r !== undefined && clusterHasUnits[ci] === 1)
      risks.push({ unit: clusters[ci]!.name, ...r, blocking: block.has(r.code) });
  });
  return { risks, blocked };
}

/** `to`'s istiod (so its injected proxies, by default) comes from gcr.io/istio-release at 1.31 or later. */
function retiredRegistryRisk(body: RolloutSpec['spec'], c: Inventory['clusters'][number]): Risk | undefined {
  const to = c.controlPlanes?.find((p) => p.revision === resolveRevision(c.tags, body.to));
  const version = parseIstioVersion(to?.version);
  if (to?.hub === undefined || version === undefined || !to.hub.startsWith(RETIRED_REGISTRY)) return undefined;
  const late =
    version.major > RETIRED_FROM_MINOR.major ||
    (version.major === RETIRED_FROM_MINOR.major && version.minor >= RETIRED_FROM_MINOR.minor);
  if (!late) return undefined;
  return {
    code: RiskCode.RetiredProxyRegistry,
    detail: `${body.to} (${version.text}) pulls its proxy from ${to.hub}, where Istio publishes no image from 1.31 on`,
  };
}
