import type { EventBus, Subscription } from '@meshwave/bus';
import type {
  ActionResponse,
  ClusterDetail,
  FleetView,
  RevisionsView,
  FreezeStatus,
  MeshApplyRequest,
  MeshApplyResult,
  RolloutEvent,
  RolloutStatus,
  RolloutSummary,
  TransitionPage,
  TransitionPageQuery,
  Plan,
  PlanResponse,
} from '@meshwave/contracts';
import { systemClock, type Clock } from '@meshwave/reconcile';
import type { AuditRecord, Lease, StateStore } from '@meshwave/store';
import { silentLogger } from '@meshwave/telemetry';
import { resolvePlannerConfig, type PlannerConfig } from '../config/config.js';
import { AgentReports } from './agent-reports.js';
import { FleetInventory } from './fleet-inventory.js';
import { FreezeControl } from './freeze-control.js';
import { MeshSplitApply } from './mesh-split-apply.js';
import { Leadership } from './leadership.js';
import type { PlannerContext } from './planner-context.js';
import { EventLoopDelayMonitor } from '../metrics/event-loop-delay.js';
import { PlannerMetrics } from '../metrics/planner-metrics.js';
import { PlannerReadiness, type Readiness } from './readiness.js';
import type { TaggedStatus } from './finished-statuses.js';
import { RolloutEvents } from './rollout-events.js';
import {
  RolloutOperations,
  type ActionInput,
  type NewRollout,
  type PlanInput,
  type RetryInput,
} from './rollout-operations.js';
import { RolloutReconciler } from './rollout-reconciler.js';
import { StoreEra } from './store-era.js';

export type { ActionInput, NewRollout, PlanInput, RetryInput } from './rollout-operations.js';
export type { Readiness } from './readiness.js';

export interface CreatePlannerOptions {
  readonly bus: EventBus;
  readonly store: StateStore;
  readonly clock?: Clock;
  readonly config?: PlannerConfig;
  /** share a metrics registry (default: one per planner) */
  readonly metrics?: PlannerMetrics;
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
  plan(input: PlanInput): Promise<PlanResponse>;
  createRollout(input: PlanInput, actor: string): Promise<NewRollout>;
  /** a rollout's whole plan (the API serves it in pages) */
  rolloutPlan(id: string): Promise<Plan>;
  listRollouts(): Promise<RolloutSummary[]>;
  getRollout(id: string): Promise<RolloutStatus>;
  /** the status with an entity tag when the rollout is finished (`If-None-Match` answered without a build) */
  getTaggedRollout(id: string): Promise<TaggedStatus>;
  act(id: string, input: ActionInput): Promise<ActionResponse>;
  /** failed units restart once more towards the same revision (all failed units when `units` is absent) */
  retry(id: string, input: RetryInput): Promise<ActionResponse>;
  fleet(): Promise<FleetView>;
  /** every revision with what still uses it, and whether it is safe to remove (ADR 0035) */
  revisions(): Promise<RevisionsView>;
  /** the fleet-wide freeze as stored */
  freezeStatus(): Promise<FreezeStatus>;
  /** freezes (`frozen`) or lifts the freeze, on the leader; audited; 409 when it does not apply */
  changeFreeze(frozen: boolean, reason: string, actor: string): Promise<FreezeStatus>;
  cluster(name: string): Promise<ClusterDetail>;
  putInventory(inventory: unknown, actor: string): Promise<void>;
  /** a split's meshes applied through the agents, on the leader, audited; a dry run only says what changes */
  applyMeshSplit(request: MeshApplyRequest, actor: string): Promise<MeshApplyResult>;
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

/**
 * The facade: wires leadership, the reconcile loop, report intake, the fleet inventory, the operations and the
 * event stream over one context, and owns start and stop. Each part lives in its own file.
 */
class PlannerImpl implements Planner {
  readonly metrics: PlannerMetrics;
  readonly instanceId: string;
  private readonly context: PlannerContext;
  private readonly leadership: Leadership;
  private readonly reconciler: RolloutReconciler;
  private readonly reports: AgentReports;
  private readonly inventory: FleetInventory;
  private readonly operations: RolloutOperations;
  private readonly freeze: FreezeControl;
  private readonly meshes: MeshSplitApply;
  private readonly events: RolloutEvents;
  private readonly health: PlannerReadiness;
  private readonly loopDelay: EventLoopDelayMonitor;
  private readonly era: StoreEra;
  private subscription: Subscription | undefined;
  private started = false;

  constructor(options: CreatePlannerOptions) {
    const config = resolvePlannerConfig(options.config ?? {});
    this.instanceId = config.instanceId;
    this.metrics = options.metrics ?? new PlannerMetrics();
    // Judgements held while the loop lagged are made again once it is back under the threshold.
    this.loopDelay = new EventLoopDelayMonitor(
      this.metrics.eventLoopDelay,
      config.loopLagWindowMs,
      config.loopLagThresholdMs,
      () => this.reconciler.rejudgeAll(),
      () => (options.clock ?? systemClock).now(),
    );
    const context: PlannerContext = {
      bus: options.bus,
      store: options.store,
      config,
      logger: (options.config?.logger ?? silentLogger()).child({ instance: this.instanceId }),
      clock: options.clock ?? systemClock,
      metrics: this.metrics,
      health: new Map(),
      heard: new Map(),
      loopDelay: this.loopDelay,
    };
    this.context = context;
    this.leadership = new Leadership(context, {
      onElected: (lease, signal) => this.onElected(lease, signal),
      onDemoted: () => this.onDemoted(),
    });
    this.era = new StoreEra(context, (reason) => this.leadership.halt(reason));
    this.events = new RolloutEvents(context, () => this.leadership.isLeader());
    this.inventory = new FleetInventory(context, this.leadership);
    const inventory = this.inventory;
    this.reconciler = new RolloutReconciler(context, this.leadership, this.events, {
      ...(options.config?.healthSources ? { healthSources: options.config.healthSources } : {}),
      ...(options.config?.metricSampler ? { metricSampler: options.config.metricSampler } : {}),
      fleet: async () => (await inventory.stored()).inventory,
      onFinished: (id) => this.operations.getTagged(id),
    });
    this.reports = new AgentReports(context, this.leadership, this.reconciler, this.inventory);
    this.operations = new RolloutOperations(context, {
      leadership: this.leadership,
      inventory: this.inventory,
      reconciler: this.reconciler,
      events: this.events,
      metricsConfigured: options.config?.metricSampler !== undefined,
    });
    this.freeze = new FreezeControl(context, { leadership: this.leadership, reconciler: this.reconciler });
    this.meshes = new MeshSplitApply(context, { leadership: this.leadership, inventory: this.inventory });
    this.health = new PlannerReadiness(context, this.leadership);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.loopDelay.start();
    this.era.start();
    this.leadership.start();
    this.health.start();
    this.events.start();
    this.context.logger.info('planner started');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.loopDelay.stop();
    this.era.stop();
    this.health.stop();
    this.events.stop();
    await this.leadership.stop();
    this.context.logger.info('planner stopped');
  }

  /**
   * Runs beside the lease renewal, never in its way: joining the consumer group can wait for a dead leader's
   * session to expire, longer than the lease lives. Throwing gives the lease up; demotion runs after this settles,
   * and `signal` says the lease was lost meanwhile.
   */
  private async onElected(lease: Lease, signal: AbortSignal): Promise<void> {
    // Never act on a store that lost the state this replica knew (ADR 0025): confirm throws, and halts it.
    await this.era.confirm(lease);
    // a lease lost meanwhile: take nothing over (the demotion runs once this returns)
    if (signal.aborted) return;
    await this.reconciler.takeOver();
    if (signal.aborted) return;
    try {
      this.subscription = await this.reports.subscribe();
    } catch (error) {
      this.context.logger.error({ err: error }, 'cannot subscribe to events; giving up leadership');
      throw error;
    }
  }

  private async onDemoted(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    await this.reconciler.standDown(subscription);
  }

  isLeader(): boolean {
    return this.leadership.isLeader();
  }

  epoch(): number {
    return this.leadership.epoch();
  }

  leader(): Promise<string | undefined> {
    return this.leadership.leader();
  }

  idle(): Promise<void> {
    return this.reconciler.idle();
  }

  plan(input: PlanInput): Promise<PlanResponse> {
    return this.operations.plan(input);
  }

  createRollout(input: PlanInput, actor: string): Promise<NewRollout> {
    return this.operations.create(input, actor);
  }

  rolloutPlan(id: string): Promise<Plan> {
    return this.operations.plannedOf(id);
  }

  listRollouts(): Promise<RolloutSummary[]> {
    return this.operations.list();
  }

  async getRollout(id: string): Promise<RolloutStatus> {
    return (await this.operations.getTagged(id)).status;
  }

  getTaggedRollout(id: string): Promise<TaggedStatus> {
    return this.operations.getTagged(id);
  }

  act(id: string, input: ActionInput): Promise<ActionResponse> {
    return this.operations.act(id, input);
  }

  retry(id: string, input: RetryInput): Promise<ActionResponse> {
    return this.operations.retry(id, input);
  }

  audit(scope?: string, limit?: number, before?: string): Promise<readonly AuditRecord[]> {
    return this.operations.audit(scope, limit, before);
  }

  transitions(id: string, query: TransitionPageQuery): Promise<TransitionPage> {
    return this.operations.transitions(id, query);
  }

  fleet(): Promise<FleetView> {
    return this.inventory.fleet();
  }

  revisions(): Promise<RevisionsView> {
    return this.inventory.revisions();
  }

  cluster(name: string): Promise<ClusterDetail> {
    return this.inventory.cluster(name);
  }

  freezeStatus(): Promise<FreezeStatus> {
    return this.freeze.status();
  }

  changeFreeze(frozen: boolean, reason: string, actor: string): Promise<FreezeStatus> {
    return this.freeze.change(frozen, reason, actor);
  }

  putInventory(inventory: unknown, actor: string): Promise<void> {
    return this.inventory.put(inventory, actor);
  }

  applyMeshSplit(request: MeshApplyRequest, actor: string): Promise<MeshApplyResult> {
    return this.meshes.apply(request, actor);
  }

  readiness(): Promise<Readiness> {
    return this.health.readiness();
  }

  onEvent(listener: (event: RolloutEvent) => void): () => void {
    return this.events.onEvent(listener);
  }
}

/**
 * A planner over the given bus and store. `start()` joins the leader election; the leader reconciles every
 * rollout and publishes commands, every replica serves reads. Embed it (the demo passes the in-memory bus and
 * store) or run it as a service (`main.ts`).
 */
export function createPlanner(options: CreatePlannerOptions): Planner {
  return new PlannerImpl(options);
}
