import {
  MessageType,
  type AmbientInventory,
  type AmbientStepProgress,
  type GatewayStepProgress,
  type HealthReport,
} from '@meshwave/contracts';
import type { Logger } from '@meshwave/telemetry';
import { newSeq, type Clock } from '@meshwave/reconcile';
import type { AgentIntervals } from '../config/agent-intervals.js';
import type { CommandLedger } from '../core/command-ledger.js';
import type { RevisionPodsRead } from '../core/revision-pods.js';
import type { IstioInstallation, Labels } from '../ports/kubernetes-port.js';
import type { CacheChange, ClusterCache } from './cluster-cache.js';
import type { EventPublisher } from './event-publisher.js';
import { createInventorySender } from './inventory-sender.js';
import { createHealthStream, createProgressStream, ownReport } from './report-streams.js';
import type { UnitBook } from './unit-book.js';

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
  /** the planner missed a progress or health delta: the whole report goes now (ADR 0048) */
  resendWhole(report: 'progress' | 'health'): void;
  sendHeartbeat(): Promise<void>;
  /** cancels the pending reports */
  stop(): void;
}

export function createReporter(options: ReporterOptions): Reporter {
  const { cluster, clock, intervals, publisher } = options;
  const { publish, event } = publisher;
  const seq = newSeq(clock);
  const inventory = createInventorySender({ ...options, publisher, report: ownReport });
  const progress = createProgressStream({ ...options, seq });
  const health = createHealthStream(options);
  const progressUpdates = progress.updates;
  const healthUpdates = health.updates;

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
    resendWhole(report) {
      const stream = report === 'progress' ? progress : health;
      stream.wholeDue();
      if (options.running()) stream.updates.request(0);
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
