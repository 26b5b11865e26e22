import { MessageType, ResyncReport, Topic, clusterKey } from '@meshwave/contracts';
import type { EventBus } from '@meshwave/bus';
import type { Logger } from '@meshwave/telemetry';

/** A cluster is asked again for its whole inventory at most this often while none arrives (ADR 0031). */
export const RESYNC_REQUEST_INTERVAL_MS = 10_000;
/** a request is worth nothing once a newer one could have been sent */
const RESYNC_TTL_SECONDS = 60;

/** Which whole report of a cluster is asked for (ADR 0048): its inventory, progress or health. */
type Report = (typeof ResyncReport)[keyof typeof ResyncReport];

/**
 * The planner's requests for a cluster's whole inventory (or progress, or health: ADR 0048), when it holds none
 * or missed a delta. One request per cluster and report at a time: asked again only after
 * `RESYNC_REQUEST_INTERVAL_MS` without a whole report (the request, or the report, may have been lost), so a
 * burst of deltas after a gap asks once.
 */
export class InventoryResyncs {
  /** when each cluster was last asked (ms) for each report (`<report>/<cluster>`), until the whole one arrives */
  private readonly asked = new Map<string, number>();

  constructor(
    private readonly bus: Pick<EventBus, 'publish'>,
    private readonly now: () => number,
    private readonly logger: Pick<Logger, 'info' | 'warn'>,
  ) {}

  /** asks `cluster`'s agent for its whole inventory, unless it was asked within the interval; true if asked */
  async request(cluster: string, reason: string, report: Report = ResyncReport.Inventory): Promise<boolean> {
    const now = this.now();
    const key = `${report}/${cluster}`;
    const last = this.asked.get(key);
    if (last !== undefined && now - last < RESYNC_REQUEST_INTERVAL_MS) return false;
    this.asked.set(key, now);
    this.logger.info({ cluster, reason, report }, 'asking the agent for a whole report');
    try {
      await this.bus.publish([
        {
          topic: Topic.Commands,
          key: clusterKey(cluster),
          audience: clusterKey(cluster),
          type: MessageType.InventoryResync,
          // the inventory's request as agents before ADR 0048 read it
          data: { cluster, reason, ...(report === ResyncReport.Inventory ? {} : { report }) },
          ttlSeconds: RESYNC_TTL_SECONDS,
        },
      ]);
      return true;
    } catch (err) {
      // asked again at the next delta: nothing is lost but time
      this.asked.delete(key);
      this.logger.warn({ err, cluster, report }, 'asking for a whole report failed');
      return false;
    }
  }

  /** the cluster's whole report arrived */
  received(cluster: string, report: Report = ResyncReport.Inventory): void {
    this.asked.delete(`${report}/${cluster}`);
  }
}
