// Scripted agents for planner tests: test code that consumes commands and replies as cluster agents and the
// VM bridge would (desired state applied unit by unit, highest generation kept, lower epochs refused,
// progress reported after each change), over any EventBus: in memory or Kafka.
import {
  MessageType,
  Topic,
  UnitState,
  clusterKey,
  unitKey,
  vmGroupKey,
  type ClusterDesiredState,
  type InventoryNamespace,
  type InventoryWorkload,
  type UnitProgress,
  type VmGroupDesiredState,
} from '@meshwave/contracts';
import type { EventBus, IncomingMessage, Subscription } from '@meshwave/bus';

export interface ScriptedClusterOptions {
  readonly name: string;
  readonly bus: EventBus;
  readonly workloads: readonly InventoryWorkload[];
  /** namespaces and their labels, reported with the inventory as cluster agents do (none when absent) */
  readonly namespaces?: readonly InventoryNamespace[];
  /** unit keys (`namespace/kind/name`) that crash-loop on `to`, until an operator's retry (a later attempt) */
  readonly failing?: ReadonlySet<string>;
  /** the failure those units report (default CrashLoopBackOff) */
  readonly failReason?: string;
  /** delay before a unit's new revision is reported converged */
  readonly convergeMs?: number;
  readonly groupId?: string;
  /** send a heartbeat this often while started, as cluster agents do (none when absent) */
  readonly heartbeatMs?: number;
}

/** What one scripted agent saw and did: the end state tests assert on. */
export class ScriptedCluster {
  readonly revisions = new Map<string, string | null>();
  readonly applied: ClusterDesiredState[] = [];
  readonly halts: { epoch: number; generation: number }[] = [];
  readonly rejected: { epoch: number; generation: number }[] = [];
  /** epochs seen on accepted commands */
  readonly epochs = new Set<number>();
  /** `ce_source` of every command received */
  readonly sources = new Set<string>();
  private desired: ClusterDesiredState | undefined;
  private maxEpoch = 0;
  private subscription: Subscription | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(readonly options: ScriptedClusterOptions) {
    for (const w of options.workloads) this.revisions.set(`${w.namespace}/${w.kind}/${w.name}`, w.revision);
  }

  async start(): Promise<void> {
    const o = this.options;
    this.subscription = await o.bus.subscribe({
      topic: Topic.Commands,
      groupId: o.groupId ?? `scripted-agent-${o.name}`,
      audiences: [clusterKey(o.name)],
      types: [MessageType.ClusterDesiredState, MessageType.Halt],
      fromBeginning: true,
      handler: (m) => this.onCommand(m),
    });
    await this.reportInventory(1);
    if (o.heartbeatMs !== undefined) {
      const beat = (): Promise<void> =>
        o.bus.publish([
          {
            topic: Topic.Events,
            key: clusterKey(o.name),
            type: MessageType.Heartbeat,
            data: { source: o.name, version: 'scripted', at: new Date().toISOString() },
          },
        ]);
      await beat();
      this.heartbeat = setInterval(() => void beat().catch(() => undefined), o.heartbeatMs);
    }
  }

  /** Stops consuming commands and beating: the agent falls silent (start() again brings it back). */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const t of this.timers) clearTimeout(t);
    await this.subscription?.close();
  }

  async reportInventory(generation: number): Promise<void> {
    await this.options.bus.publish([
      {
        topic: Topic.Events,
        key: clusterKey(this.options.name),
        type: MessageType.Inventory,
        data: {
          cluster: this.options.name,
          labels: { env: 'prod' },
          generation,
          workloads: this.options.workloads.map((w) => ({
            ...w,
            revision: this.revisions.get(`${w.namespace}/${w.kind}/${w.name}`) ?? null,
          })),
          ...(this.options.namespaces === undefined ? {} : { namespaces: [...this.options.namespaces] }),
        },
      },
    ]);
  }

  private async onCommand(m: IncomingMessage): Promise<void> {
    this.sources.add(m.source);
    if (m.type === MessageType.Halt) {
      const d = m.data as { epoch: number; generation: number };
      this.halts.push({ epoch: d.epoch, generation: d.generation });
      return;
    }
    const d = m.data as ClusterDesiredState;
    if (d.epoch < this.maxEpoch) {
      this.rejected.push({ epoch: d.epoch, generation: d.generation });
      return;
    }
    this.maxEpoch = d.epoch;
    this.epochs.add(d.epoch);
    if (this.desired && d.generation <= this.desired.generation) {
      // Already applied: report again so a planner that missed the report catches up (resync).
      await this.report();
      return;
    }
    this.desired = d;
    this.applied.push(d);
    if (!d.halted) {
      for (const u of d.units) {
        const key = unitKey(u);
        if (this.revisions.get(key) === u.revision) continue;
        const move = (): void => {
          if (this.desired !== d && this.desired?.halted) return;
          this.revisions.set(key, u.revision);
          void this.report().catch(() => undefined);
        };
        const ms = this.options.convergeMs ?? 0;
        if (ms <= 0) move();
        else {
          const t = setTimeout(() => {
            this.timers.delete(t);
            move();
          }, ms);
          this.timers.add(t);
        }
      }
    }
    await this.report();
  }

  private async report(): Promise<void> {
    const d = this.desired;
    if (!d) return;
    const progress: UnitProgress = {
      cluster: this.options.name,
      rolloutId: d.rolloutId,
      generation: d.generation,
      halted: d.halted,
      units: d.units.map((u) => {
        const key = unitKey(u);
        const revision = this.revisions.get(key) ?? null;
        const fails = revision === d.to && (u.attempt ?? 0) === 0 && (this.options.failing?.has(key) ?? false);
        return {
          namespace: u.namespace,
          ...(u.kind !== undefined ? { kind: u.kind } : {}),
          ...(u.name !== undefined ? { name: u.name } : {}),
          revision,
          injectedRevision: revision,
          state: fails ? UnitState.Failed : revision === u.revision ? UnitState.Converged : UnitState.Pending,
          ...(fails
            ? this.options.failReason !== undefined
              ? { reason: this.options.failReason, message: 'the unit failed on the new revision' }
              : { reason: 'CrashLoopBackOff', message: 'back-off restarting failed container' }
            : {}),
        };
      }),
    };
    await this.options.bus.publish([
      { topic: Topic.Events, key: clusterKey(this.options.name), type: MessageType.UnitProgress, data: progress },
    ]);
  }
}

/** A VM group whose hosts take whatever version they are told, at once, and stay healthy. */
export class ScriptedVmGroup {
  readonly versions = new Map<string, string>();
  private desired: VmGroupDesiredState | undefined;
  private subscription: Subscription | undefined;

  constructor(
    readonly name: string,
    readonly bus: EventBus,
    hosts: readonly { name: string; version: string }[],
  ) {
    for (const h of hosts) this.versions.set(h.name, h.version);
  }

  async start(): Promise<void> {
    this.subscription = await this.bus.subscribe({
      topic: Topic.Commands,
      groupId: `scripted-vm-${this.name}`,
      audiences: [vmGroupKey(this.name)],
      types: [MessageType.VmGroupDesiredState],
      fromBeginning: true,
      handler: async (m) => {
        const d = m.data as VmGroupDesiredState;
        if (!this.desired || d.generation > this.desired.generation) {
          this.desired = d;
          if (!d.halted) for (const h of d.hosts) this.versions.set(h.name, h.version);
        }
        const cur = this.desired;
        await this.bus.publish([
          {
            topic: Topic.Events,
            key: vmGroupKey(this.name),
            type: MessageType.VmProgress,
            data: {
              group: this.name,
              rolloutId: cur.rolloutId,
              generation: cur.generation,
              halted: cur.halted,
              hosts: cur.hosts.map((h) => ({
                name: h.name,
                version: this.versions.get(h.name) ?? null,
                state: this.versions.get(h.name) === h.version ? ('converged' as const) : ('pending' as const),
                healthy: true,
              })),
            },
          },
        ]);
      },
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
  }
}

/** A fleet of `clusters` clusters with `perCluster` Deployments each, on `revision`. */
export function newFleetWorkloads(perCluster: number, revision = '1-24-5'): InventoryWorkload[] {
  return Array.from({ length: perCluster }, (_, i) => ({
    namespace: `team-${i % 4}`,
    kind: 'Deployment' as const,
    name: `svc-${i}`,
    labels: { tier: i % 2 === 0 ? 'low' : 'high' },
    revision,
    replicas: 2,
  }));
}

/** A rollout spec (YAML) with `waves` cumulative waves and no soak, due far in the future. */
export function newRolloutYaml(
  options: {
    name?: string;
    onGateFailure?: string;
    soak?: string;
    waves?: readonly number[];
    granularity?: 'workload' | 'namespace';
    sequenceByMesh?: boolean;
    onUnreachable?: 'wait' | 'skip';
    /** indexes of the waves an operator approves */
    approval?: readonly number[];
  } = {},
): string {
  const waves = options.waves ?? [10, 50, 100];
  return [
    'apiVersion: meshwave.io/v1alpha1',
    'kind: Rollout',
    'metadata:',
    `  name: ${options.name ?? 'upgrade'}`,
    'spec:',
    '  from: 1-24-5',
    '  to: 1-25-2',
    '  deadline: "2030-01-01T00:00:00Z"',
    '  defaults:',
    `    soak: ${options.soak ?? '0s'}`,
    '    maxUnavailable: 50%',
    '    batchEstimate: 1s',
    `  onGateFailure: ${options.onGateFailure ?? 'rollback-wave'}`,
    ...(options.granularity === undefined ? [] : [`  granularity: ${options.granularity}`]),
    ...(options.sequenceByMesh === undefined ? [] : [`  sequenceByMesh: ${options.sequenceByMesh}`]),
    ...(options.onUnreachable === undefined ? [] : [`  onUnreachable: ${options.onUnreachable}`]),
    '  waves:',
    ...waves.map(
      (p, i) => `    - { name: wave-${i}, percent: ${p}${options.approval?.includes(i) ? ', approval: true' : ''} }`,
    ),
    '',
  ].join('\n');
}
