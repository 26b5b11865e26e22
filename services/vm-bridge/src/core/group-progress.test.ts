import { AgentPhase, VmHostState } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newGroupRecord } from './batch-decision.js';
import { groupProgress } from './group-progress.js';

describe('groupProgress', () => {
  it("lists enrolled hosts with what they run and the command's hosts that never enrolled as pending", () => {
    const progress = groupProgress(
      'g',
      {
        ...newGroupRecord(),
        halted: true,
        haltReason: 'batch 1 failed',
        command: {
          rolloutId: 'r',
          wave: 0,
          generation: 3,
          epoch: 1,
          from: 'v1',
          to: 'v2',
          maxUnavailable: 1,
          targets: { b: 'v2', a: 'v2' },
        },
      },
      [
        {
          name: 'b',
          desiredVersion: 'v1',
          previousVersion: 'v1',
          assignment: 2,
          state: VmHostState.Reverted,
          report: { runningVersion: 'v1', healthy: true, phase: AgentPhase.Idle, at: 10 },
        },
      ],
      20,
      { batchTimeoutMs: 1000, reportStaleMs: 1000 },
    );
    expect(progress).toEqual({
      group: 'g',
      rolloutId: 'r',
      generation: 3,
      halted: true,
      reason: 'batch 1 failed',
      hosts: [
        { name: 'a', version: null, state: VmHostState.Pending, healthy: false, reason: 'not registered' },
        { name: 'b', version: 'v1', state: VmHostState.Reverted, healthy: true },
      ],
    });
  });
});
