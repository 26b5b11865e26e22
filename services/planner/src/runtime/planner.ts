import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { SpanKind, trace } from '@opentelemetry/api';
import {
  Inventory,
  MessageType,
  RolloutPhase,
  RolloutSpec,
  TransitionTrigger,
  Topic,
  parseInventory,
  parseRolloutSpec,
  rolloutIdOf,
  validate,
  type ActionResponse,
  type ClusterDetail,
  type CommandRejected,
  type CreatedRollout,
  type ExcludedUnit,
  type FleetView,
  type HealthReport,
  type InventoryReport,
  type OperatorAction,
  type Plan,
  type RolloutEvent,
  type RolloutStatus,
  type RolloutSummary,
  type TransitionPage,
  type TransitionPageQuery,
  type UnitProgress,
  type VmProgress,
} from '@meshwave/contracts';
import type { EventBus, IncomingMessage, OutgoingMessage, Subscription } from '@meshwave/bus';
import { planRollout } from '@meshwave/plan';
import { createKeyQueue, systemClock, type Clock, type KeyQueue } from '@meshwave/reconcile';
import type { AuditEntry, AuditRecord, Lease, StateStore, VersionedDoc } from '@meshwave/store';
import {
  MeshwaveAttribute,
  extractTraceContext,
  injectTraceContext,
  rolloutAttributes,
  silentLogger,
  spanContextFromTraceparent,
  withRolloutIds,
  withSpan,
  type Logger,
} from '@meshwave/telemetry';
import { resolvePlannerConfig, type PlannerConfig, type ResolvedPlannerConfig } from '../config.js';
import { decide } from '../core/decide.js';
import { DEFAULT_HEALTH_SOURCES, type Decision } from '../core/decision.js';
import type { EngineCommand } from '../core/desired-state.js';
import type { HealthSource } from '../core/health-source.js';
import { metricGatePaths } from '../core/metric-query.js';
import type { MetricSampler } from '../metrics/metric-sampler.js';
import { applyOperatorAction } from '../core/operator-actions.js';
import { newRolloutRecord } from '../core/rollout-record.js';
import { newRolloutState, type Received, type RolloutRecord, type RolloutState } from '../core/rollout-state.js';
import { transitionCount, transitionsSince } from '../core/transition-history.js';
import { TERMINAL_PHASES } from '../core/transition-table.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { buildClusterDetail, buildFleetView } from '../views/fleet-view.js';
import { buildRolloutStatus, summarizeRollout } from '../views/rollout-status.js';
import { transitionPage } from '../views/transition-page.js';
import { LeaderElection } from './leader-election.js';
import { PlannerMetrics } from './planner-metrics.js';
import { RolloutAdmission, drivenUnitsOf } from './rollout-admission.js';
import {
  FLEET_SCOPE,
  FleetDoc,
  ROLLOUT_KIND,
  RolloutDoc,
  WAKE_TIMERS,
  loadRollout,
  mergeInventory,
  type StoredInventoryCluster,
  type StoredVmGroup,
} from './store-layout.js';

export interface CreatePlannerOptions {
  readonly bus: EventBus;
  readonly store: StateStore;
  readonly clock?: Clock;
  readonly config?: PlannerConfig;
  /** share a metrics registry (default: one per planner) */
  readonly metrics?: PlannerMetrics;
}

/** A rollout spec and an inventory as the API receives them: text (YAML/JSON, with positions in errors) or objects. */
export interface PlanInput {
  readonly spec: string | Record<string, unknown>;
  /** default: the stored inventory (operator's base + agents' reports) */
  readonly inventory?: string | Record<string, unknown>;
}

export interface ActionInput {
  readonly action: OperatorAction;
  readonly actor: string;
  readonly reason?: string;
  readonly units?: readonly ExcludedUnit[];
}

export interface Readiness {
  readonly ready: boolean;
  readonly leader: boolean;
  readonly epoch: number;
  readonly checks: Record<string, { ok: boolean; detail?: string }>;
}

/** The planner: engine loop, leader election, and the operations the HTTP API exposes. */
export interface Planner {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly metrics: PlannerMetrics;
  readonly instanceId: string;
  isLeader(): boolean;
  /** epoch of the lease this replica holds; 0 when it does not lead */
  epoch(): number;
  /** `holder` of the current lease, whoever holds it */
  leader(): Promise<string | undefined>;
  plan(input: PlanInput): Promise<Plan>;
  createRollout(input: PlanInput, actor: string): Promise<CreatedRollout>;
  listRollouts(): Promise<RolloutSummary[]>;
  getRollout(id: string): Promise<RolloutStatus>;
  act(id: string, input: ActionInput): Promise<ActionResponse>;
  fleet(): Promise<FleetView>;
  cluster(name: string): Promise<ClusterDetail>;
  putInventory(inventory: unknown, actor: string): Promise<void>;
  /** the newest `limit` audit entries (before the `before` id), of a scope or the fleet; kept by age */
  audit(scope?: string, limit?: number, before?: string): Promise<readonly AuditRecord[]>;
  /** a page of a rollout's transitions, newest page first */
  transitions(id: string, query: TransitionPageQuery): Promise<TransitionPage>;
  readiness(): Promise<Readiness>;
  /** transitions, verdicts, actions as they happen (the SSE stream); returns an unsubscribe function */
  onEvent(listener: (event: RolloutEvent) => void): () => void;
  /** resolves when the reconcile queue is empty (tests, demo) */
  idle(): Promise<void>;
}

const tracer = trace.getTracer('@meshwave/planner');

function commandMessage(c: EngineCommand, ttlSeconds: number): OutgoingMessage {
  const type =
    c.kind === 'cluster'
      ? MessageType.ClusterDesiredState
      : c.kind === 'vmgroup'
        ? MessageType.VmGroupDesiredState
        : MessageType.Halt;
  return {
    topic: Topic.Commands,
    key: c.target,
    audience: c.target,
    type,
    data: c.data,
    ttlSeconds,
  } as OutgoingMessage;
}

function newRolloutId(name: string, now: Date): string {
  return rolloutIdOf(name, now.getTime(), randomBytes(2).toString('hex'));
}

class PlannerImpl implements Planner {
  readonly metrics: PlannerMetrics;
  readonly instanceId: string;
  private readonly config: ResolvedPlannerConfig;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly healthSources: readonly HealthSource[];
  private readonly metricSampler: MetricSampler | undefined;
  private readonly election: LeaderElection;
  private readonly queue: KeyQueue;
  private readonly events = new EventEmitter();
  private subscription: Subscription | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private followerTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastBusOk = 0;
  private lastBusError: string | undefined;
  private started = false;
  /** rollouts this leader knows (loaded at election, added at creation) */
  private readonly rollouts = new Set<string>();
  /** rollouts whose desired state must be sent again whatever changed (takeover, failed publish) */
  private readonly resendPending = new Set<string>();
  /** latest health report per cluster: observations without generation, kept in memory */
  private readonly health = new Map<string, Received<HealthReport>>();
  /** when a report with a failed unit arrived, per rollout: for the failure → halt metric */
  private readonly firstFailure = new Map<string, number>();
  private readonly heartbeats = new Map<string, string>();
  /** phase per rollout, for the rollouts-by-phase gauge */
  private readonly phases = new Map<string, RolloutPhase>();
  /** follower event stream: transitions seen per rollout (a count, as `transitionCount`) */
  private readonly seenHistory = new Map<string, number>();
  private readonly admission: RolloutAdmission;

  constructor(
    private readonly bus: EventBus,
    private readonly store: StateStore,
    options: CreatePlannerOptions,
  ) {
    this.config = resolvePlannerConfig(options.config ?? {});
    this.instanceId = this.config.instanceId;
    this.logger = (options.config?.logger ?? silentLogger()).child({ instance: this.instanceId });
    this.clock = options.clock ?? systemClock;
    this.healthSources = options.config?.healthSources ?? DEFAULT_HEALTH_SOURCES;
    this.metricSampler = options.config?.metricSampler;
    this.metrics = options.metrics ?? new PlannerMetrics();
    this.admission = new RolloutAdmission(store);
    this.events.setMaxListeners(0);
    this.queue = createKeyQueue((id) => this.reconcile(id), {
      clock: this.clock,
      concurrency: this.config.concurrency,
      baseBackoffMs: 100,
      maxBackoffMs: 10_000,
      retryable: (e) => !(e instanceof PlannerError) || e.retryable,
      onError: (id, error, attempt) =>
        this.logger.warn({ rolloutId: id, attempt, err: error }, 'reconcile failed; retrying'),
    });
    const holder = this.config.advertiseUrl ? `${this.instanceId}@${this.config.advertiseUrl}` : this.instanceId;
    this.election = new LeaderElection({
      store,
      leaseName: this.config.leaseName,
      holder,
      ttlMs: this.config.leaseTtlMs,
      renewEveryMs: this.config.leaseRenewMs,
      onElected: (lease) => this.onElected(lease),
      onDemoted: (lease, why) => this.onDemoted(lease, why),
      onError: (e) => this.logger.warn({ err: e }, 'leader election: store unreachable'),
    });
  }

  /** The adapter loop's time as a date; the engine itself takes `now` as a parameter. */
  private now(): Date {
    return new Date(this.clock.now());
  }

  // ---- lifecycle ----

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.election.start();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(1000, this.config.leaseRenewMs));
    this.heartbeatTimer.unref();
    void this.heartbeat();
    this.followerTimer = setInterval(() => void this.followerPoll(), this.config.followerPollMs);
    this.followerTimer.unref();
    this.logger.info('planner started');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.followerTimer);
    await this.election.stop();
    this.logger.info('planner stopped');
  }

  isLeader(): boolean {
    return this.election.current !== undefined;
  }

  epoch(): number {
    return this.election.current?.epoch ?? 0;
  }

  async leader(): Promise<string | undefined> {
    return (await this.store.leaseHolder(this.config.leaseName))?.holder;
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async onElected(lease: Lease): Promise<void> {
    this.logger.info({ epoch: lease.epoch }, 'elected leader');
    this.metrics.leader.set(1);
    this.metrics.leaderEpoch.set(lease.epoch);
    this.queue.restart();
    // A new leader re-sends every rollout's desired state with its epoch: whatever the old leader stored but
    // never published reaches the agents, and agents learn the new epoch (fencing the old leader out).
    const ids = await this.store.listScopes(ROLLOUT_KIND);
    for (const id of ids) {
      this.rollouts.add(id);
      this.resendPending.add(id);
      this.queue.add(id);
    }
    this.ticker = setInterval(() => void this.tick(), this.config.timerTickMs);
    this.ticker.unref();
    try {
      this.subscription = await this.bus.subscribe({
        topic: Topic.Events,
        groupId: this.config.eventsGroupId,
        fromBeginning: true,
        types: [
          MessageType.UnitProgress,
          MessageType.VmProgress,
          MessageType.Inventory,
          MessageType.Health,
          MessageType.Heartbeat,
          MessageType.CommandRejected,
        ],
        handler: (m) => this.onMessage(m),
      });
    } catch (error) {
      this.logger.error({ err: error }, 'cannot subscribe to events; giving up leadership');
      await this.election.lost('event subscription failed');
    }
  }

  private async onDemoted(lease: Lease, why: string): Promise<void> {
    this.logger.warn({ epoch: lease.epoch, why }, 'no longer leader');
    this.metrics.leader.set(0);
    this.metrics.leaderEpoch.set(0);
    clearInterval(this.ticker);
    this.ticker = undefined;
    const sub = this.subscription;
    this.subscription = undefined;
    await this.queue.stop();
    await sub?.close().catch((e: unknown) => this.logger.warn({ err: e }, 'closing the event subscription failed'));
  }

  private async tick(): Promise<void> {
    if (!this.isLeader()) return;
    try {
      const due = await this.store.dueTimers(WAKE_TIMERS, this.clock.now());
      for (const id of due) this.queue.add(id);
    } catch (error) {
      this.logger.warn({ err: error }, 'reading due timers failed');
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.bus.publish([
        {
          topic: Topic.Events,
          key: `planner/${this.instanceId}`,
          type: MessageType.Heartbeat,
          data: { source: `planner/${this.instanceId}`, version: '0.1.0', at: this.now().toISOString() },
          ttlSeconds: 60,
        },
      ]);
      this.lastBusOk = Date.now();
      this.lastBusError = undefined;
    } catch (error) {
      this.lastBusError = error instanceof Error ? error.message : String(error);
    }
  }

  private requireLeader(): Lease {
    const lease = this.election.current;
    if (!lease)
      throw new PlannerError(PlannerErrorCode.NotLeader, 'this replica does not lead; send mutations to the leader', {
        retryable: true,
      });
    return lease;
  }

  // ---- reconcile ----

  private async reconcile(id: string): Promise<void> {
    const lease = this.election.current;
    if (!lease) return;
    const endTimer = this.metrics.reconcileSeconds.startTimer();
    const docs = await this.store.readScope(id);
    const loaded = loadRollout(docs, this.health);
    if (!loaded) {
      endTimer();
      return;
    }
    const now = this.now();
    // I/O before the pure decision: the metric gates' samples for the current wave (errors become verdicts)
    const metrics = await this.metricSampler?.sample(loaded.record, loaded.state, now);
    const resendAll = this.resendPending.delete(id);
    let decision: Decision;
    try {
      decision = decide({
        record: loaded.record,
        state: loaded.state,
        observations: loaded.observations,
        now,
        epoch: lease.epoch,
        resendAll,
        config: { resyncAfterMs: this.config.resyncAfterMs, gateRetryMs: this.config.gateRetryMs, maxVerdicts: 500 },
        healthSources: this.healthSources,
        ...(metrics !== undefined ? { metrics } : {}),
      });
    } catch (error) {
      if (resendAll) this.resendPending.add(id);
      throw error;
    }
    const wave = decision.state.wave;
    const log = withRolloutIds(this.logger, { rolloutId: id, wave });
    const waveTrace = this.waveTraceOf(docs, loaded.record, decision);
    await withSpan(
      tracer,
      'reconcile rollout',
      {
        kind: SpanKind.INTERNAL,
        parent: waveTrace.parent,
        attributes: { ...rolloutAttributes({ rolloutId: id, wave }), [MeshwaveAttribute.Epoch]: lease.epoch },
      },
      async (span) => {
        if (decision.changed) {
          const writes = [
            { name: RolloutDoc.State, value: decision.state, expectedVersion: loaded.stateVersion },
            ...waveTrace.writes,
          ];
          const last = decision.transitions.at(-1);
          const result = await this.store.transition({
            scope: id,
            epoch: lease.epoch,
            writes,
            ...(last
              ? {
                  audit: {
                    actor: 'engine',
                    action: 'transition',
                    scope: id,
                    reason: last.reason,
                    at: now.toISOString(),
                    detail: {
                      transitions: decision.transitions.map((t) => ({
                        from: t.from,
                        to: t.to,
                        trigger: t.trigger,
                        wave: t.wave,
                      })),
                    },
                  },
                }
              : {}),
          });
          if (!result.ok) {
            if (resendAll) this.resendPending.add(id);
            if (result.reason === 'stale-epoch') {
              log.warn({ currentEpoch: result.currentEpoch }, 'write refused: a newer leader wrote this rollout');
              void this.election.lost('stale epoch');
              return;
            }
            throw new PlannerError(PlannerErrorCode.Conflict, `state of ${id} changed while deciding`, {
              retryable: true,
            });
          }
          for (const t of decision.transitions) {
            span.addEvent('transition', {
              from: t.from,
              to: t.to,
              trigger: t.trigger,
              reason: t.reason,
              [MeshwaveAttribute.Wave]: t.wave,
            });
            this.metrics.transitions.inc({ trigger: t.trigger });
            log.info({ from: t.from, to: t.to, trigger: t.trigger, reason: t.reason }, 'transition');
          }
          for (const v of decision.verdicts) {
            span.addEvent('gate verdict', {
              outcome: v.outcome,
              reason: v.reason,
              final: v.final,
              [MeshwaveAttribute.Wave]: v.wave,
            });
            this.metrics.gateVerdicts.inc({ outcome: v.outcome, reason: v.reason, final: String(v.final) });
          }
        }
        if (decision.commands.length > 0) {
          const endPublish = this.metrics.publishSeconds.startTimer();
          try {
            await this.bus.publish(decision.commands.map((c) => commandMessage(c, this.config.commandTtlSeconds)));
          } catch (error) {
            this.resendPending.add(id);
            throw error;
          }
          endPublish();
          const halts = decision.commands.filter((c) => c.kind === 'halt').length;
          for (const c of decision.commands)
            this.metrics.commandsPublished.inc({ kind: c.kind, resync: String(c.kind !== 'halt' && resendAll) });
          span.setAttribute('meshwave.commands', decision.commands.length);
          const failedAt = this.firstFailure.get(id);
          if (halts > 0 && failedAt !== undefined) {
            this.metrics.failureToHaltSeconds.observe((performance.now() - failedAt) / 1000);
            log.warn({ halts, ms: Math.round(performance.now() - failedAt) }, 'halt published');
          }
        }
        if (decision.state.phase !== RolloutPhase.Running) this.firstFailure.delete(id);
      },
    );
    if (decision.wakeAt) await this.store.setTimer(WAKE_TIMERS, id, decision.wakeAt.getTime());
    else await this.store.clearTimer(WAKE_TIMERS, id);
    if (TERMINAL_PHASES.has(decision.state.phase)) this.rollouts.delete(id);
    this.trackPhase(id, decision.state.phase);
    this.emitDecision(id, decision);
    endTimer();
  }

  /**
   * One trace per wave: its root span is started when the wave is dispatched, linked to the rollout's creation
   * span, and stored with the state, so every later reconcile of the wave (in whichever leader) joins it.
   */
  private waveTraceOf(
    docs: ReadonlyMap<string, VersionedDoc>,
    record: RolloutRecord,
    decision: Decision,
  ): { parent: ReturnType<typeof extractTraceContext>; writes: { name: string; value: unknown }[] } {
    const wave = decision.state.wave;
    const name = `trace/wave/${wave}`;
    const stored = docs.get(name)?.value as { traceparent?: string } | undefined;
    if (stored?.traceparent) return { parent: extractTraceContext({ traceparent: stored.traceparent }), writes: [] };
    if (!decision.transitions.some((t) => t.trigger === TransitionTrigger.Dispatched))
      return { parent: extractTraceContext(undefined), writes: [] };
    const link = spanContextFromTraceparent(record.traceparent);
    const root = tracer.startSpan(`wave ${record.plan.waves[wave]?.name ?? wave}`, {
      root: true,
      attributes: rolloutAttributes({ rolloutId: record.id, wave }),
      ...(link ? { links: [{ context: link }] } : {}),
    });
    const parent = trace.setSpan(extractTraceContext(undefined), root);
    root.end();
    return { parent, writes: [{ name, value: injectTraceContext(parent) }] };
  }

  private trackPhase(id: string, phase: RolloutPhase): void {
    this.phases.set(id, phase);
    this.metrics.rolloutsByPhase.reset();
    const counts = new Map<string, number>();
    for (const p of this.phases.values()) counts.set(p, (counts.get(p) ?? 0) + 1);
    for (const [p, n] of counts) this.metrics.rolloutsByPhase.set({ phase: p }, n);
  }

  private async refreshUnitGauge(): Promise<void> {
    const { inventory } = await this.storedInventory();
    this.metrics.unitsByRevision.reset();
    for (const c of inventory.clusters) {
      const counts = new Map<string, number>();
      for (const w of c.workloads) counts.set(w.revision ?? 'none', (counts.get(w.revision ?? 'none') ?? 0) + 1);
      for (const [revision, n] of counts) this.metrics.unitsByRevision.set({ cluster: c.name, revision }, n);
    }
  }

  private emitDecision(id: string, decision: Decision): void {
    const base = {
      rolloutId: id,
      phase: decision.state.phase,
      ...(decision.state.wavePhase ? { wavePhase: decision.state.wavePhase } : {}),
      wave: decision.state.wave,
    };
    for (const t of decision.transitions)
      this.emit({ ...base, type: 'transition', at: t.at, transition: t, message: t.reason });
    for (const v of decision.verdicts)
      this.emit({ ...base, type: 'verdict', at: v.at, verdict: v, message: v.message });
    if (decision.transitions.length === 0 && decision.changed)
      this.emit({ ...base, type: 'progress', at: decision.state.updatedAt, message: decision.state.reason });
    this.seenHistory.set(id, transitionCount(decision.state));
  }

  private emit(event: RolloutEvent): void {
    this.events.emit('event', event);
  }

  // ---- events from agents (leader only) ----

  private async onMessage(m: IncomingMessage): Promise<void> {
    const lease = this.election.current;
    if (!lease) throw new PlannerError(PlannerErrorCode.NotLeader, 'not leader', { retryable: true });
    const receivedAt = performance.now();
    switch (m.type) {
      case MessageType.UnitProgress: {
        const d = m.data as UnitProgress;
        if (!(await this.knowsRollout(d.rolloutId))) return;
        await this.storeReport(lease, d.rolloutId, RolloutDoc.clusterReport(d.cluster), d, d.generation);
        const failing = d.units.some((u) => u.state === 'failed');
        if (failing && !this.firstFailure.has(d.rolloutId)) this.firstFailure.set(d.rolloutId, receivedAt);
        this.queue.add(d.rolloutId, failing);
        return;
      }
      case MessageType.VmProgress: {
        const d = m.data as VmProgress;
        const vm: StoredVmGroup = {
          group: d.group,
          hosts: d.hosts.map((h) => ({ name: h.name, version: h.version })),
          receivedAt: this.now().toISOString(),
        };
        await this.store.transition({
          scope: FLEET_SCOPE,
          epoch: lease.epoch,
          writes: [{ name: FleetDoc.vmGroup(d.group), value: vm }],
        });
        if (!(await this.knowsRollout(d.rolloutId))) return;
        await this.storeReport(lease, d.rolloutId, RolloutDoc.vmGroupReport(d.group), d, d.generation);
        const failing = d.hosts.some((h) => h.state === 'failed' || h.state === 'reverted');
        if (failing && !this.firstFailure.has(d.rolloutId)) this.firstFailure.set(d.rolloutId, receivedAt);
        this.queue.add(d.rolloutId, failing);
        return;
      }
      case MessageType.Inventory: {
        const d = m.data as InventoryReport;
        const name = FleetDoc.cluster(d.cluster);
        const existing = await this.store.read(FLEET_SCOPE, name);
        if (existing && (existing.value as StoredInventoryCluster).report.generation > d.generation) return;
        const value: StoredInventoryCluster = { report: d, receivedAt: this.now().toISOString() };
        const r = await this.store.transition({
          scope: FLEET_SCOPE,
          epoch: lease.epoch,
          writes: [{ name, value, expectedVersion: existing?.version ?? 0 }],
        });
        if (!r.ok && r.reason === 'version-conflict')
          throw new PlannerError(PlannerErrorCode.Conflict, 'inventory changed concurrently', { retryable: true });
        await this.refreshUnitGauge();
        return;
      }
      case MessageType.Health: {
        const d = m.data as HealthReport;
        const cluster = d.source.split('/').at(-1) ?? d.source;
        this.health.set(cluster, { report: d, receivedAt: this.now().toISOString() });
        if (d.units.some((u) => u.crashLooping || u.sidecarMismatch)) {
          for (const id of this.rollouts) {
            if (!this.firstFailure.has(id)) this.firstFailure.set(id, receivedAt);
            this.queue.add(id, true);
          }
        }
        return;
      }
      case MessageType.Heartbeat: {
        this.heartbeats.set(m.source, m.time);
        return;
      }
      case MessageType.CommandRejected: {
        const d = m.data as CommandRejected;
        this.metrics.commandsRejected.inc({ reason: d.reason });
        this.logger.warn(
          { source: d.source, reason: d.reason, detail: d.detail, commandId: d.commandId },
          'an agent refused a command',
        );
        return;
      }
      default:
        return;
    }
  }

  private async knowsRollout(id: string): Promise<boolean> {
    if (this.rollouts.has(id)) return true;
    // A rollout finished before this leader started is still a known scope; reports for it are kept.
    return (await this.store.read(id, RolloutDoc.Record)) !== undefined;
  }

  /** Keeps the newest report per target: an older generation (redelivery, reordering) never replaces a newer one. */
  private async storeReport(
    lease: Lease,
    scope: string,
    name: string,
    value: unknown,
    generation: number,
  ): Promise<void> {
    const existing = await this.store.read(scope, name);
    if (existing && (existing.value as { generation: number }).generation > generation) return;
    const r = await this.store.transition({
      scope,
      epoch: lease.epoch,
      writes: [{ name, value, expectedVersion: existing?.version ?? 0 }],
    });
    if (r.ok) return;
    if (r.reason === 'stale-epoch') {
      void this.election.lost('stale epoch');
      throw new PlannerError(PlannerErrorCode.StaleEpoch, 'a newer leader wrote this rollout', { retryable: true });
    }
    throw new PlannerError(PlannerErrorCode.Conflict, `report ${name} changed concurrently`, { retryable: true });
  }

  // ---- follower event stream ----

  private async followerPoll(): Promise<void> {
    if (this.isLeader() || this.events.listenerCount('event') === 0) return;
    try {
      for (const id of await this.store.listScopes(ROLLOUT_KIND)) {
        const doc = await this.store.read(id, RolloutDoc.State);
        if (!doc) continue;
        const state = doc.value as RolloutState;
        const seen = this.seenHistory.get(id) ?? transitionCount(state);
        for (const t of transitionsSince(state, seen)) {
          this.emit({
            type: 'transition',
            rolloutId: id,
            at: t.at,
            phase: state.phase,
            ...(state.wavePhase ? { wavePhase: state.wavePhase } : {}),
            wave: state.wave,
            transition: t,
            message: t.reason,
          });
        }
        this.seenHistory.set(id, transitionCount(state));
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'follower poll failed');
    }
  }

  // ---- operations (API) ----

  private async storedInventory(): Promise<ReturnType<typeof mergeInventory>> {
    return mergeInventory(await this.store.readScope(FLEET_SCOPE));
  }

  private parseInput(input: PlanInput): { spec: RolloutSpec; inventory?: Inventory } {
    const spec = typeof input.spec === 'string' ? parseRolloutSpec(input.spec) : validate(RolloutSpec, input.spec);
    if (input.inventory === undefined) return { spec };
    const inventory =
      typeof input.inventory === 'string' ? parseInventory(input.inventory) : validate(Inventory, input.inventory);
    return { spec, inventory };
  }

  private async planFor(input: PlanInput, now: Date): Promise<{ spec: RolloutSpec; inventory: Inventory; plan: Plan }> {
    const parsed = this.parseInput(input);
    const inventory = parsed.inventory ?? (await this.storedInventory()).inventory;
    if (inventory.clusters.length === 0 && inventory.vmGroups.length === 0) {
      throw new PlannerError(
        PlannerErrorCode.NoInventory,
        'no inventory: none stored (agents have not reported and none was posted) and none in the request',
      );
    }
    return { spec: parsed.spec, inventory, plan: planRollout(parsed.spec, inventory, { now }) };
  }

  async plan(input: PlanInput): Promise<Plan> {
    return (await this.planFor(input, this.now())).plan;
  }

  async createRollout(input: PlanInput, actor: string): Promise<CreatedRollout> {
    const lease = this.requireLeader();
    const now = this.now();
    const { spec, inventory, plan } = await this.planFor(input, now);
    const metricPaths = metricGatePaths(spec.spec.gates);
    if (metricPaths.length > 0 && this.metricSampler === undefined)
      throw new PlannerError(
        PlannerErrorCode.MetricGatesUnavailable,
        `${metricPaths.join(' and ')} need Prometheus and this planner has none (MESHWAVE_PROMETHEUS_URL): such a gate could never be evaluated`,
        { context: { paths: metricPaths } },
      );
    const id = newRolloutId(spec.metadata.name, now);
    await this.admission.admit({ id, name: spec.metadata.name, units: drivenUnitsOf(plan), epoch: lease.epoch });
    // Admitted: however the creation ends, its registration is no longer "in flight" (a failed one's is void).
    return withSpan(
      tracer,
      'create rollout',
      { root: true, attributes: rolloutAttributes({ rolloutId: id }) },
      async () => {
        const traceparent = injectTraceContext().traceparent;
        const record = newRolloutRecord({
          id,
          spec,
          plan,
          inventory,
          createdBy: actor,
          now,
          ...(traceparent ? { traceparent } : {}),
        });
        const state = newRolloutState(now);
        const result = await this.store.transition({
          scope: id,
          epoch: lease.epoch,
          writes: [
            { name: RolloutDoc.Record, value: record, expectedVersion: 0 },
            { name: RolloutDoc.State, value: state, expectedVersion: 0 },
          ],
          audit: {
            actor,
            action: 'create',
            scope: id,
            at: now.toISOString(),
            detail: { name: spec.metadata.name, from: spec.spec.from, to: spec.spec.to, waves: plan.waves.length },
          },
        });
        if (!result.ok) throw new PlannerError(PlannerErrorCode.Conflict, `could not create ${id}: ${result.reason}`);
        this.rollouts.add(id);
        this.queue.add(id);
        this.emit({
          type: 'action',
          rolloutId: id,
          at: now.toISOString(),
          phase: state.phase,
          wave: 0,
          message: `created by ${actor}`,
        });
        return { id, phase: state.phase, plan };
      },
    ).finally(() => this.admission.settled(id));
  }

  private async loadOrThrow(
    id: string,
  ): Promise<{ docs: ReadonlyMap<string, VersionedDoc>; loaded: NonNullable<ReturnType<typeof loadRollout>> }> {
    const docs = await this.store.readScope(id);
    const loaded = loadRollout(docs, this.health);
    if (!loaded) throw new PlannerError(PlannerErrorCode.RolloutNotFound, `no rollout ${id}`, { context: { id } });
    return { docs, loaded };
  }

  async listRollouts(): Promise<RolloutSummary[]> {
    const out: RolloutSummary[] = [];
    for (const id of await this.store.listScopes(ROLLOUT_KIND)) {
      const [r, s] = await Promise.all([this.store.read(id, RolloutDoc.Record), this.store.read(id, RolloutDoc.State)]);
      if (r && s) out.push(summarizeRollout(r.value as RolloutRecord, s.value as RolloutState));
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async getRollout(id: string): Promise<RolloutStatus> {
    const { loaded } = await this.loadOrThrow(id);
    return buildRolloutStatus(loaded.record, loaded.state, loaded.observations, this.now(), this.epoch());
  }

  async act(id: string, input: ActionInput): Promise<ActionResponse> {
    const lease = this.requireLeader();
    // The engine loop writes the same document: optimistic concurrency, a few tries.
    for (let attempt = 0; attempt < 5; attempt++) {
      const { loaded } = await this.loadOrThrow(id);
      const now = this.now();
      const result = applyOperatorAction(loaded.record, loaded.state, {
        action: input.action,
        actor: input.actor,
        now,
        ...(input.reason !== undefined ? { reason: input.reason } : {}),
        ...(input.units ? { units: input.units } : {}),
      });
      if (!result.ok)
        throw new PlannerError(
          result.problems ? PlannerErrorCode.InvalidExclusion : PlannerErrorCode.ActionNotApplicable,
          result.why,
          { context: { id, action: input.action, phase: loaded.state.phase, details: result.problems } },
        );
      const audit: AuditEntry = {
        actor: input.actor,
        action: input.action,
        scope: id,
        at: now.toISOString(),
        ...(input.reason !== undefined ? { reason: input.reason } : {}),
        detail: {
          phase: result.state.phase,
          wave: result.state.wave,
          ...(input.units ? { units: input.units.map((u) => ({ ...u })) } : {}),
          message: result.message,
        },
      };
      const written = await this.store.transition({
        scope: id,
        epoch: lease.epoch,
        writes: [{ name: RolloutDoc.State, value: result.state, expectedVersion: loaded.stateVersion }],
        audit,
      });
      if (!written.ok) {
        if (written.reason === 'stale-epoch') {
          void this.election.lost('stale epoch');
          throw new PlannerError(PlannerErrorCode.NotLeader, 'leadership moved to another replica; retry', {
            retryable: true,
          });
        }
        continue;
      }
      this.queue.add(id, true);
      const base = {
        rolloutId: id,
        at: now.toISOString(),
        phase: result.state.phase,
        ...(result.state.wavePhase ? { wavePhase: result.state.wavePhase } : {}),
        wave: result.state.wave,
      };
      this.emit({ ...base, type: 'action', message: result.message });
      for (const t of result.transitions) this.emit({ ...base, type: 'transition', transition: t, message: t.reason });
      return {
        id,
        action: input.action,
        phase: result.state.phase,
        ...(result.state.wavePhase ? { wavePhase: result.state.wavePhase } : {}),
        message: result.message,
      };
    }
    throw new PlannerError(PlannerErrorCode.Conflict, `rollout ${id} kept changing; try again`, { retryable: true });
  }

  async fleet(): Promise<FleetView> {
    const { inventory, reported, vmReported } = await this.storedInventory();
    return buildFleetView(inventory, reported, vmReported);
  }

  async cluster(name: string): Promise<ClusterDetail> {
    const { inventory, reported } = await this.storedInventory();
    const detail = buildClusterDetail(inventory, reported, name);
    if (!detail)
      throw new PlannerError(PlannerErrorCode.ClusterNotFound, `no cluster ${name} in the inventory`, {
        context: { name },
      });
    return detail;
  }

  async putInventory(inventory: unknown, actor: string): Promise<void> {
    const lease = this.requireLeader();
    const value = typeof inventory === 'string' ? parseInventory(inventory) : validate(Inventory, inventory);
    const now = this.now();
    const r = await this.store.transition({
      scope: FLEET_SCOPE,
      epoch: lease.epoch,
      writes: [{ name: FleetDoc.BaseInventory, value }],
      audit: {
        actor,
        action: 'put-inventory',
        scope: FLEET_SCOPE,
        at: now.toISOString(),
        detail: { clusters: value.clusters.length, vmGroups: value.vmGroups.length },
      },
    });
    if (!r.ok)
      throw new PlannerError(PlannerErrorCode.Conflict, `inventory not stored: ${r.reason}`, { retryable: true });
    await this.refreshUnitGauge();
  }

  audit(scope?: string, limit?: number, before?: string): Promise<readonly AuditRecord[]> {
    return this.store.readAudit({
      ...(scope !== undefined ? { scope } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(before !== undefined ? { before } : {}),
    });
  }

  async transitions(id: string, query: TransitionPageQuery): Promise<TransitionPage> {
    return transitionPage((await this.loadOrThrow(id)).loaded.state, query);
  }

  async readiness(): Promise<Readiness> {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    let holder: string | undefined;
    try {
      holder = await this.leader();
      checks.store = { ok: true };
    } catch (error) {
      checks.store = { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
    const busFresh = Date.now() - this.lastBusOk < Math.max(5_000, 3 * this.config.leaseRenewMs);
    checks.bus = busFresh ? { ok: true } : { ok: false, detail: this.lastBusError ?? 'no successful publish yet' };
    const known = this.election.known && checks.store.ok;
    checks.leadership = known
      ? { ok: true, detail: this.isLeader() ? 'leader' : `follower of ${holder ?? 'nobody (election pending)'}` }
      : { ok: false, detail: 'leadership not known yet' };
    return { ready: Object.values(checks).every((c) => c.ok), leader: this.isLeader(), epoch: this.epoch(), checks };
  }

  onEvent(listener: (event: RolloutEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }
}

/**
 * A planner over the given bus and store. `start()` joins the leader election; the leader reconciles every
 * rollout and publishes commands, every replica serves reads. Embed it (the demo passes the in-memory bus and
 * store) or run it as a service (`main.ts`).
 */
export function createPlanner(options: CreatePlannerOptions): Planner {
  return new PlannerImpl(options.bus, options.store, options);
}
