import { MessageType, Topic } from '@meshwave/contracts';
import type { Leadership } from './leadership.js';
import { nowOf, type PlannerContext } from './planner-context.js';

export interface Readiness {
  readonly ready: boolean;
  readonly leader: boolean;
  readonly epoch: number;
  readonly checks: Record<string, { ok: boolean; detail?: string }>;
}

/**
 * The planner's heartbeat on the events topic, which doubles as its bus check, and the readiness it reports
 * (store reachable, bus publishing, leadership known).
 */
export class PlannerReadiness {
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastBusOk = 0;
  private lastBusError: string | undefined;

  constructor(
    private readonly context: Pick<PlannerContext, 'bus' | 'config' | 'clock'>,
    private readonly leadership: Pick<Leadership, 'known' | 'isLeader' | 'epoch' | 'leader' | 'halted'>,
  ) {}

  start(): void {
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(1000, this.context.config.leaseRenewMs));
    this.heartbeatTimer.unref();
    void this.heartbeat();
  }

  stop(): void {
    clearInterval(this.heartbeatTimer);
  }

  async readiness(): Promise<Readiness> {
    const { leadership } = this;
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    let holder: string | undefined;
    try {
      holder = await leadership.leader();
      checks.store = leadership.halted === undefined ? { ok: true } : { ok: false, detail: leadership.halted };
    } catch (error) {
      checks.store = { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
    const busFresh = Date.now() - this.lastBusOk < Math.max(5_000, 3 * this.context.config.leaseRenewMs);
    checks.bus = busFresh ? { ok: true } : { ok: false, detail: this.lastBusError ?? 'no successful publish yet' };
    const known = leadership.known && checks.store.ok;
    checks.leadership = known
      ? { ok: true, detail: leadership.isLeader() ? 'leader' : `follower of ${holder ?? 'nobody (election pending)'}` }
      : { ok: false, detail: 'leadership not known yet' };
    return {
      ready: Object.values(checks).every((c) => c.ok),
      leader: leadership.isLeader(),
      epoch: leadership.epoch(),
      checks,
    };
  }

  private async heartbeat(): Promise<void> {
    const { instanceId } = this.context.config;
    try {
      await this.context.bus.publish([
        {
          topic: Topic.Events,
          key: `planner/${instanceId}`,
          type: MessageType.Heartbeat,
          data: { source: `planner/${instanceId}`, version: '0.1.0', at: nowOf(this.context).toISOString() },
          ttlSeconds: 60,
        },
      ]);
      this.lastBusOk = Date.now();
      this.lastBusError = undefined;
    } catch (error) {
      this.lastBusError = error instanceof Error ? error.message : String(error);
    }
  }
}
