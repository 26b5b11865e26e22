import {
  DEFAULT_EVENT_LOOP_DELAY_THRESHOLD_MS,
  MessageType,
  ResyncReport,
  clusterKey,
  unitKey,
  type InventoryResync,
} from '@meshwave/contracts';
import type { EventBus, IncomingMessage, Subscription } from '@meshwave/bus';
import { ISTIO_SYSTEM_NAMESPACE, MeshwaveLabel } from '@meshwave/istio';
import { systemClock, type Clock, type TimerHandle } from '@meshwave/reconcile';
import type { StateStore } from '@meshwave/store';
import { monitorLoopDelay, silentLogger, withRolloutIds, type EventLoopDelay, type Logger } from '@meshwave/telemetry';
import { DEFAULT_INTERVALS, type AgentIntervals } from '../config/agent-intervals.js';
import { AgentMetrics } from '../metrics/agent-metrics.js';
import type { AssignmentSource } from '../ports/assignment-source.js';
import type { KubernetesPort, Labels, WatchHandle } from '../ports/kubernetes-port.js';
import { createMeshSplitIntake } from './mesh-split-intake.js';
import type { EventPublisher } from './event-publisher.js';
import { unitsToWake, unitsWaitingOnIstio, wakeBatches } from './cache-wakeups.js';
import { LiveRevisionTags, watchIstioWebhooks } from './istio-webhook-watch.js';
import { ClusterCache } from './cluster-cache.js';
import { createCommandIntake, type CommandIntake } from './command-intake.js';
import { createEventPublisher } from './event-publisher.js';
import type { ApiserverCondition } from './apiserver-condition.js';
import { createLoopCondition, type LoopCondition } from './loop-condition.js';
import { createControlPlaneGate } from './control-plane-gate.js';
import { createRevisionTagPointer } from './revision-tag-pointer.js';
import { withControlPlaneMeshes } from './control-plane-meshes.js';
import { capRevisionPods } from '../core/revision-pods.js';
import { createReporter, type Reporter } from './reporter.js';
import type { MeshConfigPort } from '../ports/mesh-config-port.js';
import type { GatewayDeploymentPort } from '../ports/gateway-port.js';
import type { AmbientPort } from '../ports/ambient-port.js';
import { readAmbient } from './ambient-reader.js';
import { createSteppers } from './agent-steppers.js';
import type { GatewayStepper } from './gateway-stepper.js';
import type { AmbientStepper } from './ambient-stepper.js';
import { UnitBook, type UnitStatus } from './unit-book.js';
import { createUnitReconciler, type UnitReconciler } from './unit-reconciler.js';

export { DEFAULT_INTERVALS, type AgentIntervals } from '../config/agent-intervals.js';
export type { AssignmentSource } from '../ports/assignment-source.js';
export type { UnitStatus } from './unit-book.js';

/** The agent's version, sent in heartbeats. */
export const AGENT_VERSION = '0.1.0';

export interface ClusterAgentOptions {
  readonly cluster: string;
  readonly kubernetes: KubernetesPort;
  readonly bus: EventBus;
  /** persists the command ledger, so a restarted agent keeps refusing stale commands; default: memory only */
  readonly store?: StateStore;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly metrics?: AgentMetrics;
  readonly version?: string;
  /** labels sent with inventory (region, env, ...) */
  readonly clusterLabels?: Labels;
  /** fencing epoch of this agent's store writes (from its leader election); default 1 */
  readonly epoch?: number;
  readonly intervals?: Partial<AgentIntervals>;
  /**
   * reconciles at once (default 32): each start is one PATCH, so reaching a 50 req/s budget at ~0.5 s per
   * request takes about 25 in flight
   */
  readonly concurrency?: number;
  /** consumer group on the commands topic (default `cluster-agent.<cluster>`) */
  readonly groupId?: string;
  /** seconds a unit may take to converge when its command states none (default 600) */
  readonly progressDeadlineSeconds?: number;
  /** event-loop delay past which the agent reports itself Degraded and judges no failure (default 1000 ms) */
  readonly eventLoopDelayThresholdMs?: number;
  /** the loop's delay; default a perf_hooks monitor the agent starts and stops */
  readonly eventLoopDelay?: EventLoopDelay;
  /** the apiserver's reachability, fed by the Kubernetes client's calls; Degraded while unreachable */
  readonly apiserver?: ApiserverCondition;
  /** the Deployment writes of gateway canaries (ADR 0047); absent: gateway steps fail saying so */
  readonly gateways?: GatewayDeploymentPort;
  /** the revisions' mesh configs an applied split writes (ADR 0049); absent: only namespaces are labelled */
  readonly meshConfig?: MeshConfigPort;
  /** nodes, node agents and waypoints (ADR 0051); absent: the inventory reports no ambient mode */
  readonly ambient?: AmbientPort;
}

export interface ClusterAgent extends AssignmentSource {
  readonly metrics: AgentMetrics;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** every assigned unit with its last assessment */
  units(): readonly UnitStatus[];
  /** resolves when the reconcile queue is empty (for tests and the demo) */
  idle(): Promise<void>;
  /** handles one command as the subscription would (exposed for tests that bypass the bus) */
  handleCommand(message: IncomingMessage): Promise<void>;
}

interface AgentParts {
  readonly book: UnitBook;
  readonly cache: ClusterCache;
  readonly intake: CommandIntake;
  readonly reconciler: UnitReconciler;
  readonly reporter: Reporter;
  readonly loop: LoopCondition;
  readonly gateways: GatewayStepper;
  readonly ambient: AmbientStepper;
  /** istiod or one of Istio's webhooks changed: forget what was read of the installation, report it again */
  readonly istioChanged: () => void;
  /** the revision tags, kept by the watch of webhook configurations */
  readonly liveTags: LiveRevisionTags;
  /** applied splits (ADR 0049) */
  readonly meshSplit: ReturnType<typeof createMeshSplitIntake>;
}

/**
 * What the agent knows of Istio's installation: the control-plane check and the tag pointer, which read it live and
 * trust a good answer for `okForMs`, and the revision tags the webhook watch keeps.
 */
function istioParts(
  { kubernetes: port, gateways }: Pick<ClusterAgentOptions, 'kubernetes' | 'gateways'>,
  clock: Clock,
  okForMs: number,
  log: Logger,
) {
  const read = (): ReturnType<KubernetesPort['readIstioInstallation']> => port.readIstioInstallation();
  return {
    controlPlanes: createControlPlaneGate({ read, clock, okForMs }),
    revisionTags: createRevisionTagPointer({ port, ...(gateways ? { gateways } : {}), read, clock, okForMs, log }),
    liveTags: new LiveRevisionTags(),
  };
}

/** A unit's reported state changed; one that just failed is the first hop of a halt: logged, and reported at once. */
function noteProgress(log: Logger, reporter: Reporter, urgent: boolean, status: UnitStatus): void {
  if (urgent)
    log.warn(
      { rolloutId: status.assignment.rolloutId, unit: status.key, reason: status.reason, message: status.message },
      'unit failed',
    );
  reporter.scheduleProgress(undefined, urgent);
}

/** Applied splits, fenced with the command ledger's epoch (ADR 0049). */
function meshSplitIntakeOf(
  options: ClusterAgentOptions,
  parts: Pick<AgentParts, 'cache' | 'intake' | 'istioChanged'> & {
    source: string;
    log: Logger;
    publisher: EventPublisher;
  },
): ReturnType<typeof createMeshSplitIntake> {
  return createMeshSplitIntake({
    cluster: options.cluster,
    source: parts.source,
    port: options.kubernetes,
    cache: parts.cache,
    ...(options.meshConfig ? { meshConfig: options.meshConfig } : {}),
    ledgerEpoch: () => parts.intake.ledger().epoch,
    // the control planes' meshes changed: the inventory reads them again (ADR 0056)
    onSelectorsWritten: parts.istioChanged,
    log: parts.log,
    publisher: parts.publisher,
  });
}

/**
 * A command changed the ledger: every unit is assessed once (so the in-flight count is complete before anything
 * starts), then only the units with something to do are reconciled; before the cache is synced, all of them
 * (their reconciles wait for it).
 */
function reconcileAfterCommand(cache: ClusterCache, reconciler: UnitReconciler): void {
  if (!cache.isSynced) return reconciler.enqueueAll();
  reconciler.assessAll();
  reconciler.enqueueActive();
}

/** Builds the agent's concerns and connects their callbacks; `running` gates what the cache and timers start. */
function createParts(
  options: ClusterAgentOptions,
  context: { clock: Clock; intervals: AgentIntervals; log: Logger; metrics: AgentMetrics; running: () => boolean },
): AgentParts {
  const { cluster } = options;
  const { clock, intervals, log, metrics, running } = context;
  const source = clusterKey(cluster);
  const publisher = createEventPublisher(options.bus, source, log);
  const loop = createLoopCondition({
    thresholdMs: options.eventLoopDelayThresholdMs ?? DEFAULT_EVENT_LOOP_DELAY_THRESHOLD_MS,
    ...(options.eventLoopDelay ? { delay: options.eventLoopDelay } : {}),
    start: monitorLoopDelay,
    // Entering or leaving Degraded is news for the planner now, not at the next health interval.
    onChange: (condition) => {
      log.warn({ condition, eventLoopDelayMs: Math.round(loop.delayMs()) }, 'agent condition changed');
      reporter.sendHealth();
    },
  });
  options.apiserver?.onChange((unreachable) => {
    log.warn({ apiserverUnreachable: unreachable }, 'agent condition changed');
    reporter.sendHealth();
  });
  const { controlPlanes, revisionTags, liveTags } = istioParts(options, clock, intervals.resyncMs, log);
  const book = new UnitBook({
    onProgress: (urgent, status) => noteProgress(log, reporter, urgent, status),
    wake: (key) => reconciler.queue.add(key),
  });
  // istiod in istio-system or one of Istio's webhooks changed: nothing read of the installation holds any more
  const istioChanged = (): void => {
    controlPlanes.forget();
    revisionTags.forget();
    reporter.scheduleInventory(true);
  };
  const wakes = wakeBatches((key) => reconciler.queue.add(key));
  const cache = new ClusterCache((change) => {
    if (!running()) return;
    reporter.noteChange(change);
    if (change.namespace === ISTIO_SYSTEM_NAMESPACE) istioChanged();
    for (const key of unitsToWake(change, book, cache)) wakes.add(key);
  });
  const intake = createCommandIntake({
    cluster,
    source,
    ...(options.store ? { store: options.store } : {}),
    epoch: options.epoch ?? 1,
    log,
    metrics,
    publisher,
    onAccepted: (rolloutId) => {
      book.rebuild(intake.ledger(), options.progressDeadlineSeconds);
      steppers.gateways.sync(intake.ledger());
      steppers.ambient.sync(intake.ledger());
      if (rolloutId) book.dirtyRollouts.add(rolloutId);
      reporter.scheduleProgress(0);
      reconcileAfterCommand(cache, reconciler);
    },
  });
  const steppers = createSteppers(options, { clock, log, book, liveTags }, () => reporter.scheduleProgress());
  const reconciler = createUnitReconciler({
    cluster,
    port: options.kubernetes,
    cache,
    book,
    clock,
    log,
    metrics,
    resyncMs: intervals.resyncMs,
    concurrency: options.concurrency ?? 32,
    rolloutTrace: intake.rolloutTrace,
    loopDelayMs: loop.delayMs,
    loopDelayThresholdMs: loop.thresholdMs,
    controlPlanes,
    revisionTags,
    tagTarget: (name) => liveTags.revisionOf(name),
  });
  const reporter = createReporter({
    cluster,
    cache,
    book,
    clock,
    intervals,
    publisher,
    clusterLabels: options.clusterLabels ?? {},
    version: options.version ?? AGENT_VERSION,
    ledger: intake.ledger,
    running,
    // an agent whose loop lags says so first: that makes every other judgement of time doubtful too
    condition: () => (loop.degraded() ? loop.report() : (options.apiserver?.report() ?? {})),
    istio: async () => withControlPlaneMeshes(await options.kubernetes.readIstioInstallation(), options.meshConfig),
    revisionPods: async () => capRevisionPods(cache.revisionPods(await options.kubernetes.readCronJobs())),
    ...(options.ambient === undefined ? {} : { ambient: readAmbient.bind(undefined, options.ambient) }),
    log,
    gatewayProgress: (rolloutId) => steppers.gateways.progressOf(rolloutId),
    ambientProgress: (rolloutId) => steppers.ambient.progressOf(rolloutId),
  });
  metrics.observeUnits(() => book.counts());
  metrics.observeEventLoop(() => ({ ...loop.lastWindow(), degraded: loop.degraded() }));
  const meshSplit = meshSplitIntakeOf(options, { source, cache, intake, istioChanged, log, publisher });
  return { book, cache, intake, reconciler, reporter, loop, ...steppers, istioChanged, liveTags, meshSplit };
}

/** One of Istio's webhook configurations changed (ADR 0046): read the installation again, wake who waits for it. */
function webhookChanged(parts: AgentParts): void {
  parts.istioChanged();
  for (const key of unitsWaitingOnIstio(parts.book)) parts.reconciler.queue.add(key);
}

/**
 * The cluster agent: wires the cache, the unit book, the reconciler, the command intake and the reporter, and
 * owns start and stop. Each concern lives in its own file; this one only connects them.
 */
export function createClusterAgent(options: ClusterAgentOptions): ClusterAgent {
  const { cluster, kubernetes: port, bus } = options;
  const clock = options.clock ?? systemClock;
  const intervals: AgentIntervals = { ...DEFAULT_INTERVALS, ...options.intervals };
  const log = withRolloutIds(options.logger ?? silentLogger(), { cluster });
  const metrics = options.metrics ?? new AgentMetrics(cluster);
  let subscription: Subscription | undefined;
  const timers: TimerHandle[] = [];
  let running = false;
  const parts = createParts(options, { clock, intervals, log, metrics, running: () => running });
  const { book, cache, intake, reconciler, reporter, loop, gateways, ambient } = parts;
  let webhooks: WatchHandle | undefined;

  const every = (ms: number, fn: () => void): void => {
    const tick = (): void => {
      if (!running) return;
      fn();
      timers.push(clock.setTimer(ms, tick));
    };
    timers.push(clock.setTimer(ms, tick));
  };

  /** the planner missed a delta or holds no such report of this cluster: the whole one goes (ADR 0031, 0048) */
  const askedForInventory = (m: IncomingMessage): Promise<void> => {
    const { reason, report = ResyncReport.Inventory } = m.data as InventoryResync;
    log.info({ reason, report }, 'the planner asked for a whole report');
    if (report === ResyncReport.Inventory) reporter.resendInventory();
    else reporter.resendWhole(report);
    return Promise.resolve();
  };

  const start = async (): Promise<void> => {
    await intake.load();
    book.rebuild(intake.ledger(), options.progressDeadlineSeconds);
    gateways.sync(intake.ledger());
    ambient.sync(intake.ledger());
    running = true;
    loop.start();
    cache.start(port);
    // not part of the cache's sync: the control-plane check reads the installation itself when it has to
    webhooks = watchIstioWebhooks(port, parts.liveTags, () => {
      if (running) webhookChanged(parts);
    });
    await cache.whenSynced();
    reconciler.assessAll();
    for (const rolloutId of book.rolloutSettings.keys()) book.dirtyRollouts.add(rolloutId);
    await Promise.all([reporter.sendInventory(), reporter.sendHeartbeat(), reporter.sendProgress()]);
    reporter.sendHealth();
    reconciler.enqueueAll();
    every(intervals.heartbeatMs, () => void reporter.sendHeartbeat());
    every(intervals.resyncMs, () => {
      reconciler.enqueueUnsettled();
      reporter.scheduleInventory(true);
    });
    subscription = await bus.subscribe({
      topic: 'commands',
      groupId: options.groupId ?? `cluster-agent.${cluster}`,
      audiences: [clusterKey(cluster)],
      types: [MessageType.ClusterDesiredState, MessageType.Halt, MessageType.InventoryResync, MessageType.MeshSplit],
      fromBeginning: true,
      handler: (m) =>
        m.type === MessageType.InventoryResync
          ? askedForInventory(m)
          : m.type === MessageType.MeshSplit
            ? parts.meshSplit.handle(m)
            : intake.handleCommand(m),
      onRejected: intake.onRejected,
    });
    log.info({ units: book.units.size }, 'cluster agent started');
  };

  return {
    metrics,
    start,
    async stop() {
      running = false;
      await subscription?.close();
      void reconciler.queue.stop(); // in-flight reconciles finish on their own (idempotent writes): not awaited
      cache.stop();
      webhooks?.stop();
      loop.stop();
      gateways.stop();
      ambient.stop();
      for (const t of timers) t.cancel();
      reporter.stop();
    },
    units: () => [...book.statuses.values()],
    idle: () => reconciler.queue.idle(),
    handleCommand: intake.handleCommand,
    revisionFor(namespace, workload) {
      const key = workload ? unitKey({ namespace, kind: workload.kind, name: workload.name }) : namespace;
      return book.units.get(key)?.target.revision;
    },
    handoffRevisionOf(namespace) {
      return cache.namespace(namespace)?.labels[MeshwaveLabel.HandoffOf];
    },
  };
}
