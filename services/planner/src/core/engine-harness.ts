// The pure engine driven by scripted agents and a fake clock: the fixtures engine tests share (not built into dist).
import {
  Inventory,
  RolloutSpec,
  UnitState,
  unitKey,
  type ClusterDesiredState,
  type HealthReport,
  type RolloutSpecInput,
  type UnitProgress,
  type VmGroupDesiredState,
  type VmProgress,
} from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';
import { decide } from './decide.js';
import type { Decision, DecisionInput } from './decision.js';
import type { EngineCommand } from './desired-state.js';
import { applyOperatorAction, type OperatorRequest } from './operator-actions.js';
import { newRolloutRecord } from './rollout-record.js';
import {
  newRolloutState,
  type Observations,
  type Received,
  type RolloutRecord,
  type RolloutState,
} from './rollout-state.js';

export const T0 = new Date('2026-11-02T09:00:00Z'); // a Monday

export function newInventory(clusters = 2, workloadsPerCluster = 10, vmHosts = 0): Inventory {
  return Inventory.parse({
    clusters: Array.from({ length: clusters }, (_, c) => ({
      name: `prod-${c + 1}`,
      labels: { env: 'prod' },
      workloads: Array.from({ length: workloadsPerCluster }, (_, w) => ({
        namespace: `ns-${w % 3}`,
        kind: 'Deployment',
        name: `app-${w}`,
        labels: { tier: w % 2 === 0 ? 'low' : 'high' },
        revision: '1-24-5',
      })),
    })),
    vmGroups:
      vmHosts > 0
        ? [
            {
              name: 'edge',
              labels: { role: 'edge' },
              hosts: Array.from({ length: vmHosts }, (_, i) => ({ name: `vm-${i}`, version: '1-24-5' })),
            },
          ]
        : [],
  });
}

/** `newInventory` with an injected ingress gateway of `replicas` on the old revision in each cluster (ADR 0050). */
export function newGatewayInventory(clusters = 2, workloadsPerCluster = 6, replicas = 4): Inventory {
  const base = newInventory(clusters, workloadsPerCluster);
  return Inventory.parse({
    ...base,
    clusters: base.clusters.map((c) => ({
      ...c,
      gateways: [
        {
          namespace: 'istio-ingress',
          name: 'ingressgateway',
          kind: 'injected',
          labels: { istio: 'ingressgateway' },
          revision: '1-24-5',
          replicas,
        },
      ],
    })),
  });
}

/** `newGatewayInventory` with `nodes` nodes per cluster whose ztunnel (OnDelete, template 1.25.2) runs 1.24.5 (ADR 0051). */
export function newAmbientInventory(nodes = 3): Inventory {
  const base = newGatewayInventory();
  const ztunnel = { kind: 'ztunnel', namespace: 'istio-system', name: 'ztunnel', revision: null, version: '1.25.2' };
  return Inventory.parse({
    ...base,
    clusters: base.clusters.map((c) => ({
      ...c,
      ambient: {
        nodes: Array.from({ length: nodes }, (_, i) => ({ name: `node-${i}`, agents: { ztunnel: '1.24.5' } })),
        nodeAgents: [{ ...ztunnel, updateStrategy: 'OnDelete' }],
        waypoints: [],
      },
    })),
  });
}

export type SpecOverrides = Partial<RolloutSpecInput['spec']>;

export function newSpec(overrides: SpecOverrides = {}): RolloutSpec {
  return RolloutSpec.parse({
    apiVersion: 'meshwave.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'upgrade' },
    spec: {
      from: '1-24-5',
      to: '1-25-2',
      deadline: '2026-12-20T00:00:00Z',
      defaults: { soak: '0s', maxUnavailable: '50%', batchEstimate: '1m' },
      waves: [
        { name: 'canary', percent: 10 },
        { name: 'half', percent: 50 },
        { name: 'all', percent: 100 },
      ],
      ...overrides,
    },
  });
}

/**
 * Scripted agents: every cluster converges the units of its latest desired state at once (keeping the highest
 * generation, refusing lower epochs), except units told to fail on the new revision.
 */
export class FakeFleet {
  readonly desired = new Map<string, ClusterDesiredState>();
  readonly vmDesired = new Map<string, VmGroupDesiredState>();
  readonly halts: string[] = [];
  readonly revisions = new Map<string, string>();
  readonly failing = new Set<string>();
  /** clusters whose agent starts nothing and says why (a unit wait reason such as ControlPlaneNotReady) */
  readonly waiting = new Map<string, { reason: string; message: string }>();
  /** clusters whose agent is down: commands are lost */
  readonly deaf = new Set<string>();
  readonly health = new Map<string, Received<HealthReport>>();
  readonly published: EngineCommand[] = [];
  /** gateways (`cluster/namespace/name`) whose steps up fail (their new pods fail); steps back down converge */
  readonly failingGateways = new Set<string>();
  /** per gateway, every share its agent was told to reach, in order (what an agent would walk through) */
  readonly gatewayShares = new Map<string, number[]>();
  /** ambient steps (by name) the agents report failed; the others converge once their desired state is not halted */
  readonly failingAmbient = new Set<string>();

  apply(commands: readonly EngineCommand[]): void {
    for (const c of commands) {
      this.published.push(c);
      if (c.kind === 'halt') {
        this.halts.push(c.target);
        continue;
      }
      if (c.kind === 'cluster') {
        if (this.deaf.has(c.data.cluster)) continue;
        const prev = this.desired.get(c.data.cluster);
        if (prev && (prev.generation >= c.data.generation || prev.epoch > c.data.epoch)) continue;
        this.desired.set(c.data.cluster, c.data);
        if (!c.data.halted && !this.waiting.has(c.data.cluster))
          for (const u of c.data.units) this.revisions.set(`${c.data.cluster}/${unitKey(u)}`, u.revision);
        for (const g of c.data.gateways ?? []) {
          const shares = this.gatewayShares.get(`${c.data.cluster}/${g.namespace}/${g.name}`) ?? [];
          if (shares.at(-1) !== g.percent) shares.push(g.percent);
          this.gatewayShares.set(`${c.data.cluster}/${g.namespace}/${g.name}`, shares);
        }
      } else {
        const prev = this.vmDesired.get(c.data.group);
        if (prev && prev.generation >= c.data.generation) continue;
        this.vmDesired.set(c.data.group, c.data);
      }
    }
  }

  observations(): Observations {
    const clusters = new Map<string, UnitProgress>();
    for (const [cluster, d] of this.desired) {
      clusters.set(cluster, {
        cluster,
        rolloutId: d.rolloutId,
        generation: d.generation,
        halted: d.halted,
        units: d.units.map((u) => {
          const key = `${cluster}/${unitKey(u)}`;
          const revision = this.revisions.get(key) ?? '1-24-5';
          const fails = this.failing.has(key) && revision === d.to;
          const waits = revision !== u.revision ? this.waiting.get(cluster) : undefined;
          return {
            namespace: u.namespace,
            kind: u.kind,
            name: u.name,
            revision,
            injectedRevision: revision,
            state: fails ? UnitState.Failed : revision === u.revision ? UnitState.Converged : UnitState.Pending,
            ...(fails ? { reason: 'CrashLoopBackOff' } : {}),
            ...(waits ?? {}),
          };
        }),
        ...(d.gateways !== undefined
          ? {
              gateways: d.gateways.map((g) => {
                const key = `${cluster}/${g.namespace}/${g.name}`;
                const shares = this.gatewayShares.get(key) ?? [];
                const up = shares.at(-1) === g.percent && (shares.at(-2) ?? 0) < g.percent;
                const fails = up && this.failingGateways.has(key);
                return {
                  namespace: g.namespace,
                  name: g.name,
                  percent: g.percent,
                  state: fails ? ('failed' as const) : ('converged' as const),
                  ...(fails ? { reason: 'copy 0/1 ready on 1-25-2' } : {}),
                };
              }),
            }
          : {}),
      });
    }
    for (const [cluster, d] of this.desired) {
      const report = clusters.get(cluster)!;
      const state = (step: string) =>
        this.failingAmbient.has(step) ? ('failed' as const) : d.halted ? ('pending' as const) : ('converged' as const);
      if (d.ambient !== undefined)
        clusters.set(cluster, {
          ...report,
          ambient: d.ambient.map((a) => ({ step: a.step, state: state(a.step), waiting: [] })),
        });
    }
    const vmGroups = new Map<string, VmProgress>();
    for (const [group, d] of this.vmDesired) {
      vmGroups.set(group, {
        group,
        rolloutId: d.rolloutId,
        generation: d.generation,
        halted: d.halted,
        hosts: d.hosts.map((h) => ({ name: h.name, version: h.version, state: 'converged' as const, healthy: true })),
      });
    }
    return { clusters, vmGroups, health: this.health };
  }
}

/** One rollout driven by the pure engine with a fake clock. */
export class Harness {
  now: Date;
  state: RolloutState;
  readonly fleet = new FakeFleet();
  readonly decisions: Decision[] = [];
  last: Decision | undefined;
  /** what else the next decisions get (a freeze, metrics, health sources) */
  extra: Partial<DecisionInput> = {};

  constructor(
    readonly record: RolloutRecord,
    now = T0,
    readonly epoch = 1,
  ) {
    this.now = now;
    this.state = newRolloutState(now);
  }

  reconcile(): Decision {
    const d = decide({
      record: this.record,
      state: this.state,
      observations: this.fleet.observations(),
      now: this.now,
      epoch: this.epoch,
      ...this.extra,
    });
    this.state = d.state;
    this.fleet.apply(d.commands);
    this.decisions.push(d);
    this.last = d;
    return d;
  }

  /** reconciles until nothing changes at the current instant */
  settle(): void {
    for (let i = 0; i < 50; i++) {
      const d = this.reconcile();
      if (!d.changed && d.commands.length === 0) return;
    }
    throw new Error('did not settle');
  }

  /** settles, then jumps to each wake-up time, until `until` or the phase is one of `phases` */
  runUntil(phases: readonly string[], until = new Date(this.now.getTime() + 30 * 86_400_000)): void {
    for (let i = 0; i < 500; i++) {
      this.settle();
      if (phases.includes(this.state.phase)) return;
      const wake = this.last?.wakeAt;
      if (wake === undefined || wake > until) return;
      this.now = new Date(Math.max(wake.getTime(), this.now.getTime() + 1));
    }
  }

  act(request: Omit<OperatorRequest, 'now' | 'actor'> & { actor?: string }): ReturnType<typeof applyOperatorAction> {
    const r = applyOperatorAction(this.record, this.state, { actor: 'alice', now: this.now, ...request });
    if (r.ok) this.state = r.state;
    return r;
  }

  triggers(): string[] {
    return this.state.history.map((h) => `${h.trigger}:${h.wave}`);
  }
}

export function newHarness(overrides: SpecOverrides = {}, inventory = newInventory(), now = T0): Harness {
  const spec = newSpec(overrides);
  const plan = planRollout(spec, inventory, { now });
  return new Harness(newRolloutRecord({ id: 'r1', spec, plan, inventory, createdBy: 'alice', now }), now);
}
