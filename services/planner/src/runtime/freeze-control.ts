import type { FreezeStatus } from '@meshwave/contracts';
import type { StateStore } from '@meshwave/store';
import { changeFreeze } from '../core/fleet-freeze.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import type { Leadership } from './leadership.js';
import { nowOf, type PlannerContext } from './planner-context.js';
import type { RolloutReconciler } from './rollout-reconciler.js';
import { FLEET_SCOPE, FleetDoc } from './store-layout.js';
import { StoredFreeze, parseStoredIfAny } from './stored-documents.js';

// The fleet-wide freeze lives in the store (the fleet scope), written by the leader with its epoch: a new
// leader reads it on its first reconcile, so a freeze outlives the replica that took it.

/** The stored freeze status; a fleet never frozen is `{ frozen: false }`. */
export async function readFreeze(store: StateStore): Promise<FreezeStatus> {
  const stored = parseStoredIfAny(StoredFreeze, await store.read(FLEET_SCOPE, FleetDoc.Freeze), FleetDoc.Freeze);
  return stored ?? { frozen: false };
}

export interface FreezeControlPorts {
  readonly leadership: Pick<Leadership, 'requireLeader' | 'lost'>;
  readonly reconciler: Pick<RolloutReconciler, 'rejudgeAll'>;
}

/** Freezes and lifts (on the leader), audited; every active rollout is reconciled at once after a change. */
export class FreezeControl {
  constructor(
    private readonly context: PlannerContext,
    private readonly ports: FreezeControlPorts,
  ) {}

  status(): Promise<FreezeStatus> {
    return readFreeze(this.context.store);
  }

  async change(frozen: boolean, reason: string, actor: string): Promise<FreezeStatus> {
    const lease = this.ports.leadership.requireLeader();
    const { store } = this.context;
    for (let attempt = 0; attempt < 5; attempt++) {
      const doc = await store.read(FLEET_SCOPE, FleetDoc.Freeze);
      const current = parseStoredIfAny(StoredFreeze, doc, FleetDoc.Freeze);
      const now = nowOf(this.context);
      const result = changeFreeze(current, { frozen, reason, actor, now });
      if (!result.ok)
        throw new PlannerError(PlannerErrorCode.ActionNotApplicable, result.why, {
          context: { action: frozen ? 'freeze' : 'unfreeze' },
        });
      const written = await store.transition({
        scope: FLEET_SCOPE,
        epoch: lease.epoch,
        writes: [{ name: FleetDoc.Freeze, value: result.status, expectedVersion: doc?.version ?? 0 }],
        audit: {
          actor,
          action: frozen ? 'freeze' : 'unfreeze',
          scope: FLEET_SCOPE,
          reason,
          at: now.toISOString(),
          detail: { message: result.message },
        },
      });
      if (written.ok) {
        this.context.logger.warn({ actor, reason, frozen }, result.message);
        this.ports.reconciler.rejudgeAll(true);
        return result.status;
      }
      if (written.reason === 'stale-epoch') {
        void this.ports.leadership.lost('stale epoch');
        throw new PlannerError(PlannerErrorCode.NotLeader, 'leadership moved to another replica; retry', {
          retryable: true,
        });
      }
    }
    throw new PlannerError(PlannerErrorCode.Conflict, 'the freeze kept changing; try again', { retryable: true });
  }
}
