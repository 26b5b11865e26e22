import { SpanKind, trace, type Context } from '@opentelemetry/api';
import {
  ClusterDesiredState as ClusterDesiredStateSchema,
  HaltCommand as HaltCommandSchema,
  InventoryNamespace as InventoryNamespaceSchema,
  InventoryWorkload as InventoryWorkloadSchema,
  MessageType,
  RevisionName,
  UnitFailureReason,
  UnitState,
  clusterKey,
  unitKey,
  type HealthReport,
  type InventoryNamespace,
  type InventoryWorkload,
  type UnitProgressEntry,
} from '@meshwave/contracts';
import type { DeadLetter, EventBus, IncomingMessage, OutgoingMessage, Subscription } from '@meshwave/bus';
import type { StateStore } from '@meshwave/store';
import {
  extractTraceContext,
  rolloutAttributes,
  silentLogger,
  withRolloutIds,
  withSpan,
  type Logger,
} from '@meshwave/telemetry';
import { AgentMetrics } from './agent-metrics.js';
import { ClusterCache, type CacheChange } from './cluster-cache.js';
import { createKeyQueue, systemClock } from '@meshwave/reconcile';
import type { Clock, KeyQueue, ReconcileResult, TimerHandle } from '@meshwave/reconcile';
import {
  acceptDesiredState,
  acceptHalt,
  assignments,
  emptyLedger,
  type CommandLedger,
  type LedgerDecision,
  type RolloutSettings,
} from './command-ledger.js';
import {
  assessUnit,
  assignedRevisionOf,
  namespaceRevisionOf,
  observeUnit,
  unitWrites,
  type UnitAssessment,
  type UnitAssignment,
} from './converge-decisions.js';
import { ClusterAgentError } from './errors.js';
import { selectorMatches, type KubernetesPort, type Labels } from './kubernetes-port.js';
import { MeshwaveLabel, PROTECTED_NAMESPACES, injectedRevisionOf } from './revision-labels.js';

/** The agent's version, sent in heartbeats. */
export const AGENT_VERSION = '0.1.0';

/** Where the webhook learns which revision a namespace or workload is assigned to now. */
export interface AssignmentSource {
  /**
   * The revision assigned to one workload (workload granularity), or without `workload` to the whole namespace
   * (namespace granularity); undefined when meshwave manages neither.
   */
  revisionFor(namespace: string, workload?: { readonly kind: string; readonly name: string }): string | undefined;
  /**
   * The revision a namespace's label injected before it was handed over to its workloads (ADR 0011); new
   * workloads and pods there that name no revision get it. Undefined for other namespaces.
   */
  handoffRevisionOf?(namespace: string): string | undefined;
}

export interface AgentIntervals {
  /** full re-reconcile of every unit (catches what watches and the webhook missed) */
  readonly resyncMs: number;
  readonly heartbeatMs: number;
  readonly healthMs: number;
  readonly inventoryDebounceMs: number;
  readonly progressDebounceMs: number;
}

export const DEFAULT_INTERVALS: AgentIntervals = {
  resyncMs: 60_000,
  heartbeatMs: 10_000,
  healthMs: 15_000,
  inventoryDebounceMs: 2_000,
  progressDebounceMs: 500,
};

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
}

/** A unit's state as the agent last assessed it. */
export interface UnitStatus extends UnitAssessment {
  readonly assignment: UnitAssignment;
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

const STORE_DOC = 'ledger';
const storeScope = (cluster: string): string => `cluster-agent/${cluster}`;
const tracer = trace.getTracer('@meshwave/cluster-agent');

export function createClusterAgent(options: ClusterAgentOptions): ClusterAgent {
  const { cluster, kubernetes: port, bus } = options;
  const clock = options.clock ?? systemClock;
  const intervals: AgentIntervals = { ...DEFAULT_INTERVALS, ...options.intervals };
  const log = withRolloutIds(options.logger ?? silentLogger(), { cluster });
  const metrics = options.metrics ?? new AgentMetrics(cluster);
  const source = clusterKey(cluster);
  const epoch = options.epoch ?? 1;

  let ledger: CommandLedger = emptyLedger();
  let storeVersion = 0;
  let units = new Map<string, UnitAssignment>();
  let rolloutSettings = new Map<string, RolloutSettings>();
  const unitsByNamespace = new Map<string, Set<string>>();
  const statuses = new Map<string, UnitStatus>();
  /** trace context of the command that last changed each rollout, so relabel/restart spans join its trace */
  const rolloutTrace = new Map<string, Context>();
  let inventoryGeneration = 0;
  let subscription: Subscription | undefined;
  const timers: TimerHandle[] = [];
  let inventoryTimer: TimerHandle | undefined;
  let progressTimer: TimerHandle | undefined;
  const dirtyRollouts = new Set<string>();
  let running = false;

  const cache = new ClusterCache((change) => onCacheChange(change));

  const publish = async (messages: OutgoingMessage[]): Promise<void> => {
    if (messages.length === 0) return;
    try {
      await bus.publish(messages);
    } catch (err) {
      log.warn({ err }, 'publishing events failed; the next report repeats them');
    }
  };
  const event = <T extends MessageType>(type: T, data: OutgoingMessage<T>['data']): OutgoingMessage =>
    ({ topic: 'events', key: source, type, data }) as OutgoingMessage;

  // ---- assignments -------------------------------------------------------------------------------------

  const rebuildAssignments = (): void => {
    const a = assignments(ledger, options.progressDeadlineSeconds);
    units = new Map(a.units.map((u) => [unitKey(u.target), u]));
    rolloutSettings = new Map(a.rollouts.map((r) => [r.rolloutId, r]));
    unitsByNamespace.clear();
    for (const [key, u] of units) {
      let s = unitsByNamespace.get(u.target.namespace);
      if (!s) unitsByNamespace.set(u.target.namespace, (s = new Set()));
      s.add(key);
    }
    for (const key of statuses.keys()) if (!units.has(key)) statuses.delete(key);
  };

  const assess = (a: UnitAssignment): UnitStatus => {
    const ns = a.target.namespace;
    const obs = observeUnit(a.target, cache.namespace(ns), cache.workloads(ns), cache.pods(ns));
    return { ...assessUnit(a, obs, clock.now()), assignment: a };
  };

  // Kept incrementally: with hundreds of units, recounting on every reconcile would dominate the loop.
  const inFlight = new Set<string>();
  const inFlightCount = (): number => inFlight.size;

  /** units whose start (relabel + restart patches) is under way: in flight even before the cache shows it */
  const starting = new Set<string>();

  const record = (observed: UnitStatus): void => {
    // A unit being started holds its slot whatever a concurrent re-assessment (a new command, a resync) reads
    // from a cache that does not show the restart yet.
    const status: UnitStatus = starting.has(observed.key)
      ? { ...observed, inFlight: true, state: UnitState.Restarting }
      : observed;
    const before = statuses.get(status.key);
    statuses.set(status.key, status);
    if (status.inFlight) inFlight.add(status.key);
    else inFlight.delete(status.key);
    const changed =
      !before ||
      before.state !== status.state ||
      before.reason !== status.reason ||
      before.injectedRevision !== status.injectedRevision;
    if (changed) {
      dirtyRollouts.add(status.assignment.rolloutId);
      scheduleProgress();
    }
    if (before?.inFlight && !status.inFlight) wakePending();
  };

  /** A slot freed up: wake as many pending units as there are free slots (in the planner's order), not all. */
  const wakePending = (): void => {
    let room =
      Math.max(0, ...[...rolloutSettings.values()].filter((r) => !r.halted).map((r) => r.maxUnavailable)) -
      inFlight.size;
    for (const [key, s] of statuses) {
      if (room <= 0) break;
      if (s.state === UnitState.Pending) {
        queue.add(key);
        room--;
      }
    }
  };

  metrics.observeUnits(() => {
    const counts: Record<string, number> = {};
    for (const s of statuses.values()) counts[s.state] = (counts[s.state] ?? 0) + 1;
    return { counts, inFlight: inFlight.size };
  });

  /** Assesses every unit from the cache at once, so the in-flight count is complete before anything starts. */
  const assessAll = (): void => {
    for (const a of units.values()) record(assess(a));
  };

  // ---- reconcile ---------------------------------------------------------------------------------------

  const reconcile = async (key: string): Promise<ReconcileResult> => {
    if (!cache.isSynced) return { requeueAfterMs: 500 };
    const a = units.get(key);
    if (!a) return;
    const status = assess(a);
    record(status);
    const settings = rolloutSettings.get(a.rolloutId);
    const halted = settings?.halted ?? true;
    let start = false;
    if (status.inFlight && status.hasWrites && !halted) start = true; // next step, or a unit begun before a crash
    if (status.state === UnitState.Pending && !halted && settings) {
      const room = settings.maxUnavailable - inFlightCount();
      start = room > 0;
    }
    if (start) {
      // Reserve the slot before the first await: reconciles of other units run concurrently.
      starting.add(key);
      record(status);
      try {
        await startUnit(a);
      } finally {
        starting.delete(key);
        record(assess(a));
      }
      return { requeueAfterMs: 1_000 };
    }
    if (status.inFlight) {
      // Watches wake us on progress; this timer only catches the progress deadline passing in silence.
      return { requeueAfterMs: Math.min(intervals.resyncMs, a.progressDeadlineSeconds * 1000) };
    }
    return;
  };

  const startUnit = async (a: UnitAssignment): Promise<void> => {
    const ns = a.target.namespace;
    const obs = observeUnit(a.target, cache.namespace(ns), cache.workloads(ns), cache.pods(ns));
    const current = assessUnit(a, obs, clock.now());
    const writes = unitWrites(a, obs, current.toRestart, new Date(clock.now()).toISOString());
    const parent = rolloutTrace.get(a.rolloutId);
    const attrs = {
      ...rolloutAttributes({ rolloutId: a.rolloutId, wave: a.wave, cluster }),
      'meshwave.unit': unitKey(a.target),
      'meshwave.revision': a.target.revision,
    };
    const ulog = withRolloutIds(log, { rolloutId: a.rolloutId, wave: a.wave, cluster });
    if (writes.namespace) {
      const w = writes.namespace;
      await withSpan(tracer, 'relabel namespace', { attributes: attrs, ...(parent ? { parent } : {}) }, async () => {
        const view = await port.patchNamespace(w.name, { labels: w.labels }, { resourceVersion: w.resourceVersion });
        cache.rememberNamespace(view);
      });
      ulog.info({ namespace: w.name, labels: w.labels, revision: a.target.revision }, 'namespace relabelled');
    }
    for (const w of writes.workloads) {
      await withSpan(
        tracer,
        `restart ${w.ref.kind}`,
        {
          attributes: { ...attrs, 'k8s.namespace.name': w.ref.namespace, 'k8s.workload.name': w.ref.name },
          ...(parent ? { parent } : {}),
        },
        async () => {
          const view = await port.patchWorkload(
            w.ref,
            {
              ...(w.labels ? { labels: w.labels } : {}),
              ...(w.templateLabels ? { templateLabels: w.templateLabels } : {}),
              ...(w.templateAnnotations ? { templateAnnotations: w.templateAnnotations } : {}),
            },
            { resourceVersion: w.resourceVersion },
          );
          cache.rememberWorkload(view);
        },
      );
      metrics.recordRestart();
      ulog.info(
        { workload: `${w.ref.namespace}/${w.ref.kind}/${w.ref.name}`, revision: a.target.revision },
        'workload restarted',
      );
    }
  };

  const queue: KeyQueue = createKeyQueue(reconcile, {
    clock,
    concurrency: options.concurrency ?? 32,
    onError: (key, err, attempt) => {
      const level = err instanceof ClusterAgentError && err.retryable ? 'info' : 'warn';
      log[level]({ unit: key, attempt, err }, 'reconcile failed; retrying with backoff');
    },
  });

  const onCacheChange = (change: CacheChange): void => {
    if (!running) return;
    scheduleInventory();
    if (change.namespace === undefined) {
      for (const k of units.keys()) queue.add(k);
      return;
    }
    const keys = unitsByNamespace.get(change.namespace);
    if (!keys) return;
    // Wake the namespace's unit, and of its workload units only those the changed object belongs to.
    const obj = change.object as { kind?: string; name?: string; labels?: Labels; selector?: Labels } | undefined;
    if (change.resource === 'namespaces' || !obj) {
      for (const key of keys) queue.add(key);
      return;
    }
    const ns = change.namespace;
    const wake = (target: { namespace: string; kind?: string; name?: string }): void => {
      const key = unitKey(target);
      if (keys.has(key)) queue.add(key);
    };
    wake({ namespace: ns });
    if (change.resource === 'workloads') {
      if (obj.kind !== undefined && obj.name !== undefined) wake({ namespace: ns, kind: obj.kind, name: obj.name });
    } else {
      // A pod wakes the units of the workloads that select it: one pass over the namespace's workloads.
      for (const w of cache.workloads(ns))
        if (selectorMatches(w.selector, obj.labels ?? {})) wake({ namespace: ns, kind: w.kind, name: w.name });
    }
    // Units in a namespace label handoff depend on every workload of their namespace.
    if (namespaceRevisionOf(cache.namespace(ns)) !== undefined) for (const key of keys) queue.add(key);
  };

  // ---- commands ----------------------------------------------------------------------------------------

  const persist = async (next: CommandLedger): Promise<void> => {
    if (!options.store) return;
    const result = await options.store.transition({
      scope: storeScope(cluster),
      epoch,
      writes: [{ name: STORE_DOC, value: next, expectedVersion: storeVersion }],
    });
    if (!result.ok) throw new Error(`ledger write refused: ${result.reason}`);
    storeVersion = result.versions[STORE_DOC] ?? storeVersion + 1;
  };

  const handleCommand = async (message: IncomingMessage): Promise<void> => {
    const parent = extractTraceContext({
      ...(message.traceparent ? { traceparent: message.traceparent } : {}),
      ...(message.tracestate ? { tracestate: message.tracestate } : {}),
    });
    const data = message.data as { rolloutId?: string; wave?: number; generation?: number; epoch?: number };
    const attrs = {
      ...rolloutAttributes({ rolloutId: data.rolloutId, wave: data.wave, cluster }),
      'meshwave.generation': data.generation ?? 0,
      'meshwave.epoch': data.epoch ?? 0,
      'messaging.message.id': message.id,
    };
    await withSpan(
      tracer,
      'process meshwave.commands',
      { kind: SpanKind.CONSUMER, parent, attributes: attrs },
      async (span) => {
        let decision: LedgerDecision;
        if (message.type === MessageType.ClusterDesiredState)
          decision = acceptDesiredState(ledger, cluster, ClusterDesiredStateSchema.parse(message.data));
        else if (message.type === MessageType.Halt)
          decision = acceptHalt(ledger, cluster, HaltCommandSchema.parse(message.data));
        else return;
        span.setAttribute('meshwave.command.outcome', decision.outcome);
        metrics.recordCommand(decision.outcome);
        const clog = withRolloutIds(log, { rolloutId: data.rolloutId, wave: data.wave, cluster });
        if (decision.outcome === 'rejected') {
          clog.warn({ reason: decision.reason, detail: decision.detail, commandId: message.id }, 'command refused');
          await publish([
            event(MessageType.CommandRejected, {
              source,
              commandId: message.id,
              reason: decision.reason,
              detail: decision.detail,
            }),
          ]);
          return;
        }
        if (decision.outcome === 'duplicate') return;
        await persist(decision.ledger);
        ledger = decision.ledger;
        if (data.rolloutId) rolloutTrace.set(data.rolloutId, trace.setSpan(parent, span));
        clog.info({ type: message.type, generation: data.generation }, 'command accepted');
        rebuildAssignments();
        if (cache.isSynced) assessAll();
        if (data.rolloutId) dirtyRollouts.add(data.rolloutId);
        scheduleProgress(0);
        for (const k of units.keys()) queue.add(k);
      },
    );
  };

  const onRejected = async (dl: DeadLetter): Promise<void> => {
    metrics.recordCommand(`refused-${dl.reason}`);
    log.warn({ reason: dl.reason, detail: dl.detail }, 'command refused by the bus');
    await publish([
      event(MessageType.CommandRejected, { source, commandId: dl.headers.ce_id, reason: dl.reason, detail: dl.detail }),
    ]);
  };

  // ---- reports -----------------------------------------------------------------------------------------

  const inventory = (): InventoryWorkload[] => {
    const out: InventoryWorkload[] = [];
    for (const w of cache.workloads()) {
      if (PROTECTED_NAMESPACES.includes(w.namespace)) continue;
      const pods = cache
        .pods(w.namespace)
        .filter((p) => p.controlled && !p.terminating && selectorMatches(w.selector, p.labels));
      const injected = pods.map((p) => injectedRevisionOf(p.annotations)).find((r) => r !== null) ?? null;
      const assigned = assignedRevisionOf(cache.namespace(w.namespace), w);
      const candidate = {
        namespace: w.namespace,
        kind: w.kind,
        name: w.name,
        labels: w.labels,
        revision: assigned !== null && RevisionName.safeParse(assigned).success ? assigned : null,
        injectedRevision: injected !== null && RevisionName.safeParse(injected).success ? injected : null,
        replicas: w.replicas,
      };
      const parsed = InventoryWorkloadSchema.safeParse(candidate);
      if (parsed.success) out.push(parsed.data);
    }
    return out;
  };

  // Namespaces with their labels: the planner learns each one's mesh (`meshwave.io/mesh`) from them. A label
  // change arrives as a namespace watch event, which schedules the debounced inventory like any other change.
  const inventoryNamespaces = (): InventoryNamespace[] => {
    const out: InventoryNamespace[] = [];
    for (const ns of cache.allNamespaces()) {
      if (PROTECTED_NAMESPACES.includes(ns.name)) continue;
      const parsed = InventoryNamespaceSchema.safeParse({ name: ns.name, labels: ns.labels });
      if (parsed.success) out.push(parsed.data);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  };

  const sendInventory = async (): Promise<void> => {
    inventoryGeneration = Math.max(inventoryGeneration + 1, clock.now());
    await publish([
      event(MessageType.Inventory, {
        cluster,
        labels: options.clusterLabels ?? {},
        generation: inventoryGeneration,
        workloads: inventory(),
        namespaces: inventoryNamespaces(),
      }),
    ]);
  };

  const scheduleInventory = (): void => {
    if (inventoryTimer || !running) return;
    inventoryTimer = clock.setTimer(intervals.inventoryDebounceMs, () => {
      inventoryTimer = undefined;
      void sendInventory();
    });
  };

  const progressEntry = (s: UnitStatus): UnitProgressEntry => ({
    namespace: s.assignment.target.namespace,
    ...(s.assignment.target.kind ? { kind: s.assignment.target.kind } : {}),
    ...(s.assignment.target.name ? { name: s.assignment.target.name } : {}),
    state: s.state,
    revision: s.assignment.target.revision,
    injectedRevision: s.injectedRevision,
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.message ? { message: s.message } : {}),
  });

  const sendProgress = async (rolloutIds: readonly string[]): Promise<void> => {
    const messages: OutgoingMessage[] = [];
    for (const rolloutId of rolloutIds) {
      const entry = ledger.rollouts[rolloutId];
      if (!entry) continue;
      const mine = [...statuses.values()].filter((s) => s.assignment.rolloutId === rolloutId);
      messages.push(
        event(MessageType.UnitProgress, {
          cluster,
          rolloutId,
          generation: entry.desired.generation,
          halted: entry.desired.halted,
          units: mine.map(progressEntry),
        }),
      );
    }
    await publish(messages);
  };

  const scheduleProgress = (delay = intervals.progressDebounceMs): void => {
    if (progressTimer || !running) return;
    progressTimer = clock.setTimer(delay, () => {
      progressTimer = undefined;
      const ids = [...dirtyRollouts];
      dirtyRollouts.clear();
      void sendProgress(ids);
    });
  };

  const sendHealth = async (): Promise<void> => {
    const report: HealthReport = {
      source: cluster,
      units: [...statuses.values()].map((s) => ({
        namespace: s.assignment.target.namespace,
        ...(s.assignment.target.kind ? { kind: s.assignment.target.kind } : {}),
        ...(s.assignment.target.name ? { name: s.assignment.target.name } : {}),
        unavailableReplicas: s.unavailableReplicas,
        restarts: s.restarts,
        crashLooping: s.crashLooping,
        // Only a finished rollout with the wrong sidecar is a mismatch; old pods mid-restart are just old.
        sidecarMismatch: s.state === UnitState.Failed && s.reason === UnitFailureReason.SidecarMismatch,
      })),
    };
    await publish([event(MessageType.Health, report)]);
  };

  const sendHeartbeat = (): Promise<void> =>
    publish([
      event(MessageType.Heartbeat, {
        source: cluster,
        version: options.version ?? AGENT_VERSION,
        at: new Date(clock.now()).toISOString(),
      }),
    ]);

  const every = (ms: number, fn: () => void): void => {
    const tick = (): void => {
      if (!running) return;
      fn();
      timers.push(clock.setTimer(ms, tick));
    };
    timers.push(clock.setTimer(ms, tick));
  };

  // ---- lifecycle ---------------------------------------------------------------------------------------

  return {
    metrics,
    async start() {
      if (options.store) {
        const doc = await options.store.read(storeScope(cluster), STORE_DOC);
        if (doc) {
          ledger = doc.value as CommandLedger;
          storeVersion = doc.version;
        }
      }
      rebuildAssignments();
      running = true;
      cache.start(port);
      await cache.whenSynced();
      assessAll();
      for (const rolloutId of rolloutSettings.keys()) dirtyRollouts.add(rolloutId);
      await Promise.all([sendInventory(), sendHeartbeat(), sendProgress([...dirtyRollouts])]);
      dirtyRollouts.clear();
      for (const k of units.keys()) queue.add(k);
      every(intervals.heartbeatMs, () => void sendHeartbeat());
      every(intervals.healthMs, () => void sendHealth());
      every(intervals.resyncMs, () => {
        for (const k of units.keys()) queue.add(k);
        scheduleInventory();
      });
      subscription = await bus.subscribe({
        topic: 'commands',
        groupId: options.groupId ?? `cluster-agent.${cluster}`,
        audiences: [source],
        types: [MessageType.ClusterDesiredState, MessageType.Halt],
        fromBeginning: true,
        handler: handleCommand,
        onRejected,
      });
      log.info({ units: units.size }, 'cluster agent started');
    },
    async stop() {
      running = false;
      await subscription?.close();
      void queue.stop(); // in-flight reconciles finish on their own (idempotent writes): not awaited
      cache.stop();
      for (const t of timers) t.cancel();
      inventoryTimer?.cancel();
      progressTimer?.cancel();
    },
    units: () => [...statuses.values()],
    idle: () => queue.idle(),
    handleCommand,
    revisionFor(namespace, workload) {
      const key = workload ? unitKey({ namespace, kind: workload.kind, name: workload.name }) : namespace;
      return units.get(key)?.target.revision;
    },
    handoffRevisionOf(namespace) {
      return cache.namespace(namespace)?.labels[MeshwaveLabel.HandoffOf];
    },
  };
}
