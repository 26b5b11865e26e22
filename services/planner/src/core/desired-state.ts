import {
  clusterKey,
  vmGroupKey,
  type ClusterDesiredState,
  type HaltCommand,
  type UnitTarget,
  type VmGroupDesiredState,
} from '@meshwave/contracts';
import { RolloutPhase, resolvePercentOrCount } from '@meshwave/contracts';
import type { RolloutRecord, RolloutState } from './rollout-state.js';
import { desiredRevisionOf, isExcluded } from './unit-observations.js';
import { waveUnitsOf, type WaveMembership } from './wave-units.js';
import { gatewayCommandsOf, gatewayPinsOf } from './gateway-waves.js';
import { ambientCommandsOf } from './ambient-waves.js';

/** A command the engine wants published; `target` is the message key and audience (`cluster/x`, `vmgroup/y`). */
export type EngineCommand =
  | { readonly kind: 'cluster'; readonly target: string; readonly data: ClusterDesiredState }
  | { readonly kind: 'vmgroup'; readonly target: string; readonly data: VmGroupDesiredState }
  | { readonly kind: 'halt'; readonly target: string; readonly data: HaltCommand };

/** Desired content for one target, before generation and epoch are stamped on it. */
export type DesiredContent =
  | {
      readonly kind: 'cluster';
      readonly target: string;
      readonly data: Omit<ClusterDesiredState, 'generation' | 'epoch'>;
    }
  | {
      readonly kind: 'vmgroup';
      readonly target: string;
      readonly data: Omit<VmGroupDesiredState, 'generation' | 'epoch'>;
    };

/** Agents start no new restart while the rollout is stopped for a person to decide. */
const HALTED_PHASES: ReadonlySet<RolloutPhase> = new Set([
  RolloutPhase.Paused,
  RolloutPhase.Halted,
  RolloutPhase.Failed,
]);

/**
 * The whole desired state of this rollout for every target it has touched, cumulative over the dispatched
 * waves: each unit's revision (`to`, or `from` once failed back), halted while a person must decide or the
 * rollout is held (the fleet frozen, or outside its change windows).
 * Excluded units are left out: the agent leaves them where they are.
 */
export function desiredContents(record: RolloutRecord, state: RolloutState, held = false): DesiredContent[] {
  const { spec, plan } = record;
  const halted = held || HALTED_PHASES.has(state.phase);
  const clusters = new Map<string, UnitTarget[]>();
  const groups = new Map<string, { name: string; version: string }[]>();
  const batchZero = new Map<string, number>();
  for (const w of plan.waves)
    for (const h of w.vmHosts) if (h.batch === 0) batchZero.set(h.group, (batchZero.get(h.group) ?? 0) + 1);

  // Every target already sent something keeps receiving desired state (possibly empty), so nothing is orphaned.
  for (const t of Object.keys(state.targets)) {
    if (t.startsWith('cluster/')) clusters.set(t.slice('cluster/'.length), []);
    else if (t.startsWith('vmgroup/')) groups.set(t.slice('vmgroup/'.length), []);
  }
  for (let w = 0; w < state.dispatchedWaves; w++) {
    const planned = plan.waves[w];
    if (planned === undefined) continue;
    const revision = desiredRevisionOf(record, state, w);
    for (const u of waveUnitsOf(record, state, w)) {
      let list = clusters.get(u.cluster);
      if (list === undefined) clusters.set(u.cluster, (list = []));
      if (state.excluded.length > 0 && isExcluded(u.unit, state.excluded)) continue;
      // An operator's retry: the agent restarts the unit once more towards `to` (this attempt's restart only).
      const attempt = revision === spec.spec.to ? state.retries?.[u.unit] : undefined;
      const retry = attempt !== undefined ? { attempt } : {};
      list.push(
        u.kind !== undefined
          ? { namespace: u.namespace, kind: u.kind as UnitTarget['kind'], name: u.name, revision, ...retry }
          : { namespace: u.namespace, revision, ...retry },
      );
    }
    for (const h of planned.vmHosts) {
      const hosts = groups.get(h.group) ?? [];
      hosts.push({ name: h.name, version: revision });
      groups.set(h.group, hosts);
    }
  }
  // Gateway steps (ADR 0050): each selected gateway at the share of the newest step not taken back.
  const gateways = gatewayCommandsOf(record, state);
  const gatewayPins = gatewayPinsOf(record);
  // Ambient steps (ADR 0051): those of every ambient step dispatched so far.
  const ambient = ambientCommandsOf(record, state);
  for (const cluster of [...gateways.keys(), ...ambient.keys()]) if (!clusters.has(cluster)) clusters.set(cluster, []);
  const current = plan.waves[Math.min(state.wave, plan.waves.length - 1)];
  const planned = (cluster: string): number => {
    const here = current?.clusters.find((c) => c.cluster === cluster)?.maxUnavailable;
    if (here !== undefined) return Math.max(1, here);
    let best = 1;
    for (const w of plan.waves)
      for (const c of w.clusters) if (c.cluster === cluster) best = Math.max(best, c.maxUnavailable);
    return best;
  };
  // Catching up with the deadline: the planned concurrency raised by the pacing factor, never above the ceiling.
  const factor = state.deadlineTrack?.pacing?.factor ?? 1;
  const ceiling = spec.spec.pacing?.maxUnavailableCeiling;
  const maxUnavailableOf = (cluster: string, units: number): number =>
    factor > 1 && ceiling !== undefined
      ? Math.max(
          planned(cluster),
          Math.min(resolvePercentOrCount(ceiling, units), Math.ceil(planned(cluster) * factor)),
        )
      : planned(cluster);
  const header = { rolloutId: record.id, wave: state.wave, from: spec.spec.from, to: spec.spec.to };
  const progressDeadline = spec.spec.defaults.progressDeadline;
  const out: DesiredContent[] = [];
  for (const [cluster, units] of [...clusters].sort(([a], [b]) => a.localeCompare(b))) {
    const tag = spec.spec.tag;
    // A tag is cluster-wide: once any unit of the cluster fails back, all of them do (the tag goes back).
    if (tag !== undefined && units.some((u) => u.revision === spec.spec.from))
      for (let i = 0; i < units.length; i++) units[i] = { ...units[i]!, revision: spec.spec.from };
    out.push({
      kind: 'cluster',
      target: clusterKey(cluster),
      data: {
        ...header,
        cluster,
        granularity: spec.spec.granularity,
        maxUnavailable: maxUnavailableOf(cluster, units.length),
        units,
        halted,
        ...(tag !== undefined ? { tag } : {}),
        ...(gatewayPins.has(cluster) ? { gatewayPins: gatewayPins.get(cluster) } : {}),
        ...(gateways.has(cluster) ? { gateways: gateways.get(cluster) } : {}),
        ...(ambient.has(cluster) ? { ambient: ambient.get(cluster) } : {}),
        ...(spec.spec.allowUnsupportedUpgradePath !== undefined ? { allowUnsupportedUpgradePath: true } : {}),
        // absent from the file: each agent applies its cluster's own (--progress-deadline, default 600 s)
        ...(progressDeadline !== undefined ? { progressDeadlineSeconds: progressDeadline } : {}),
      },
    });
  }
  for (const [group, hosts] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    out.push({
      kind: 'vmgroup',
      target: vmGroupKey(group),
      data: { ...header, group, maxUnavailable: Math.max(1, batchZero.get(group) ?? 1), hosts, halted },
    });
  }
  return out;
}

/**
 * What every target's desired content is a function of (besides the immutable record): while this is
 * unchanged no target's content changed, so a reconcile on a large fleet need not rebuild and compare every
 * unit list. Stored as each target's digest. `gatewaysSent`: a gateway step went out (the contents then also
 * depend on whether the rollout completed).
 */
export function desiredKeyOf(state: RolloutState, held = false, gatewaysSent = false): string {
  return digestOf([
    state.dispatchedWaves,
    state.rolledBackWaves,
    state.rollbackAll,
    state.excluded,
    held || HALTED_PHASES.has(state.phase),
    state.wave,
    // only when there are any, so the digests of rollouts never retried stay what they were
    ...(state.retries !== undefined && Object.keys(state.retries).length > 0 ? [state.retries] : []),
    ...((state.deadlineTrack?.pacing?.factor ?? 1) > 1 ? [state.deadlineTrack?.pacing?.factor] : []),
    // a completed rollout's gateways lose their old Deployments (removeOld); other rollouts' digests stay as they were
    ...(gatewaysSent && state.phase === RolloutPhase.Completed ? ['completed'] : []),
    // likewise only once a wave's membership changed its units (a skip, a comeback, a joined cluster)
    ...(state.membership !== undefined && hasMembershipChanges(state.membership)
      ? [state.membership.added, state.membership.skipped]
      : []),
  ]);
}

const hasMembershipChanges = (m: WaveMembership): boolean =>
  Object.keys(m.added).length > 0 || Object.keys(m.skipped).length > 0;

/** cyrb53: a 53-bit string hash, enough to tell "this target's desired content changed" apart. */
export function digestOf(value: unknown): string {
  const text = JSON.stringify(value);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}
