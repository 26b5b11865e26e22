import { z } from 'zod';

/**
 * Why a consumer refused a message before its handler saw it (it went to the DLQ); stable constants. Agents
 * report these to the planner as `CommandRejected.reason` too, so they are part of the wire contract.
 */
export const DeadLetterReason = {
  /** no signature header */
  Unsigned: 'unsigned',
  /** signed with a key id this consumer does not know (revoked, or another fleet's) */
  UnknownKey: 'unknown-key',
  /** signature does not match the content: tampered or forged */
  BadSignature: 'bad-signature',
  Expired: 'expired',
  /** signed with a valid key of another principal than the message speaks for (ADR 0038): a cluster's key on a
   * command, or on another cluster's report */
  WrongSigner: 'wrong-signer',
  /** routed to this consumer but addressed to another identity */
  WrongAudience: 'wrong-audience',
  /** CloudEvents headers missing or malformed */
  InvalidEnvelope: 'invalid-envelope',
  UnknownType: 'unknown-type',
  /** data does not satisfy the schema of its type */
  InvalidData: 'invalid-data',
  /** the handler said the message can never succeed */
  HandlerRejected: 'handler-rejected',
  /** the handler kept failing after every retry */
  HandlerFailed: 'handler-failed',
} as const;
export type DeadLetterReason = (typeof DeadLetterReason)[keyof typeof DeadLetterReason];

/** Why an agent (cluster agent, VM bridge) refused a command; the value of `CommandRejected.reason`. */
export const CommandRejectionReason = {
  ...DeadLetterReason,
  /** the command comes from a deposed planner leader: its epoch is below the highest the target has seen */
  StaleEpoch: 'stale-epoch',
  /** the target already applied a later generation of this rollout */
  StaleGeneration: 'stale-generation',
  /** the command names another cluster than the agent's */
  ForeignCluster: 'foreign-cluster',
  /** a halt for a rollout the agent holds no desired state of */
  UnknownRollout: 'unknown-rollout',
  /** the message key does not route to the VM group the command names */
  WrongKey: 'wrong-key',
  /** a reason this version does not know (an agent of another version); the detail still says what happened */
  Unknown: 'unknown',
} as const;
export type CommandRejectionReason = (typeof CommandRejectionReason)[keyof typeof CommandRejectionReason];

/**
 * Spellings of one release of the VM bridge, read as today's values so that one failure is counted under one
 * label while old bridges still run.
 */
const LEGACY_REJECTION_REASONS: Readonly<Record<string, CommandRejectionReason>> = {
  StaleEpoch: CommandRejectionReason.StaleEpoch,
  StaleGeneration: CommandRejectionReason.StaleGeneration,
  WrongKey: CommandRejectionReason.WrongKey,
};

/**
 * `CommandRejected.reason` on the wire. Producers send only the enum's values (their type says so); a reader
 * maps the legacy spellings and reads any other string as `unknown` rather than dropping the report.
 */
export const CommandRejectionReasonSchema = z
  .preprocess(
    (value) => (typeof value === 'string' ? (LEGACY_REJECTION_REASONS[value] ?? value) : value),
    z.enum(CommandRejectionReason),
  )
  .catch(CommandRejectionReason.Unknown);

/** The fencing marks every command carries: the leader's epoch and the rollout's generation for the target. */
export interface FenceMark {
  readonly epoch: number;
  readonly generation: number;
}

/** What a target (a cluster's rollout, a VM group) holds from the planner. */
export interface FenceState {
  /** the highest planner epoch the target has seen */
  readonly epoch: number;
  /**
   * the generation of the command it applied last; undefined when it has none, or when this kind of command
   * is not ordered by generation (the agent's halt: stopping is always safe)
   */
  readonly generation?: number | undefined;
}

export type FenceVerdict =
  /** a later generation (or the first): apply it */
  | { readonly verdict: 'newer' }
  /** the generation the target holds (a redelivery, or a new leader's resend): nothing new to apply */
  | { readonly verdict: 'same' }
  | {
      readonly verdict: 'rejected';
      readonly reason: typeof CommandRejectionReason.StaleEpoch | typeof CommandRejectionReason.StaleGeneration;
      readonly detail: string;
    };

/**
 * Command fencing, the one rule every agent applies before acting on a command: a command of an epoch below
 * the highest seen comes from a deposed leader and is refused; within the epochs, a lower generation than the
 * one applied is out of date and refused; the same generation is not applied twice.
 */
export function fenceCommand(held: FenceState, command: FenceMark): FenceVerdict {
  if (command.epoch < held.epoch)
    return {
      verdict: 'rejected',
      reason: CommandRejectionReason.StaleEpoch,
      detail: `epoch ${command.epoch} < ${held.epoch}`,
    };
  if (held.generation === undefined || command.generation > held.generation) return { verdict: 'newer' };
  if (command.generation === held.generation) return { verdict: 'same' };
  return {
    verdict: 'rejected',
    reason: CommandRejectionReason.StaleGeneration,
    detail: `generation ${command.generation} < ${held.generation}`,
  };
}
