// The planner as separate processes on real Kafka and Redis (test env), driven by scripted agents.
import type { CreatedRollout, PlanWavePage, RolloutStatus } from '@meshwave/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadTestEnv, type TestEnv } from '../../support/env.js';
import { secretsIn } from '../../support/signing-fleet.js';
import {
  TOKEN,
  api,
  keys,
  leaderOf,
  newRun,
  plannerLogs,
  startAgents as startAgentsOn,
  startPlanner as startPlannerOn,
  until,
  buildPlanner,
  stopAll,
} from './planner-processes.js';
import { type ScriptedCluster, newRolloutYaml } from './scripted-agents.js';

let env: TestEnv;
const startPlanner = (name: string, run: ReturnType<typeof newRun>): ReturnType<typeof startPlannerOn> =>
  startPlannerOn(env, name, run);
const startAgents = (
  run: ReturnType<typeof newRun>,
  convergeMs: number,
  failing?: ReadonlySet<string>,
): ReturnType<typeof startAgentsOn> => startAgentsOn(env, run, convergeMs, failing);

/** What must be equal between an uninterrupted run and one whose leader was killed. */
function finalState(status: RolloutStatus, fleet: readonly ScriptedCluster[]): unknown {
  return {
    phase: status.phase,
    waves: status.waveStatuses.map((w) => ({ name: w.name, state: w.state, units: w.units })),
    transitions: status.transitions
      .filter((t) => t.trigger !== 'pause' && t.trigger !== 'resume')
      .map((t) => `${t.from}->${t.to}:${t.trigger}:${t.wave}`),
    finalVerdicts: status.gateVerdicts.filter((v) => v.final).map((v) => `${v.wave}:${v.outcome}:${v.reason}`),
    revisions: fleet.map((a) => [a.options.name, [...a.revisions.entries()].sort()]),
  };
}

beforeAll(() => {
  env = loadTestEnv();
  buildPlanner(); // planner processes run the compiled service
});

afterAll(async () => {
  await stopAll();
  keys.cleanup();
});

afterEach(() => stopAll());

let uninterrupted: { done: RolloutStatus; fleet: ScriptedCluster[] } | undefined;

/** The reference run: one planner, never interrupted (made once, shared by the tests that compare with it). */
async function runUninterrupted(): Promise<{ done: RolloutStatus; fleet: ScriptedCluster[] }> {
  if (uninterrupted) return uninterrupted;
  const run = newRun();
  const fleet = await startAgents(run, 0);
  const p = await startPlanner('solo', run);
  await until('leadership', () => leaderOf([p]));
  await until('inventory from every agent', async () =>
    (await api<{ clusters: unknown[] }>(p, 'GET', '/v1/fleet')).body.clusters.length === 3 ? true : undefined,
  );
  const created = await api<{ id: string }>(p, 'POST', '/v1/rollouts', newRolloutYaml({ name: 'it-solo' }));
  expect(created.status).toBe(201);
  const done = await until('completion', async () => {
    const s = (await api<RolloutStatus>(p, 'GET', `/v1/rollouts/${created.body.id}`)).body;
    return s.phase === 'Completed' ? s : undefined;
  });
  uninterrupted = { done, fleet: [...fleet] };
  return uninterrupted;
}

describe('planner on Kafka and Redis', () => {
  it('Given one planner process and three scripted agents, When a rollout is applied, Then every wave completes and every workload is on the new revision', async () => {
    const { done, fleet } = await runUninterrupted();
    expect(fleet.every((a) => [...a.revisions.values()].every((r) => r === '1-25-2'))).toBe(true);
    expect(done.waveStatuses.reduce((n, w) => n + w.units.converged, 0)).toBe(24);
    expect(done.waveStatuses.map((w) => w.state)).toEqual(['passed', 'passed', 'passed']);
  });

  it('Given two planner processes, Then only the leader publishes commands, and the follower serves reads', async () => {
    const run = newRun();
    const fleet = await startAgents(run, 0);
    const a = await startPlanner('pair-a', run);
    const b = await startPlanner('pair-b', run);
    const leader = await until('leadership', () => leaderOf([a, b]));
    const follower = leader.p === a ? b : a;
    await until('inventory', async () =>
      (await api<{ clusters: unknown[] }>(leader.p, 'GET', '/v1/fleet')).body.clusters.length === 3 ? true : undefined,
    );
    const created = await api<{ id: string }>(leader.p, 'POST', '/v1/rollouts', newRolloutYaml({ name: 'it-pair' }));
    await until('completion (read from the follower)', async () => {
      const s = (await api<RolloutStatus>(follower, 'GET', `/v1/rollouts/${created.body.id}`)).body;
      return s.phase === 'Completed' ? s : undefined;
    });
    const sources = new Set(fleet.flatMap((x) => [...x.sources]));
    expect(sources).toEqual(new Set([`planner/${leader.p.name}`]));
    expect(Math.min(...fleet.flatMap((x) => [...x.epochs]))).toBe(leader.epoch);
    const followerReady = await api<{ leader: boolean; status: string }>(follower, 'GET', '/readyz');
    expect(followerReady.body).toMatchObject({ leader: false, status: 'ready' });
  });

  it('Given two planner processes, When the leader is killed with SIGKILL mid-wave, Then the other takes over with a higher epoch and the final state equals an uninterrupted run', async () => {
    const reference = await runUninterrupted();
    const baseline = finalState(reference.done, reference.fleet);
    const run = newRun();
    const fleet = await startAgents(run, 400);
    const a = await startPlanner('kill-a', run);
    const b = await startPlanner('kill-b', run);
    const first = await until('leadership', () => leaderOf([a, b]));
    await until('inventory', async () =>
      (await api<{ clusters: unknown[] }>(first.p, 'GET', '/v1/fleet')).body.clusters.length === 3 ? true : undefined,
    );
    const created = await api<{ id: string }>(first.p, 'POST', '/v1/rollouts', newRolloutYaml({ name: 'it-solo' }));
    expect(created.status).toBe(201);
    const survivor = first.p === a ? b : a;
    // A wave-1 command applied by an agent stays recorded; the planner's Converging phase would be a moment.
    await until('wave 1 commanded', async () =>
      fleet.some((x) => x.applied.some((d) => d.wave === 1)) ? true : undefined,
    );
    const killedAt = Date.now();
    first.p.child.kill('SIGKILL');
    const second = await until('takeover', () => leaderOf([survivor]));
    // a measurement for the report (lease TTL 3 s), not an assertion on time
    console.log(`SIGKILL of the leader → survivor leads (epoch ${second.epoch}): ${Date.now() - killedAt} ms`);
    expect(second.p).toBe(survivor);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    const done = await until('completion after takeover', async () => {
      const s = (await api<RolloutStatus>(survivor, 'GET', `/v1/rollouts/${created.body.id}`)).body;
      return s.phase === 'Completed' ? s : undefined;
    });
    // the dead leader's epoch, then the survivor's (a renewal missed on a loaded machine may add a later one)
    const epochs = [...new Set(fleet.flatMap((x) => [...x.epochs]))].sort((x, y) => x - y);
    expect(epochs[0]).toBe(first.epoch);
    expect(epochs).toContain(second.epoch);
    expect(epochs.slice(1).every((e) => e >= second.epoch)).toBe(true);
    expect(fleet.flatMap((x) => x.rejected).every((r) => r.epoch < second.epoch)).toBe(true);
    expect(finalState(done, fleet)).toEqual(baseline);
  });

  it('Given a unit that crash-loops on the new revision, When its wave runs, Then the leader halts every touched cluster at once and reports how long that took', async () => {
    const run = newRun();
    const bad = 'it-2/team-1/Deployment/svc-5';
    const fleet = await startAgents(run, 0, new Set([bad]));
    const p = await startPlanner('halt', run);
    await until('leadership', () => leaderOf([p]));
    await until('inventory', async () =>
      (await api<{ clusters: unknown[] }>(p, 'GET', '/v1/fleet')).body.clusters.length === 3 ? true : undefined,
    );
    const created = await api<CreatedRollout>(
      p,
      'POST',
      '/v1/rollouts',
      newRolloutYaml({ name: 'it-halt', onGateFailure: 'halt' }),
    );
    // the answer has the plan's summary; each wave's units come in pages (ADR 0039): one page holds these few
    const waves = await Promise.all(
      created.body.plan.waves.map(
        async (_, w) => (await api<PlanWavePage>(p, 'GET', `/v1/rollouts/${created.body.id}/plan/waves/${w}`)).body,
      ),
    );
    expect(
      waves.every(
        (w) => w.nextCursor === undefined && w.units.length === created.body.plan.waves[w.wave]!.counts.units,
      ),
    ).toBe(true);
    const badWave = waves.findIndex((w) => w.units.includes(bad));
    const halted = await until('halt', async () => {
      const s = (await api<RolloutStatus>(p, 'GET', `/v1/rollouts/${created.body.id}`)).body;
      return s.phase === 'Halted' ? s : undefined;
    });
    expect(halted.wave).toBe(badWave);
    expect(halted.gateVerdicts.at(-1)).toMatchObject({ outcome: 'Failed', reason: 'UnitFailed', failed: [bad] });
    await until('halt commands at every touched cluster', async () =>
      fleet.every((a) => a.applied.length === 0 || a.halts.length > 0) ? true : undefined,
    );
    const later = waves.slice(badWave + 1).flatMap((w) => w.units);
    for (const u of later) {
      const [cluster, ...rest] = u.split('/');
      expect(fleet.find((a) => a.options.name === cluster)!.revisions.get(rest.join('/'))).toBe('1-24-5');
    }
    const metrics = await (await fetch(`${p.url}/metrics`)).text();
    const sum = Number(/meshwave_failure_to_halt_seconds_sum (\S+)/.exec(metrics)?.[1]);
    const count = Number(/meshwave_failure_to_halt_seconds_count (\S+)/.exec(metrics)?.[1]);
    expect(count).toBe(1);
    // a measurement for the report, not an assertion on time
    console.log(`failed report received → halt published: ${(sum * 1000).toFixed(1)} ms (Kafka + Redis, one planner)`);
  });

  it('Given a rollout mid-wave, When an operator freezes the fleet and the leader process dies, Then every touched agent is told halted, no wave starts under the next leader either, and once lifted the rollout completes', async () => {
    const run = newRun();
    const fleet = await startAgents(run, 400);
    const first = await startPlanner('freeze-a', run);
    await until('leadership', () => leaderOf([first]));
    await until('inventory', async () =>
      (await api<{ clusters: unknown[] }>(first, 'GET', '/v1/fleet')).body.clusters.length === 3 ? true : undefined,
    );
    const created = await api<{ id: string }>(first, 'POST', '/v1/rollouts', newRolloutYaml({ name: 'it-freeze' }));
    expect(created.status).toBe(201);
    await until('wave 0 commanded', async () => (fleet.some((x) => x.applied.length > 0) ? true : undefined));

    const frozen = await api<{ frozen: boolean }>(
      first,
      'POST',
      '/v1/freeze',
      JSON.stringify({ reason: 'incident it' }),
      'application/json',
    );
    expect(frozen).toMatchObject({ status: 200, body: { frozen: true } });
    const touched = (): ScriptedCluster[] => fleet.filter((a) => a.applied.length > 0);
    await until('every touched agent halted', async () =>
      touched().every((a) => a.applied.at(-1)!.halted) ? true : undefined,
    );
    const wavesSeen = Math.max(...fleet.flatMap((a) => a.applied.map((d) => d.wave)));

    // When the leader dies, Then the next one reads the freeze from Redis
    first.child.kill('SIGKILL');
    const second = await startPlanner('freeze-b', run);
    await until('takeover', () => leaderOf([second]));
    const read = await api<{ frozen: boolean; reason: string; by: string }>(second, 'GET', '/v1/freeze');
    expect(read.body).toMatchObject({ frozen: true, reason: 'incident it', by: 'it-operator' });
    const status = await until('a reconcile by the new leader', async () => {
      const s = (await api<RolloutStatus>(second, 'GET', `/v1/rollouts/${created.body.id}`)).body;
      return s.leaderEpoch > 0 && fleet.some((a) => a.epochs.size > 1) ? s : undefined;
    });
    expect(status.freeze).toMatchObject({ frozen: true, reason: 'incident it' });
    expect(touched().every((a) => a.applied.at(-1)!.halted)).toBe(true);
    expect(Math.max(...fleet.flatMap((a) => a.applied.map((d) => d.wave)))).toBe(wavesSeen);

    const lifted = await api<{ frozen: boolean }>(
      second,
      'DELETE',
      '/v1/freeze',
      JSON.stringify({ reason: 'resolved' }),
      'application/json',
    );
    expect(lifted).toMatchObject({ status: 200, body: { frozen: false } });
    const done = await until('completion after the lift', async () => {
      const s = (await api<RolloutStatus>(second, 'GET', `/v1/rollouts/${created.body.id}`)).body;
      return s.phase === 'Completed' ? s : undefined;
    });
    expect(done.freeze).toBeUndefined();
    expect(fleet.every((a) => [...a.revisions.values()].every((r) => r === '1-25-2'))).toBe(true);
  });

  it('Given every planner process this file ran, Then no log line holds a configured secret: the operator token or any private key', () => {
    const logs = plannerLogs.flat().join('\n');
    expect(logs).toContain('planner listening'); // the logs were read: a scan of nothing would prove nothing
    const secrets = Object.fromEntries([
      ['operator token', TOKEN],
      ...keys.secrets.map((pem, i) => [`private key ${i}`, pem]),
    ]);
    expect(secretsIn(logs, secrets)).toEqual([]);
  });
});
