import {
  CommandRejectionReason,
  fenceCommand,
  unitKey,
  type ClusterDesiredState,
  type HaltCommand,
} from '@meshwave/contracts';
import type { UnitAssignment } from './converge-decisions.js';

/**
 * What the agent has accepted from the planner, and the pure rules for accepting more. It is the agent's only
 * memory (persisted after every change): the world itself (labels, restart annotations) holds the rest.
 */
export interface CommandLedger {
  /** highest planner epoch seen; commands of a lower epoch come from a deposed leader */
  readonly epoch: number;
  /** the latest accepted desired state per rollout, with the order in which rollouts were last accepted */
  readonly rollouts: Readonly<Record<string, LedgerEntry>>;
  readonly seq: number;
}

/** One rollout's place in the ledger. */
export interface LedgerEntry {
  /** the desired state last accepted; its generation is the planner's, never raised by a halt */
  readonly desired: ClusterDesiredState;
  readonly seq: number;
  /**
   * the generation of the halt that stopped the rollout, while no desired state newer than it has come: kept
   * apart from the desired state's generation, so that a new leader's resend of that desired state is still the
   * same generation (a duplicate), yet a desired state sent before the halt cannot start the rollout again
   */
  readonly haltGeneration?: number;
}

export const emptyLedger = (): CommandLedger => ({ epoch: 0, rollouts: {}, seq: 0 });

/** Seconds a unit may take to converge when neither the command nor the agent's configuration says. */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

export type LedgerDecision =
  | { readonly outcome: 'accepted'; readonly ledger: CommandLedger }
  /**
   * the same generation again (a redelivery, a new leader's resend): nothing to apply, nothing to report; with
   * `ledger` when it came with a newer epoch, which the agent learns (ADR 0009) so the deposed leader is fenced off
   */
  | { readonly outcome: 'duplicate'; readonly ledger?: CommandLedger }
  | { readonly outcome: 'rejected'; readonly reason: CommandRejectionReason; readonly detail: string };

/** Accepts a desired state for `cluster` unless it is foreign, fenced off, or not newer than what was applied. */
export function acceptDesiredState(ledger: CommandLedger, cluster: string, cmd: ClusterDesiredState): LedgerDecision {
  if (cmd.cluster !== cluster)
    return {
      outcome: 'rejected',
      reason: CommandRejectionReason.ForeignCluster,
      detail: `for cluster ${cmd.cluster}, this is ${cluster}`,
    };
  const prior = ledger.rollouts[cmd.rolloutId];
  const fence = fenceCommand({ epoch: ledger.epoch, generation: prior?.desired.generation }, cmd);
  if (fence.verdict === 'rejected') return { outcome: 'rejected', reason: fence.reason, detail: fence.detail };
  if (fence.verdict === 'same') return duplicateOf(ledger, cmd.epoch);
  const seq = ledger.seq + 1;
  // A halt holds until a desired state newer than the halt comes; one sent before it does not start it again.
  const haltGeneration = prior?.haltGeneration;
  const entry: LedgerEntry =
    haltGeneration !== undefined && haltGeneration > cmd.generation
      ? { desired: { ...cmd, halted: true }, seq, haltGeneration }
      : { desired: cmd, seq };
  return {
    outcome: 'accepted',
    ledger: {
      epoch: Math.max(ledger.epoch, cmd.epoch),
      seq,
      rollouts: { ...ledger.rollouts, [cmd.rolloutId]: entry },
    },
  };
}

/** A command the ledger already holds; a newer epoch on it is learnt all the same. */
function duplicateOf(ledger: CommandLedger, epoch: number): LedgerDecision {
  return epoch > ledger.epoch ? { outcome: 'duplicate', ledger: { ...ledger, epoch } } : { outcome: 'duplicate' };
}

/**
 * Accepts a halt: it marks the rollout's desired state halted. A halt is never refused for its generation
 * alone (stopping is always safe); only a deposed leader's halt is.
 */
export function acceptHalt(ledger: CommandLedger, cluster: string, cmd: HaltCommand): LedgerDecision {
  const target = cmd.target.replace(/^cluster\//, '');
  if (target !== cluster)
    return {
      outcome: 'rejected',
      reason: CommandRejectionReason.ForeignCluster,
      detail: `for ${cmd.target}, this is ${cluster}`,
    };
  // Only the epoch fences a halt: its generation alone never refuses it.
  const fence = fenceCommand({ epoch: ledger.epoch }, cmd);
  if (fence.verdict === 'rejected') return { outcome: 'rejected', reason: fence.reason, detail: fence.detail };
  const prior = ledger.rollouts[cmd.rolloutId];
  if (!prior)
    return {
      outcome: 'rejected',
      reason: CommandRejectionReason.UnknownRollout,
      detail: `no desired state for rollout ${cmd.rolloutId}`,
    };
  const haltedAt = prior.haltGeneration ?? prior.desired.generation;
  if (prior.desired.halted && cmd.generation <= haltedAt) return duplicateOf(ledger, cmd.epoch);
  const desired: ClusterDesiredState = {
    ...prior.desired,
    halted: true,
    epoch: Math.max(prior.desired.epoch, cmd.epoch),
  };
  const haltGeneration = Math.max(prior.haltGeneration ?? 0, cmd.generation);
  return {
    outcome: 'accepted',
    ledger: {
      ...ledger,
      epoch: Math.max(ledger.epoch, cmd.epoch),
      rollouts: { ...ledger.rollouts, [cmd.rolloutId]: { desired, seq: prior.seq, haltGeneration } },
    },
  };
}

/** One rollout's settings that apply across its units. */
export interface RolloutSettings {
  readonly rolloutId: string;
  readonly maxUnavailable: number;
  readonly halted: boolean;
}

/**
 * Every unit's assignment, the most recently accepted rollout winning where two list the same unit, plus
 * each rollout's concurrency settings. Units keep the order the planner listed them in. A command that states
 * no progress deadline gets the agent's (`progressDeadlineSeconds`).
 */
export function assignments(
  ledger: CommandLedger,
  progressDeadlineSeconds = DEFAULT_PROGRESS_DEADLINE_SECONDS,
): { units: UnitAssignment[]; rollouts: RolloutSettings[] } {
  const byKey = new Map<string, { a: UnitAssignment; seq: number }>();
  const ordered = Object.values(ledger.rollouts).sort((x, y) => x.seq - y.seq);
  for (const { desired: d, seq } of ordered) {
    for (const target of d.units) {
      const a: UnitAssignment = {
        target,
        granularity: d.granularity,
        rolloutId: d.rolloutId,
        generation: d.generation,
        wave: d.wave,
        progressDeadlineSeconds: d.progressDeadlineSeconds ?? progressDeadlineSeconds,
        ...(d.tag !== undefined ? { tag: d.tag } : {}),
        ...(d.tag !== undefined && d.gatewayPins !== undefined ? { gatewayPins: d.gatewayPins } : {}),
        ...(d.allowUnsupportedUpgradePath === true ? { allowUnsupportedUpgradePath: true } : {}),
      };
      const key = unitKey(target);
      byKey.delete(key); // re-insert so the latest rollout's order wins
      byKey.set(key, { a, seq });
    }
  }
  return {
    units: [...byKey.values()].map((x) => x.a),
    rollouts: ordered.map(({ desired: d }) => ({
      rolloutId: d.rolloutId,
      maxUnavailable: d.maxUnavailable,
      halted: d.halted,
    })),
  };
}
