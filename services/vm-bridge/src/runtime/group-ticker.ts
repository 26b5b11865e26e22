import type { BridgeContext } from './bridge-context.js';
import { keepLease } from './leadership.js';

/**
 * Every `tickMs`: while this bridge holds the lease (the election renews it on its own timer), reconciles every
 * group even without news (batch deadlines, stale reports). A group whose reconcile keeps failing the same way is
 * logged once.
 */
export class GroupTicker {
  private timer: NodeJS.Timeout | undefined;
  private readonly tickErrors = new Map<string, string>();

  constructor(
    private readonly ctx: BridgeContext,
    private readonly reconcile: (group: string) => Promise<void>,
    /** told each tick whether this bridge holds the lease (it consumes commands only while it does) */
    private readonly onLease: (held: boolean) => Promise<void>,
  ) {}

  start(): void {
    if (this.ctx.lifecycle.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick()
        .catch((error: unknown) => this.ctx.log.warn({ err: error }, 'bridge tick failed'))
        .finally(() => this.start());
    }, this.ctx.settings.tickMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    const held = keepLease(this.ctx);
    // Joining the consumer group may wait for a dead member's session to expire: the groups' deadlines are not
    // made to wait for it (the bridge runs one join or leave at a time).
    void this.onLease(held).catch((error: unknown) =>
      this.ctx.log.warn({ err: error }, 'switching the consumer failed'),
    );
    if (!held) return;
    for (const group of this.ctx.groups.keys()) {
      try {
        await this.reconcile(group);
        this.tickErrors.delete(group);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (this.tickErrors.get(group) !== message) this.ctx.log.warn({ group, err: error }, 'reconcile failed');
        this.tickErrors.set(group, message);
      }
    }
  }
}
