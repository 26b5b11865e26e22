import { MessageType, Topic, clusterKey } from '@meshwave/contracts';
import type { EventBus } from '@meshwave/bus';
import type { Logger } from '@meshwave/telemetry';

/** A cluster is asked again for its whole inventory at most this often while none arrives (ADR 0031). */
export const RESYNC_REQUEST_INTERVAL_MS = 10_000;
/** a request is worth nothing once a newer one could have been sent */
const RESYNC_TTL_SECONDS = 60;

/**
 * The planner's requests for a cluster's whole inventory, when it holds none or missed a delta. One request per
 * cluster at a time: asked again only after `RESYNC_REQUEST_INTERVAL_MS` without a whole report (the request,
 * or the report, may have been lost), so a burst of deltas after a gap asks once.
 */
export class InventoryResyncs {
  /** when each cluster was last asked (ms), until its whole inventory arrives */
  private readonly asked = new Map<string, number>();

  constructor(
    private readonly bus: Pick<EventBus, 'publish'>,
    private readonly now: () => number,
    private readonly logger: Pick<Logger, 'info' | 'warn'>,
  ) {}

  /** asks `cluster`'s agent for its whole inventory, unless it was asked within the interval; true if asked */
  async request(cluster: string, reason: string): Promise<boolean> {
    const now = this.now();
    const last = this.asked.get(cluster);
    if (last !== undefined && now - last < RESYNC_REQUEST_INTERVAL_MS) return false;
    this.asked.set(cluster, now);
    this.logger.info({ cluster, reason }, 'asking the agent for its whole inventory');
    try {
      await this.bus.publish([
        {
          topic: Topic.Commands,
          key: clusterKey(cluster),
          audience: clusterKey(cluster),
          type: MessageType.InventoryResync,
          data: { cluster, reason },
          ttlSeconds: RESYNC_TTL_SECONDS,
        },
      ]);
      return true;
    } catch (err) {
      // asked again at the next delta: nothing is lost but time
      this.asked.delete(cluster);
      this.logger.warn({ err, cluster }, 'asking for a whole inventory failed');
      return false;
    }
  }

  /** the cluster's whole inventory arrived */
  received(cluster: string): void {
    this.asked.delete(cluster);
  }
}
