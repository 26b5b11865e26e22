// Agents the planner hears, driven by the harness's fake clock: fixtures for membership tests (not built into dist).
import type { Inventory } from '@meshwave/contracts';
import type { Harness } from './engine-harness.js';
import type { Membership } from './wave-membership.js';

/** Every cluster is heard at each instant of the harness's clock, except those silenced (heard last at a time). */
export class FakeHeartbeats extends Map<string, number> {
  private readonly silenced = new Map<string, number>();

  constructor(private readonly harness: Pick<Harness, 'now'>) {
    super();
  }

  override get(cluster: string): number {
    return this.silenced.get(cluster) ?? this.harness.now.getTime();
  }

  /** the cluster's agent stops speaking now (and its commands are lost: see FakeFleet.deaf) */
  silence(cluster: string, at = this.harness.now.getTime()): void {
    this.silenced.set(cluster, at);
  }

  speak(cluster: string): void {
    this.silenced.delete(cluster);
  }
}

export const HEARTBEAT_TIMEOUT_MS = 60_000;

/** Gives the harness's decisions a membership: heartbeats, and optionally the fleet as it is now. */
export function listen(h: Harness, inventory?: () => Inventory): FakeHeartbeats {
  const heard = new FakeHeartbeats(h);
  const membership: Membership = {
    lastSeen: heard,
    since: h.now.getTime() - 3_600_000, // the planner has listened for an hour
    timeoutMs: HEARTBEAT_TIMEOUT_MS,
  };
  // A getter, so the fleet is read at each decision (a cluster may join between two).
  h.extra = {
    ...h.extra,
    get membership(): Membership {
      return inventory !== undefined ? { ...membership, inventory: inventory() } : membership;
    },
  };
  return heard;
}
