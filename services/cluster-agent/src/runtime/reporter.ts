import {
  MessageType,
  UnitFailureReason,
  UnitState,
  type AmbientInventory,
  type AmbientStepProgress,
  type GatewayStepProgress,
  type HealthReport,
  type UnitProgress,
  type UnitProgressEntry,
} from '@meshwave/contracts';
import type { Logger } from '@meshwave/telemetry';
import type { OutgoingMessage } from '@meshwave/bus';
import { ROOT_CONTEXT, context as contextApi } from '@opentelemetry/api';
import { createLevelReport, type Clock, type LevelReport, type LevelReportOptions } from '@meshwave/reconcile';
import type { AgentIntervals } from '../config/agent-intervals.js';
import type { CommandLedger } from '../core/command-ledger.js';
import type { RevisionPodsRead } from '../core/revision-pods.js';
import type { IstioInstallation, Labels } from '../ports/kubernetes-port.js';
import type { CacheChange, ClusterCache } from './cluster-cache.js';
import type { EventPublisher } from './event-publisher.js';
import { createInventorySender } from './inventory-sender.js';
import type { UnitBook, UnitStatus } from './unit-book.js';

export interface ReporterOptions {
  readonly cluster: string;
  readonly cache: ClusterCache;
  readonly book: UnitBook;
  readonly clock: Clock;
  readonly intervals: AgentIntervals;
  readonly publisher: EventPublisher;
  /** labels sent with inventory (region, env, ...) */
  readonly clusterLabels: Labels;
  readonly version: string;
  /** the ledger now: progress reports carry each rollout's generation and halt flag */
  readonly ledger: () => CommandLedger;
  /** reports are scheduled only while the agent runs */
  readonly running: () => boolean;
  /** the agent's own condition (Degraded while its event loop lags), sent with every health report */
  readonly condition: () => Pick<HealthReport, 'degraded'>;
  /** the cluster's control planes and revision tags, read with every inventory (the port's two list calls) */
  readonly istio: () => Promise<IstioInstallation | undefined>;
  /** pods with a proxy per revision in every namespace, read with every inventory (one list of Jobs) */
  readonly revisionPods: () => Promise<RevisionPodsRead>;
  /** nodes, node agents and waypoints (ADR 0051), read with the control planes */
  readonly ambient?: () => Promise<AmbientInventory>;
  readonly log: Logger;
  /** the state of a rollout's gateway steps (ADR 0047), carried by its progress reports */
  readonly gatewayProgress?: (rolloutId: string) => GatewayStepProgress[] | undefined;
  /** the state of a rollout's ambient steps (ADR 0051), carried by its progress reports */
  readonly ambientProgress?: (rolloutId: string) => AmbientStepProgress[] | undefined;
}

/**
 * What the agent tells the planner: inventory, unit progress, health and heartbeats. Inventory, progress and
 * health are level-triggered (see `createLevelReport`): a failed publish is retried with backoff until one goes
 * through, and progress and health are re-sent whole every `reportResendMs` / `healthMs` even when nothing
 * changed, so a report lost on the way (or that the planner could not take) is made up for.
 */
export interface Reporter {
  /** sends the whole inventory now */
  sendInventory(): Promise<void>;
  /** the planner asked for the whole inventory: sent after the debounce interval */
  resendInventory(): void;
  /** a cache change: its workloads' entries are recomputed at the next (debounced) send */
  noteChange(change: CacheChange): void;
  /**
   * sends what changed in the inventory after the debounce interval, gathering the changes made meanwhile;
   * skipped when they changed nothing it says. `istio`: read the control planes and tags again too.
   */
  scheduleInventory(istio?: boolean): void;
  /** sends the progress of the dirty rollouts now */
  sendProgress(): Promise<void>;
  /**
   * sends the progress of the dirty rollouts after `delay` (default: the debounce interval); `urgent` (a unit
   * just failed) sends progress and health at once: a failure never waits for the debounce
   */
  scheduleProgress(delay?: number, urgent?: boolean): void;
  /** sends the health now (the agent's condition changed), then every `healthMs` */
  sendHealth(): void;
  sendHeartbeat(): Promise<void>;
  /** cancels the pending reports */
  stop(): void;
}

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

const healthReport = (
  source: string,
  condition: Pick<HealthReport, 'degraded'>,
  statuses: Iterable<UnitStatus>,
): Omit<HealthReport, 'generation' | 'observedAt'> => ({
  source,
  ...condition,
  units: [...statuses].map((s) => ({
    namespace: s.assignment.target.namespace,
    ...(s.assignment.target.kind ? { kind: s.assignment.target.kind } : {}),
    ...(s.assignment.target.name ? { name: s.assignment.target.name } : {}),
    unavailableReplicas: s.unavailableReplicas,
    restarts: s.restarts,
    crashLooping: s.crashLooping,
    // Only a finished rollout with the wrong sidecar is a mismatch; old pods mid-restart are just old.
    sidecarMismatch: s.state === UnitState.Failed && s.reason === UnitFailureReason.SidecarMismatch,
  })),
});

/** A rollout's progress in this cluster, or nothing for a rollout the ledger no longer holds. */
function unitProgress(
  cluster: string,
  rolloutId: string,
  ledger: CommandLedger,
  statuses: Iterable<UnitStatus>,
  gateways: GatewayStepProgress[] | undefined,
  ambient?: AmbientStepProgress[],
): UnitProgress | undefined {
  const entry = ledger.rollouts[rolloutId];
  if (!entry) return undefined;
  const mine = [...statuses].filter((s) => s.assignment.rolloutId === rolloutId);
  return {
    cluster,
    rolloutId,
    generation: entry.desired.generation,
    halted: entry.desired.halted,
    units: mine.map(progressEntry),
    ...(gateways !== undefined ? { gateways } : {}),
    ...(ambient !== undefined ? { ambient } : {}),
  };
}

/**
 * A report is the agent's own state, not a step of whichever command or watch event asked for it: it is sent
 * outside their trace (an urgent one is sent from inside the reconcile that saw the failure).
 */
export const ownReport = (options: LevelReportOptions): LevelReport =>
  createLevelReport({ ...options, send: (full) => contextApi.with(ROOT_CONTEXT, () => options.send(full)) });

/**
 * Publishes progress; a failed publish is retried as a full one, and the rollouts it carried go back to the
 * dirty set too, since a full one carries only the rollouts with units here (not one whose units were all
 * excluded, say).
 */
async function publishKeepingDirty(
  publish: EventPublisher['publish'],
  messages: OutgoingMessage[],
  book: Pick<UnitBook, 'dirtyRollouts'>,
  rolloutIds: ReadonlySet<string>,
): Promise<boolean> {
  const keep = (): void => {
    for (const id of rolloutIds) book.dirtyRollouts.add(id);
  };
  const sent = await publish(messages).catch((error: unknown) => {
    keep();
    throw error;
  });
  if (!sent) keep();
  return sent;
}

/**
 * Stamps each health report (ADR 0038): a generation that grows across restarts without storage (the clock in ms,
 * or the last one + 1) and when it was observed, so the planner can refuse a replayed or stale one.
 */
function newHealthStamp(clock: Clock): () => Pick<HealthReport, 'generation' | 'observedAt'> {
  let generation = 0;
  return () => {
    const now = clock.now();
    generation = Math.max(generation + 1, now);
    return { generation, observedAt: new Date(now).toISOString() };
  };
}

export function createReporter(options: ReporterOptions): Reporter {
  const { cluster, book, clock, intervals, publisher } = options;
  const { publish, event } = publisher;
  const progressOf = (id: string, ledger: CommandLedger, statuses: Iterable<UnitStatus>): OutgoingMessage[] => {
    const progress = unitProgress(
      cluster,
      id,
      ledger,
      statuses,
      options.gatewayProgress?.(id),
      options.ambientProgress?.(id),
    );
    return progress ? [event(MessageType.UnitProgress, progress)] : [];
  };
  const inventory = createInventorySender({ ...options, publisher, report: ownReport });

  /** the rollouts whose units this agent holds now: what a full progress report covers */
  const heldRollouts = (): Set<string> => new Set([...book.statuses.values()].map((s) => s.assignment.rolloutId));
  const progressUpdates = ownReport({
    clock,
    resendMs: intervals.reportResendMs,
    send: async (full) => {
      const rolloutIds = new Set(book.takeDirtyRollouts());
      if (full) for (const id of heldRollouts()) rolloutIds.add(id);
      const messages = [...rolloutIds].flatMap((id) => progressOf(id, options.ledger(), book.statuses.values()));
      return publishKeepingDirty(publish, messages, book, rolloutIds);
    },
  });

  const stamp = newHealthStamp(clock);
  const healthUpdates = ownReport({
    clock,
    resendMs: intervals.healthMs,
    send: () => {
      const report = healthReport(cluster, options.condition(), book.statuses.values());
      return publish([event(MessageType.Health, { ...report, ...stamp() })]);
    },
  });

  const reporter: Reporter = {
    sendInventory: () => inventory.sendWhole(),
    resendInventory: () => inventory.schedule({ whole: true }),
    noteChange(change) {
      inventory.note(change);
      inventory.schedule();
    },
    scheduleInventory: (istio = false) => inventory.schedule({ istio }),
    sendProgress: () => progressUpdates.flush(),
    scheduleProgress(delay = intervals.progressDebounceMs, urgent = false) {
      if (!options.running()) return;
      progressUpdates.request(urgent ? 0 : delay);
      if (urgent) healthUpdates.request(0);
    },
    sendHealth() {
      if (options.running()) healthUpdates.request(0);
    },
    sendHeartbeat: async () => {
      await publish([
        event(MessageType.Heartbeat, {
          source: cluster,
          version: options.version,
          at: new Date(clock.now()).toISOString(),
        }),
      ]);
    },
    stop() {
      inventory.stop();
      progressUpdates.stop();
      healthUpdates.stop();
    },
  };
  return reporter;
}
