// The EventBus contract for a handler's transient conditions (not leader, store unreachable): such a message is
// never dead-lettered, it is retried, or left uncommitted for the next member of the group.
import { HandlerRetryableError } from '../errors.js';
import { heartbeatVersion, newHeartbeat, type ContractKit, type ContractTestApi } from './contract-kit.js';

/** The transient-error cases of the contract, registered inside the suite's `describe` with its kit. */
export function transientRetryContract(t: ContractTestApi, kit: ContractKit): void {
  const { describe, it, expect } = t;
  const { newHarness, newBus, readDeadLetters, eventually } = kit;

  describe('transient handler errors', () => {
    it('Given a handler failing retryably more often than maxAttempts, When the condition passes, Then the message is handled in order and nothing goes to the DLQ', async () => {
      const harness = await newHarness();
      // maxAttempts 3: an unmarked error would be refused after the third try
      const bus = await newBus(harness);
      const handled: string[] = [];
      let failuresLeft = 6;
      await bus.subscribe({
        topic: 'events',
        groupId: 'planner',
        fromBeginning: true,
        handler: async (m) => {
          if (failuresLeft > 0) {
            failuresLeft--;
            throw new HandlerRetryableError('redis is restarting');
          }
          handled.push(heartbeatVersion(m));
        },
      });
      const letters = await readDeadLetters(bus);
      await bus.publish([newHeartbeat('agent-1', 'converged'), newHeartbeat('agent-1', 'next')]);
      await eventually(() => expect(handled).toEqual(['converged', 'next']));
      expect(failuresLeft).toBe(0);
      expect(letters).toEqual([]);
    });

    it('Given a handler failing retryably without end, When its subscription closes, Then the message stays uncommitted and the next member of the group gets it', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness);
      const tries: string[] = [];
      const deposed = await bus.subscribe({
        topic: 'events',
        groupId: 'planner',
        fromBeginning: true,
        handler: async (m) => {
          tries.push(heartbeatVersion(m));
          throw Object.assign(new Error('not leader'), { retryable: true });
        },
      });
      const letters = await readDeadLetters(bus);
      await bus.publish([newHeartbeat('agent-1', 'converged')]);
      // past maxAttempts: the old behaviour had refused it by now
      await eventually(() => expect(tries.length).toBeGreaterThan(3));
      await deposed.close();
      const handled: string[] = [];
      await bus.subscribe({
        topic: 'events',
        groupId: 'planner',
        fromBeginning: true,
        handler: async (m) => void handled.push(heartbeatVersion(m)),
      });
      await eventually(() => expect(handled).toEqual(['converged']));
      expect(letters).toEqual([]);
    });
  });
}
