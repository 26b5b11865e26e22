import type { StateStore } from '@meshwave/store';
import { RolloutDoc } from './store-layout.js';

/** Finished rollouts remembered as settled (the oldest forgotten first: it is then only read whole again). */
export const SETTLED_ROLLOUTS_KEPT = 1024;

/**
 * Finished rollouts with nothing left to do, by the version of their state document when a reconcile found them so:
 * a terminal phase, nothing changed, nothing sent, and every target's reports at the generation it was sent. Such
 * a rollout's decision can change only when its state does (an operator's action, e.g. a rollback of a completed
 * rollout, writes it): agents' reports after the end cannot make a target lag again (the newest generation wins).
 * Agents keep reporting after the end, and each report enqueued a reconcile that fetched, parsed and validated the
 * rollout's whole scope again (its documents are dropped at the end, ADR 0075): at fleet (b) the 12.7 MB plan and
 * 100,000 units' reports per report, the planner's peak RSS (issue 15, ADR 0078). A settled rollout's reconcile
 * reads the state document's version only.
 *
 * Bound: `kept` rollouts; a leader that stands down forgets them all (a new term sends everything again).
 */
export class SettledRollouts {
  private readonly settled = new Map<string, number>();

  constructor(
    private readonly store: Pick<StateStore, 'readVersion'>,
    private readonly kept = SETTLED_ROLLOUTS_KEPT,
  ) {}

  /** whether `id` is settled and its state is still the version it settled at (a changed state forgets it) */
  async still(id: string): Promise<boolean> {
    const version = this.settled.get(id);
    if (version === undefined) return false;
    if ((await this.store.readVersion(id, RolloutDoc.State)) === version) return true;
    this.settled.delete(id);
    return false;
  }

  /** `id` is settled at `stateVersion` */
  settle(id: string, stateVersion: number): void {
    this.settled.delete(id);
    this.settled.set(id, stateVersion);
    for (const oldest of this.settled.keys()) {
      if (this.settled.size <= this.kept) break;
      this.settled.delete(oldest);
    }
  }

  /** forgets `id`, or every rollout (a leader that stands down) */
  forget(id?: string): void {
    if (id === undefined) this.settled.clear();
    else this.settled.delete(id);
  }
}
