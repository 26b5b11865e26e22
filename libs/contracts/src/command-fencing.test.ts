import { describe, expect, it } from 'vitest';
import {
  CommandRejectionReason,
  CommandRejectionReasonSchema,
  DeadLetterReason,
  fenceCommand,
} from './command-fencing.js';
import { CommandRejected } from './messages.js';

describe('command fencing', () => {
  it('Given a target that saw epoch 3, When a command of epoch 2 arrives, Then it is refused as stale-epoch whatever its generation', () => {
    expect(fenceCommand({ epoch: 3, generation: 5 }, { epoch: 2, generation: 9 })).toEqual({
      verdict: 'rejected',
      reason: CommandRejectionReason.StaleEpoch,
      detail: 'epoch 2 < 3',
    });
  });

  it('Given a target at generation 5, When generations 4, 5 and 6 arrive, Then 4 is stale, 5 the same and 6 newer', () => {
    const held = { epoch: 3, generation: 5 };
    expect(fenceCommand(held, { epoch: 3, generation: 4 })).toEqual({
      verdict: 'rejected',
      reason: CommandRejectionReason.StaleGeneration,
      detail: 'generation 4 < 5',
    });
    expect(fenceCommand(held, { epoch: 3, generation: 5 })).toEqual({ verdict: 'same' });
    expect(fenceCommand(held, { epoch: 3, generation: 6 })).toEqual({ verdict: 'newer' });
  });

  it('Given a new leader resending the generation a target holds, When it arrives, Then it is the same, not stale', () => {
    expect(fenceCommand({ epoch: 3, generation: 5 }, { epoch: 4, generation: 5 })).toEqual({ verdict: 'same' });
  });

  it('Given a target with no generation, When any generation of a current epoch arrives, Then it is newer', () => {
    expect(fenceCommand({ epoch: 3 }, { epoch: 3, generation: 0 })).toEqual({ verdict: 'newer' });
    expect(fenceCommand({ epoch: 0 }, { epoch: 7, generation: 1 })).toEqual({ verdict: 'newer' });
  });
});

describe('CommandRejected.reason', () => {
  it('Given every reason an agent sends, When it is parsed, Then it stays as it is', () => {
    for (const reason of Object.values(CommandRejectionReason))
      expect(CommandRejected.parse({ source: 'cluster-agent/c1', reason }).reason).toBe(reason);
    for (const reason of Object.values(DeadLetterReason))
      expect(CommandRejectionReasonSchema.parse(reason)).toBe(reason);
  });

  it("Given an older VM bridge's spelling, When it is parsed, Then it is read as today's value", () => {
    expect(CommandRejectionReasonSchema.parse('StaleEpoch')).toBe(CommandRejectionReason.StaleEpoch);
    expect(CommandRejectionReasonSchema.parse('StaleGeneration')).toBe(CommandRejectionReason.StaleGeneration);
    expect(CommandRejectionReasonSchema.parse('WrongKey')).toBe(CommandRejectionReason.WrongKey);
  });

  it('Given a reason this version does not know, When the report is parsed, Then it is kept as unknown with its detail', () => {
    expect(
      CommandRejected.parse({ source: 'vm-bridge/web', reason: 'quota-exceeded', detail: 'too many hosts' }),
    ).toEqual({ source: 'vm-bridge/web', reason: CommandRejectionReason.Unknown, detail: 'too many hosts' });
    expect(CommandRejected.parse({ source: 'vm-bridge/web', reason: 42 }).reason).toBe(CommandRejectionReason.Unknown);
  });
});
