// Membership on the real servers: a planner process on Kafka and Redis, scripted agents that beat, one of which
// falls silent mid-rollout (issue 18: an agent silent past the heartbeat timeout makes its cluster Unreachable).
import type { RolloutStatus } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { api, startFleet, until, untilCompleted, usePlannerFleet } from './planner-processes.js';
import { newRolloutYaml, type ScriptedCluster } from './scripted-agents.js';

const TO = '1-25-2';
const fleetOf = usePlannerFleet();

describe('unreachable cluster on Kafka and Redis', () => {
  it('Given onUnreachable: skip and an agent that falls silent when the rollout starts, Then the waves go on without its cluster, the status names the skipped units and the wave they come back in, and once the agent beats again the approved last wave takes them: every workload ends on the new revision', async () => {
    const { p, agents: fleet } = await startFleet(fleetOf, 'unreachable', {
      heartbeatMs: 300,
      extraEnv: { MESHWAVE_HEARTBEAT_TIMEOUT_MS: '2500' },
    });

    // When it-3 falls silent and the rollout starts
    const silent = fleet.find((a) => a.options.name === 'it-3')!;
    await silent.stop();
    const yaml = newRolloutYaml({ name: 'it-unreachable', waves: [30, 60, 100], approval: [2], onUnreachable: 'skip' });
    const created = await api<{ id: string }>(p, 'POST', '/v1/rollouts', yaml);
    expect(created.status).toBe(201);
    const path = `/v1/rollouts/${created.body.id}`;

    // Then the first two waves pass without it-3, and the last waits for its approval
    const waiting = await until(
      'the last wave awaiting approval with it-3 skipped',
      async () => {
        const s = (await api<RolloutStatus>(p, 'GET', path)).body;
        return s.wave === 2 &&
          s.waveStatuses[2]?.state === 'awaiting-approval' &&
          (s.membership?.skipped.length ?? 0) > 0
          ? s
          : undefined;
      },
      90_000,
    );
    const skipped = waiting.membership!.skipped;
    expect(skipped.map((k) => k.cluster)).toEqual(['it-3']);
    expect(skipped[0]!.comesBack).toBe('they come back in wave "wave-2" if it-3 is reachable when it starts');
    expect(waiting.membership!.snapshots.find((x) => x.wave === 1)?.clusters).not.toContain('it-3');
    const moved = (a: ScriptedCluster): number => [...a.revisions.values()].filter((r) => r === TO).length;
    expect(moved(silent)).toBe(0);

    // When it-3's agent beats again and the last wave is approved
    await silent.start();
    const approved = await api<{ phase: string }>(p, 'POST', `${path}/approve`, JSON.stringify({}), 'application/json');
    expect(approved.status).toBe(200);

    // Then the last wave takes it-3's skipped units back, and the rollout completes with every workload moved
    const done = await untilCompleted(p, path);
    expect(done.membership!.skipped).toEqual([]);
    expect(done.membership!.added.filter((a) => a.wave === 2 && a.cluster === 'it-3').length).toBe(1);
    await until('every workload of every cluster on the new revision', async () =>
      fleet.every((a) => moved(a) === a.revisions.size) ? true : undefined,
    );
  });
});
