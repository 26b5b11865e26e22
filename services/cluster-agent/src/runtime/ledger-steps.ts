import type { ClusterDesiredState } from '@meshwave/contracts';
import type { CommandLedger } from '../core/command-ledger.js';

/** A step a desired state of the ledger names, with what its runner needs to know of its rollout. */
export interface LedgerStep<T> {
  readonly rolloutId: string;
  readonly command: T;
  /** the rollout is halted: its steps get no pass */
  readonly halted: boolean;
  /** the rollout's progress deadline, or `defaultSeconds` when its command states none */
  readonly deadlineMs: number;
}

/** Every step of kind `pick` the ledger's desired states name, rollout by rollout, in their listed order. */
export function ledgerSteps<T>(
  ledger: CommandLedger,
  pick: (desired: ClusterDesiredState) => readonly T[] | undefined,
  defaultSeconds: number,
): LedgerStep<T>[] {
  return Object.entries(ledger.rollouts).flatMap(([rolloutId, { desired, haltGeneration }]) =>
    (pick(desired) ?? []).map((command) => ({
      rolloutId,
      command,
      halted: desired.halted || haltGeneration !== undefined,
      deadlineMs: (desired.progressDeadlineSeconds ?? defaultSeconds) * 1000,
    })),
  );
}
