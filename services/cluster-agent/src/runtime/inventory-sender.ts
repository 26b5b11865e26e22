import { MessageType, type AmbientInventory, type InventoryReport } from '@meshwave/contracts';
import type { OutgoingMessage } from '@meshwave/bus';
import type { Clock, LevelReport, LevelReportOptions } from '@meshwave/reconcile';
import type { Logger } from '@meshwave/telemetry';
import type { AgentIntervals } from '../config/agent-intervals.js';
import type { RevisionPodsRead } from '../core/revision-pods.js';
import type { IstioInstallation, Labels } from '../ports/kubernetes-port.js';
import type { CacheChange, ClusterCache } from './cluster-cache.js';
import type { EventPublisher } from './event-publisher.js';
import { InventoryBook, istioInventory } from './inventory.js';

export interface InventorySenderOptions {
  readonly cluster: string;
  readonly cache: ClusterCache;
  readonly clock: Clock;
  readonly intervals: Pick<AgentIntervals, 'inventoryDebounceMs'>;
  readonly publisher: EventPublisher;
  readonly clusterLabels: Labels;
  /** the cluster's control planes and revision tags (the port's two list calls) */
  readonly istio: () => Promise<IstioInstallation | undefined>;
  /** pods with a proxy per revision in every namespace (one list of CronJobs), read with the control planes */
  readonly revisionPods: () => Promise<RevisionPodsRead>;
  /** nodes, node agents and waypoints (ADR 0051), read with the control planes; absent: none reported */
  readonly ambient?: () => Promise<AmbientInventory>;
  /** reports are scheduled only while the agent runs */
  readonly running: () => boolean;
  readonly log: Logger;
  /** how a level report is made (outside any caller's trace) */
  readonly report: (options: LevelReportOptions) => LevelReport;
}

/** The agent's inventory reports: whole ones and deltas (ADR 0031). */
export interface InventorySender {
  /** sends the whole inventory now */
  sendWhole(): Promise<void>;
  /** a cache change: its workloads' entries are recomputed at the next send */
  note(change: CacheChange): void;
  /**
   * sends what changed after the debounce interval, gathering the changes made meanwhile; skipped when they
   * changed nothing the inventory says. `whole`: the whole inventory (the planner asked); `istio`: read the
   * control planes and tags again too, and send them if they changed.
   */
  schedule(what?: { readonly whole?: boolean; readonly istio?: boolean }): void;
  stop(): void;
}

/** What is read with the control planes: they, the tags, the pods per revision and ambient mode's nodes. */
type IstioRead = Pick<InventoryReport, 'controlPlanes' | 'tags' | 'revisionPods' | 'revisionPodsTruncated' | 'ambient'>;

/**
 * The cluster's control planes, tags and pods per revision for the inventory. Without them the inventory says
 * nothing of control planes (the planner then says it could not check them): never an empty list, which would
 * claim that no revision is installed.
 */
async function readIstio(
  options: Pick<InventorySenderOptions, 'istio' | 'revisionPods' | 'ambient' | 'log'>,
): Promise<IstioRead> {
  const [installation, revisionPods, ambient] = await Promise.allSettled([
    options.istio(),
    options.revisionPods(),
    options.ambient?.(),
  ]);
  if (ambient.status === 'rejected')
    options.log.warn({ err: ambient.reason }, 'reading nodes and node agents failed: the inventory goes without them');
  if (installation.status === 'rejected')
    options.log.warn(
      { err: installation.reason },
      'reading control planes and revision tags failed: the inventory goes without them',
    );
  // Without them the planner calls no revision safe to remove: an unread cluster never reads as unused.
  if (revisionPods.status === 'rejected')
    options.log.warn(
      { err: revisionPods.reason },
      'reading the pods per revision failed: the inventory goes without them',
    );
  return {
    ...(installation.status === 'fulfilled' && installation.value !== undefined
      ? istioInventory(installation.value)
      : {}),
    ...(revisionPods.status === 'fulfilled' ? revisionPods.value : {}),
    ...(ambient.status === 'fulfilled' && ambient.value !== undefined ? { ambient: ambient.value } : {}),
  };
}

/**
 * A whole inventory goes at start, after a failed send (the level report's retry is a full one) and when the
 * planner asks for it (it missed a delta, or holds none); otherwise a delta of what changed since the report the
 * bus last took, on that report's generation. There is no periodic resend of the whole inventory.
 */
export function createInventorySender(options: InventorySenderOptions): InventorySender {
  const { cluster, clock, publisher } = options;
  const book = new InventoryBook(options.cache);
  let generation = 0;
  let wholeDue = false;
  /** the control planes and tags are read again at the next send (they have no watch of their own) */
  let istioDue = true;
  let istioSent = '';
  /** the generation of the last report the bus took: a delta follows it; none yet, or a failed send: a whole one */
  let base: number | undefined;

  const publish = async (whole: boolean, istio: IstioRead): Promise<boolean> => {
    const follows = base;
    generation = Math.max(generation + 1, clock.now());
    const head = { cluster, labels: options.clusterLabels, generation, ...istio };
    let message: OutgoingMessage;
    if (whole || follows === undefined) {
      book.clearChanges();
      message = publisher.event(MessageType.Inventory, {
        ...head,
        workloads: book.workloads(),
        namespaces: book.namespaces(),
        gateways: book.gateways(),
      });
    } else {
      const changes = book.takeChanges();
      message = publisher.event(MessageType.InventoryDelta, {
        ...head,
        base: follows,
        upserted: changes.upserted,
        removed: changes.removed,
        ...(changes.namespaces ? { namespaces: book.namespaces() } : {}),
        ...(changes.gateways ? { gateways: book.gateways() } : {}),
      });
    }
    // Until the bus has it, nothing may follow it: a failed send is retried as a whole report.
    base = undefined;
    const sent = await publisher.publish([message]);
    if (sent) base = generation;
    return sent;
  };

  const updates = options.report({
    clock,
    resendMs: 0,
    send: async (full) => {
      const changed = book.refresh();
      const whole = full || wholeDue || base === undefined;
      if (!changed && !whole && !istioDue) return true;
      const readNow = whole || istioDue;
      istioDue = false;
      const istio = readNow ? await readIstio(options) : undefined;
      const istioText = istio === undefined ? istioSent : JSON.stringify(istio);
      if (!changed && !whole && istioText === istioSent) return true;
      wholeDue = false;
      istioSent = istioText;
      // a delta carries the control planes and tags only when they were read (a few entries)
      return publish(whole, istio ?? {});
    },
  });

  return {
    async sendWhole() {
      wholeDue = true;
      await updates.flush();
    },
    note: (change) => book.note(change),
    schedule(what = {}) {
      wholeDue ||= what.whole === true;
      istioDue ||= what.istio === true;
      if (options.running()) updates.request(options.intervals.inventoryDebounceMs);
    },
    stop: () => updates.stop(),
  };
}
