import {
  CommandRejectionReason,
  MessageType,
  Topic,
  fenceCommand,
  vmGroupKey,
  type HaltCommand,
  type VmGroupDesiredState,
} from '@meshwave/contracts';
import type { IncomingMessage } from '@meshwave/bus';
import { MeshwaveAttribute, handlerContext, rolloutAttributes, withSpan } from '@meshwave/telemetry';
import { SpanKind } from '@opentelemetry/api';
import type { GroupRecord } from '../core/batch-decision.js';
import type { BridgeContext } from './bridge-context.js';
import type { GroupWriter } from './group-writer.js';
import type { ProgressPublisher } from './progress-publisher.js';

/** Result of applying a command, for logs, metrics and tests. */
export type CommandOutcome =
  | { readonly result: 'applied' | 'duplicate' }
  | { readonly result: 'rejected'; readonly reason: CommandRejectionReason; readonly detail: string }
  | { readonly result: 'ignored'; readonly detail: string };

/** The planner's commands to VM groups: desired state and halts, fenced by epoch and ordered by generation. */
export class CommandIntake {
  constructor(
    private readonly ctx: BridgeContext,
    private readonly writer: GroupWriter,
    private readonly publisher: ProgressPublisher,
  ) {}

  /** Entry point for the bus: verifies the key, applies, and reports a rejection on the events topic. */
  async handleMessage(message: IncomingMessage): Promise<CommandOutcome> {
    const receivedAt = performance.now();
    if (message.type !== MessageType.VmGroupDesiredState && message.type !== MessageType.Halt)
      return { result: 'ignored', detail: `${message.type} is not a VM group command` };
    const data = message.data;
    const group = message.type === MessageType.Halt ? groupOfTarget(message.data.target) : message.data.group;
    const span = { traceparent: message.traceparent, tracestate: message.tracestate };
    // the bus's `process <topic>` span is the messaging one; this is the bridge's own step inside it
    return withSpan(
      this.ctx.tracer,
      'apply command',
      {
        kind: SpanKind.INTERNAL,
        parent: handlerContext(span),
        attributes: {
          ...rolloutAttributes({ rolloutId: data.rolloutId, wave: data.wave, vmGroup: group }),
          [MeshwaveAttribute.Generation]: data.generation,
          [MeshwaveAttribute.Epoch]: data.epoch,
        },
      },
      async (s) => {
        let outcome: CommandOutcome;
        if (!this.ctx.groups.has(group)) outcome = { result: 'ignored', detail: `group ${group} is not served here` };
        else if (message.key !== vmGroupKey(group)) {
          outcome = {
            result: 'rejected',
            reason: CommandRejectionReason.WrongKey,
            detail: `key ${message.key} does not match group ${group}`,
          };
        } else if (message.type === MessageType.Halt) outcome = await this.applyHalt(message.data);
        else outcome = await this.applyCommand(message.data, message.traceparent);
        s.setAttribute('meshwave.command.result', outcome.result);
        this.ctx.metrics.commands.inc({ type: message.type, result: outcome.result });
        if (outcome.result === 'applied')
          // the epoch says which leader's command this bridge acts on (a deposed leader's is refused)
          this.ctx.log.info(
            {
              group,
              id: message.id,
              type: message.type,
              generation: message.data.generation,
              epoch: message.data.epoch,
              publishedAt: message.time,
              handledMs: Math.round(performance.now() - receivedAt),
            },
            'command accepted',
          );
        if (outcome.result === 'rejected') {
          this.ctx.log.warn(
            { group, id: message.id, reason: outcome.reason, detail: outcome.detail },
            'command rejected',
          );
          await this.publisher.publish([
            {
              topic: Topic.Events,
              key: vmGroupKey(group),
              type: MessageType.CommandRejected,
              data: {
                source: `vm-bridge/${group}`,
                commandId: message.id,
                reason: outcome.reason,
                detail: outcome.detail,
              },
            },
          ]);
        }
        return outcome;
      },
    );
  }

  /** Applies a desired-state command (fenced by epoch, ordered by generation). */
  async applyCommand(command: VmGroupDesiredState, traceparent?: string): Promise<CommandOutcome> {
    return this.writer.mutate(command.group, (loaded) => {
      const g = loaded.group;
      const current = g.command;
      const highestEpoch = g.highestEpoch ?? 0;
      // The planner counts generations per rollout (each starts at 1): they order the commands of the rollout in
      // force, and a command of another rollout is fenced by epoch alone, as a cluster agent's ledger does.
      const sameRollout = current?.rolloutId === command.rolloutId;
      const fence = fenceCommand(
        { epoch: highestEpoch, generation: sameRollout ? current.generation : undefined },
        command,
      );
      if (fence.verdict === 'rejected') return { outcome: reject(fence.reason, fence.detail) };
      if (fence.verdict === 'same') {
        // A redelivery or a new leader's resend: nothing to apply, but its epoch fences the deposed leader.
        return {
          outcome: { result: 'duplicate' },
          changes: { group: { ...g, highestEpoch: Math.max(highestEpoch, command.epoch) } },
        };
      }
      let next: GroupRecord = {
        ...g,
        highestEpoch: Math.max(highestEpoch, command.epoch),
        command: {
          rolloutId: command.rolloutId,
          wave: command.wave,
          generation: command.generation,
          epoch: command.epoch,
          from: command.from,
          to: command.to,
          maxUnavailable: command.maxUnavailable,
          targets: Object.fromEntries(command.hosts.map((h) => [h.name, h.version])),
          ...(traceparent !== undefined ? { traceparent } : {}),
        },
      };
      if (command.halted) {
        next = {
          ...next,
          halted: true,
          haltReason: g.halted ? (g.haltReason ?? 'halted') : `halted by planner (generation ${command.generation})`,
          haltedAtGeneration: command.generation,
        };
      } else if (g.halted && (!sameRollout || command.generation > (g.haltedAtGeneration ?? 0))) {
        // A later decision of the planner (or a rollout created after the halt) resumes the group; it was told why
        // the group halted.
        const { haltReason: _r, haltedAtGeneration: _h, ...rest } = next;
        next = { ...rest, halted: false };
      }
      return { outcome: { result: 'applied' }, changes: { group: next } };
    });
  }

  /** Halts the group at once: no new batch starts; the one in flight completes or reverts. */
  async applyHalt(halt: HaltCommand): Promise<CommandOutcome> {
    const group = groupOfTarget(halt.target);
    return this.writer.mutate(
      group,
      (loaded) => {
        const g = loaded.group;
        const highestEpoch = g.highestEpoch ?? 0;
        // A halt of an older generation than the group's command is out of date; one of the same generation halts it.
        // Generations order one rollout's commands: a halt of another rollout is fenced by epoch alone (halting is
        // always safe).
        const sameRollout = g.command?.rolloutId === halt.rolloutId;
        const fence = fenceCommand(
          { epoch: highestEpoch, generation: sameRollout ? (g.command?.generation ?? 0) : 0 },
          halt,
        );
        if (fence.verdict === 'rejected') return { outcome: reject(fence.reason, fence.detail) };
        if (g.halted && sameRollout && (g.haltedAtGeneration ?? 0) >= halt.generation) {
          // Already halted: nothing to apply, but a newer epoch on it fences the deposed leader off (ADR 0009).
          if (halt.epoch <= highestEpoch) return { outcome: { result: 'duplicate' } };
          return { outcome: { result: 'duplicate' }, changes: { group: { ...g, highestEpoch: halt.epoch } } };
        }
        return {
          outcome: { result: 'applied' },
          changes: {
            group: {
              ...g,
              highestEpoch: Math.max(highestEpoch, halt.epoch),
              halted: true,
              haltReason: `halted by planner: ${halt.reason}`,
              haltedAtGeneration: halt.generation,
            },
          },
        };
      },
      true,
    );
  }
}

function reject(reason: CommandRejectionReason, detail: string): CommandOutcome {
  return { result: 'rejected', reason, detail };
}

/** A halt's target is `vmgroup/<name>` (or the bare name). */
function groupOfTarget(target: string): string {
  return target.startsWith('vmgroup/') ? target.slice('vmgroup/'.length) : target;
}
