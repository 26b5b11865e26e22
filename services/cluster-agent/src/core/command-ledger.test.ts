import { describe, expect, it } from 'vitest';
import { CommandRejectionReason } from '@meshwave/contracts';
import { newDesiredState } from './command-fixtures.js';
import { acceptDesiredState, acceptHalt, assignments, emptyLedger, type CommandLedger } from './command-ledger.js';

const newDesired = newDesiredState;

const accepted = (d: ReturnType<typeof acceptDesiredState>): CommandLedger => {
  if (d.outcome !== 'accepted') throw new Error(`expected accepted, got ${JSON.stringify(d)}`);
  return d.ledger;
};

describe('command ledger', () => {
  it('keeps the highest generation: a lower one is refused, the same one is a silent duplicate', () => {
    const l = accepted(acceptDesiredState(emptyLedger(), 'c1', newDesired({ generation: 5 })));
    expect(acceptDesiredState(l, 'c1', newDesired({ generation: 4 }))).toMatchObject({
      outcome: 'rejected',
      reason: CommandRejectionReason.StaleGeneration,
    });
    expect(acceptDesiredState(l, 'c1', newDesired({ generation: 5 }))).toEqual({ outcome: 'duplicate' });
    expect(acceptDesiredState(l, 'c1', newDesired({ generation: 6 })).outcome).toBe('accepted');
  });

  it("a new leader's resend of the generation applied is a duplicate whose epoch the agent learns", () => {
    const l = accepted(acceptDesiredState(emptyLedger(), 'c1', newDesired({ generation: 5, epoch: 1 })));
    const resent = acceptDesiredState(l, 'c1', newDesired({ generation: 5, epoch: 2 }));
    expect(resent.outcome).toBe('duplicate');
    const learnt = resent.outcome === 'duplicate' ? resent.ledger : undefined;
    expect(learnt?.epoch).toBe(2);
    expect(learnt?.rollouts).toEqual(l.rollouts);
    // the deposed leader (epoch 1) is fenced off from now on, even with a later generation
    expect(acceptDesiredState(learnt ?? l, 'c1', newDesired({ generation: 6, epoch: 1 }))).toMatchObject({
      outcome: 'rejected',
      reason: CommandRejectionReason.StaleEpoch,
    });
  });

  it('a halt does not raise the desired generation: the resend of it after a takeover is a duplicate that keeps the halt', () => {
    const l = accepted(acceptDesiredState(emptyLedger(), 'c1', newDesired({ generation: 5, epoch: 1 })));
    const halt = { rolloutId: 'r1', wave: 0, generation: 6, epoch: 1, target: 'cluster/c1', reason: 'crash loop' };
    const halted = accepted(acceptHalt(l, 'c1', halt));
    const resent = acceptDesiredState(halted, 'c1', newDesired({ generation: 5, epoch: 2 }));
    expect(resent).toMatchObject({ outcome: 'duplicate', ledger: { epoch: 2 } });
    expect(acceptHalt(halted, 'c1', { ...halt, epoch: 2 })).toMatchObject({ outcome: 'duplicate' });
    const learnt = resent.outcome === 'duplicate' ? (resent.ledger ?? halted) : halted;
    expect(assignments(learnt).rollouts[0]?.halted).toBe(true);
    expect(assignments(learnt).units[0]?.generation).toBe(5);
  });

  it('a halt holds until a desired state newer than the halt; one sent before the halt does not start the rollout again', () => {
    const l = accepted(acceptDesiredState(emptyLedger(), 'c1', newDesired({ generation: 5 })));
    const halted = accepted(
      acceptHalt(l, 'c1', { rolloutId: 'r1', wave: 0, generation: 8, epoch: 1, target: 'cluster/c1', reason: 'x' }),
    );
    const older = accepted(acceptDesiredState(halted, 'c1', newDesired({ generation: 7, wave: 1 })));
    expect(assignments(older).rollouts[0]?.halted).toBe(true);
    const resumed = accepted(acceptDesiredState(older, 'c1', newDesired({ generation: 9, wave: 1 })));
    expect(assignments(resumed).rollouts[0]?.halted).toBe(false);
  });

  it('fences off a deposed leader and refuses other clusters', () => {
    const l = accepted(acceptDesiredState(emptyLedger(), 'c1', newDesired({ epoch: 3 })));
    expect(acceptDesiredState(l, 'c1', newDesired({ epoch: 2, generation: 9 }))).toMatchObject({
      reason: CommandRejectionReason.StaleEpoch,
    });
    expect(acceptDesiredState(l, 'c1', newDesired({ cluster: 'c2', generation: 9 }))).toMatchObject({
      reason: CommandRejectionReason.ForeignCluster,
    });
    expect(
      acceptHalt(l, 'c1', { rolloutId: 'r1', wave: 0, generation: 1, epoch: 2, target: 'cluster/c1', reason: 'x' }),
    ).toMatchObject({ reason: CommandRejectionReason.StaleEpoch });
  });

  it('a halt marks the rollout halted whatever its generation', () => {
    const l = accepted(acceptDesiredState(emptyLedger(), 'c1', newDesired({ generation: 7 })));
    const halted = acceptHalt(l, 'c1', {
      rolloutId: 'r1',
      wave: 0,
      generation: 2,
      epoch: 1,
      target: 'cluster/c1',
      reason: 'gate',
    });
    expect(halted.outcome).toBe('accepted');
    if (halted.outcome === 'accepted') expect(assignments(halted.ledger).rollouts[0]?.halted).toBe(true);
  });

  it("a command without a progress deadline gets the agent's; one that states it keeps it", () => {
    const { progressDeadlineSeconds: _omitted, ...unstated } = newDesired();
    const l = accepted(acceptDesiredState(emptyLedger(), 'c1', unstated));
    expect(assignments(l, 45).units.map((u) => u.progressDeadlineSeconds)).toEqual([45]);
    expect(assignments(l).units.map((u) => u.progressDeadlineSeconds)).toEqual([600]);
    const stated = accepted(acceptDesiredState(l, 'c1', newDesired({ generation: 2, progressDeadlineSeconds: 90 })));
    expect(assignments(stated, 45).units.map((u) => u.progressDeadlineSeconds)).toEqual([90]);
  });

  it('the most recently accepted rollout wins a unit both list', () => {
    let l = accepted(
      acceptDesiredState(
        emptyLedger(),
        'c1',
        newDesired({ rolloutId: 'r1', units: [{ namespace: 'a', revision: '1-25-2' }] }),
      ),
    );
    l = accepted(
      acceptDesiredState(l, 'c1', newDesired({ rolloutId: 'r2', units: [{ namespace: 'a', revision: '1-26-0' }] })),
    );
    expect(assignments(l).units.map((u) => [u.rolloutId, u.target.revision])).toEqual([['r2', '1-26-0']]);
  });
});
