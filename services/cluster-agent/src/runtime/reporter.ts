import {
  MessageType,
  UnitFailureReason,
  UnitState,
  type HealthReport,
  type InventoryReport,
  type UnitProgressEntry,
} from '@meshwave/contracts';
import type { Logger } from '@meshwave/telemetry';
import type { OutgoingMessage } from '@meshwave/bus';
import type { Clock, TimerHandle } from '@meshwave/reconcile';
import type { AgentIntervals } from '../config/agent-intervals.js';
import type { CommandLedger } from '../core/command-ledger.js';
import type { IstioInstallation, Labels } from '../ports/kubernetes-port.js';
import type { CacheChange, ClusterCache } from './cluster-cache.js';
import type { EventPublisher } from './event-publisher.js';
import { InventoryBook, istioInventory } from './inventory.js';
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
  readonly log: Logger;
}

/** What the agent tells the planner: inventory, unit progress, health and heartbeats. */
export interface Reporter {
  /** sends the whole inventory now */
  sendInventory(): Promise<void>;
  /** a cache change: its workloads' entries are recomputed at the next (debounced) send */
  noteChange(change: CacheChange): void;
  /**
   * sends the inventory after the debounce interval, gathering the changes made meanwhile; skipped when they
   * changed nothing it says, unless `always` (the periodic resend)
   */
  scheduleInventory(always?: boolean): void;
  sendProgress(rolloutIds: readonly string[]): Promise<void>;
  /** sends the progress of the dirty rollouts after `delay` (default: the debounce interval) */
  scheduleProgress(delay?: number): void;
  sendHealth(): Promise<void>;
  sendHeartbeat(): Promise<void>;
  /** cancels the pending debounced reports */
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
): HealthReport => ({
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

export function createReporter(options: ReporterOptions): Reporter {
  const { cluster, cache, book, clock, intervals, publisher } = options;
  const { publish, event } = publisher;
  let inventoryGeneration = 0;
  let inventoryTimer: TimerHandle | undefined;
  let inventoryAlways = false;
  const inventory = new InventoryBook(cache);
  let progressTimer: TimerHandle | undefined;
  // Without them the inventory says nothing of control planes (the planner then says it could not check them):
  // never an empty list, which would claim that no revision is installed.
  const readIstio = async (): Promise<Pick<InventoryReport, 'controlPlanes' | 'tags'>> => {
    try {
      const installation = await options.istio();
      return installation === undefined ? {} : istioInventory(installation);
    } catch (err) {
      options.log.warn({ err }, 'reading control planes and revision tags failed: the inventory goes without them');
      return {};
    }
  };

  const reporter: Reporter = {
    async sendInventory() {
      inventory.refresh();
      const istio = await readIstio();
      inventoryGeneration = Math.max(inventoryGeneration + 1, clock.now());
      await publish([
        event(MessageType.Inventory, {
          cluster,
          labels: options.clusterLabels,
          generation: inventoryGeneration,
          workloads: inventory.workloads(),
          namespaces: inventory.namespaces(),
          ...istio,
        }),
      ]);
    },
    noteChange(change) {
      inventory.note(change);
      reporter.scheduleInventory();
    },
    scheduleInventory(always = false) {
      inventoryAlways ||= always;
      if (inventoryTimer || !options.running()) return;
      inventoryTimer = clock.setTimer(intervals.inventoryDebounceMs, () => {
        inventoryTimer = undefined;
        const send = inventory.refresh() || inventoryAlways;
        inventoryAlways = false;
        if (send) void reporter.sendInventory();
      });
    },
    async sendProgress(rolloutIds) {
      const messages: OutgoingMessage[] = [];
      const ledger = options.ledger();
      for (const rolloutId of rolloutIds) {
        const entry = ledger.rollouts[rolloutId];
        if (!entry) continue;
        const mine = [...book.statuses.values()].filter((s) => s.assignment.rolloutId === rolloutId);
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
    },
    scheduleProgress(delay = intervals.progressDebounceMs) {
      if (progressTimer || !options.running()) return;
      progressTimer = clock.setTimer(delay, () => {
        progressTimer = undefined;
        void reporter.sendProgress(book.takeDirtyRollouts());
      });
    },
    sendHealth: () =>
      publish([event(MessageType.Health, healthReport(cluster, options.condition(), book.statuses.values()))]),
    sendHeartbeat: () =>
      publish([
        event(MessageType.Heartbeat, {
          source: cluster,
          version: options.version,
          at: new Date(clock.now()).toISOString(),
        }),
      ]),
    stop() {
      inventoryTimer?.cancel();
      progressTimer?.cancel();
    },
  };
  return reporter;
}
