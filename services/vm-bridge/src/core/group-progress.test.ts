import { AgentPhase, VmHostState } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { decideGroup, newGroupRecord, type HostRecord } from './batch-decision.js';
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

  it('keeps the hosts of a passed wave converged and healthy when their reports aged only while the bridge was starved; a host silent since is not', () => {
    const settings = { batchTimeoutMs: 60_000, reportStaleMs: 30_000 };
    const command = {
      rolloutId: 'r',
      wave: 0,
      generation: 1,
      epoch: 1,
      from: 'v1',
      to: 'v2',
      maxUnavailable: 1,
      targets: { a: 'v2', b: 'v2' },
    };
    const host = (name: string, at: number): HostRecord => ({
      name,
      desiredVersion: 'v2',
      previousVersion: 'v2',
      assignment: 1,
      state: VmHostState.Converged,
      report: { runningVersion: 'v2', healthy: true, phase: AgentPhase.Idle, at, assignment: 1 },
    });
    const group = { ...newGroupRecord(), command };
    // both reported at 0; the bridge's loop lagged until 20 s, so their heartbeats were still waiting in it
    const hosts = [host('a', 0), host('b', 0)];
    const now = 35_000;
    const starved = decideGroup({ group, hosts, now, settings, starvedAt: 20_000 });
    expect(starved.hosts.map((h) => h.state)).toEqual([VmHostState.Converged, VmHostState.Converged]);
    const shown = groupProgress('g', starved.group, starved.hosts, now, settings, undefined, starved.starvedAt);
    // the planner counts a host converged only when it is healthy; the old judgement showed both upgrading
    expect(shown?.hosts.map((h) => [h.state, h.healthy])).toEqual([
      [VmHostState.Converged, true],
      [VmHostState.Converged, true],
    ]);
    // a host silent a whole staleness after the lag is judged as before
    const silent = decideGroup({ group, hosts, now: 50_001, settings, starvedAt: 20_000 });
    expect(silent.hosts.map((h) => h.state)).toEqual([VmHostState.Pending, VmHostState.Pending]);
    const unstarved = decideGroup({ group, hosts, now, settings });
    expect(unstarved.hosts.map((h) => h.state)).toEqual([VmHostState.Pending, VmHostState.Pending]);
  });
});
